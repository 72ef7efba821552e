"""Write every report from one Coverage object whose per-file analyses are shared.

Formats: terminal table, HTML (combined with per-line contexts, one per service narrowed
to its own tests, and the dashboard index.html over them), Cobertura XML (combined, and
one per service likewise), JSON, LCOV, Markdown (summary, masking matrix,
recommendations), badges, editor copies of LCOV and XML, and a JSON file of the
per-service figures. Reports are built in a staging folder and moved into place, one by
one, only when all of them were written: a failure while writing leaves the published set
as it was; one between the moves (renames, which hardly fail) leaves some new and some old,
and the record of what they were made from, moved last, then vouches for none of them.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import shutil
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from coverage import Coverage
from coverage.exceptions import CoverageException

from ..analyze.analysis import ServiceFigures, SharedAnalysis, context_pattern
from ..analyze.combined import fresh_combined, measured_figures, open_coverage, unusable
from ..analyze.sidejob import SideJob
from ..config.layout import ARCHIVE_DIR
from ..config.manifest import TOTAL, Manifest, Service
from ..measure import filelock, freshness, incomplete, provenance
from . import badges, dashboard, editors, masking, publish, recommend, render, reuse

# The history's trend for the dashboard: a picture (or None) and a line saying what it shows.
# The history is a later stage, so whoever calls build() (the command line) reads it.
Trend = tuple[str | None, str]
NO_TREND: Trend = (None, "No trend: this report was built without reading the history.")

FORMATS = ("html", "xml", "json", "lcov", "markdown", "badges", "editors", "services")
DASHBOARD = "index.html"


@dataclass(frozen=True, kw_only=True)
class Derived:
    """Everything the formats show, computed once from the shared analysis."""

    services: tuple[ServiceFigures, ...]
    rows: list[render.Row]
    matrix: masking.MaskingMatrix
    advice: recommend.Advice
    missing: tuple[str, ...]
    stale: dict[str, list[str]]  # per service, the changed files its data ran (--allow-stale)
    warning_lines: tuple[str, ...]  # what every output says first: STALE, INCOMPLETE
    trend: Trend  # the dashboard's trend picture (or None) and the line saying what it shows


@dataclass(frozen=True, kw_only=True)
class Report:
    figures: Derived
    parses: int  # file reporters created: each file parsed once, or read from the analysis cache
    written: tuple[Path, ...]
    not_ours: tuple[Path, ...] = ()  # editor files of the same name someone else wrote: left alone


def figures(
    manifest: Manifest, shared: SharedAnalysis, data_file: Path
) -> tuple[tuple[ServiceFigures, ...], list[render.Row]]:
    services = measured_figures(manifest, shared, data_file)
    thresholds = {s.name: s.thresholds for s in manifest.services}
    unmeasured = incomplete.unmeasured_services(manifest)
    lacking = incomplete.unsaved_processes(manifest)
    return services, render.rows(services, thresholds, manifest.thresholds, unmeasured, lacking)


def build(
    manifest: Manifest,
    formats: Sequence[str] = FORMATS,
    *,
    archive: bool = False,
    trend: Callable[[Manifest], Trend] | None = None,
    allow_stale: bool = False,
) -> Report:
    """Compute the figures from the combined data and write the requested formats; with
    `archive`, also keep a copy under reports/archive/<UTC time>/ for later comparison. The
    dashboard draws what `trend` finds in the history (asked only when HTML is written).
    Data measured on code that changed since is refused, or with `allow_stale` marked."""
    data_file, stale = fresh_combined(manifest, allow_stale=allow_stale)
    cov, shared = open_coverage(manifest, data_file)
    reports_dir = manifest.reports_dir
    reports_dir.mkdir(parents=True, exist_ok=True)
    with filelock.held(reports_dir / publish.LOCK_NAME):  # a second report waits for the first to publish
        return _build_staged(manifest, cov, shared, data_file, formats, archive, trend, stale)


def _build_staged(
    manifest: Manifest,
    cov: Coverage,
    shared: SharedAnalysis,
    data_file: Path,
    formats: Sequence[str],
    archive: bool,
    trend: Callable[[Manifest], Trend] | None,
    stale: dict[str, list[str]],
) -> Report:
    reports_dir = manifest.reports_dir
    # One report at a time holds the lock, so one staging folder; a killed run's is cleared.
    staging = reports_dir / publish.STAGING_NAME
    shutil.rmtree(staging, ignore_errors=True)  # what a killed run left behind
    publish.restore_swapped(reports_dir)
    staging.mkdir()
    missing = tuple(incomplete.missing_inputs(manifest))
    skipped: tuple[Path, ...] = ()
    try:
        made_from = reuse.fingerprint(manifest, cov, data_file)
        unchanged = reuse.reusable(reports_dir, made_from)
        # Every file parsed at once, on every core, with its HTML tokens when pages will be
        # written (not when the published ones are copied).
        pages = (_wanted_outputs(formats) & PAGE_OUTPUTS) - unchanged
        shared.prepare(sorted(cov.get_data().measured_files()), tokens=bool(pages))
        services, rows = figures(manifest, shared, data_file)
        derived = Derived(
            services=services,
            rows=rows,
            matrix=masking.build(shared, manifest),
            advice=recommend.build(shared, manifest, services),
            missing=missing,
            stale=stale,
            warning_lines=(
                *freshness.stale_warning(manifest, stale),
                *incomplete.warning(manifest, missing),
                *provenance.note(
                    provenance.recorded(data_file), provenance.head(manifest.project_dir), stale=stale
                ),
            ),
            trend=trend(manifest) if trend is not None and "html" in formats else NO_TREND,
        )
        _write_formats(cov, shared, manifest, derived, formats, staging, data_file, made_from, unchanged)
        if archive:
            publish.archive(staging, reports_dir / ARCHIVE_DIR)
        editor_files: tuple[Path, ...] = ()
        if "editors" in formats:
            # Before publishing: an editor folder that cannot be written leaves the old reports.
            editor_files, skipped = editors.write(
                manifest, staging / "coverage.lcov", staging / "coverage.xml"
            )
        written = publish.publish(staging, reports_dir) + editor_files
    except CoverageException as exc:
        raise unusable(manifest, data_file, exc) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return Report(figures=derived, parses=shared.parses, written=written, not_ours=skipped)


def _write_formats(
    cov: Coverage,
    shared: SharedAnalysis,
    manifest: Manifest,
    derived: Derived,
    formats: Sequence[str],
    out: Path,
    data_file: Path,
    made_from: str,
    unchanged: set[str],
) -> None:
    """Write the kit's own files here, then coverage.py's: XML, JSON and LCOV in a forked
    process while this one writes the HTML. Formats made from unchanged inputs (`unchanged`,
    as the published reports' record says) are copied."""
    _write_summaries(manifest, derived, formats, out)
    published = manifest.reports_dir
    wanted = _wanted_outputs(formats)
    copied = {name for name in wanted & unchanged if _copy_published(published, out, name)}
    to_write = wanted - copied
    if "services" in wanted and "html" not in wanted:
        # Only the per-service pages are new: the whole-suite pages stay as published.
        _copy_published(published, out, "html")
    # The child gets every analysis computed here (each file's whole-suite one, and the
    # per-service ones behind the figures), on a Coverage object of its own: coverage.py's
    # data object must not be used across a fork (it takes the child for a new process to
    # measure and erases the data file), nor may SQLite connections.
    for filename in cov.get_data().measured_files():
        with contextlib.suppress(CoverageException):  # not Python, say: coverage.py's reporters skip it
            shared.analysis(filename)
    shared.save_cache()
    shared.close_cache()

    def write_in_child() -> None:
        child_cov, child_shared = open_coverage(manifest, data_file, cache=False)
        child_shared.adopt(shared)
        _write_data_formats(child_cov, manifest, to_write, out)

    side = SideJob(write_in_child)
    try:
        _write_pages(cov, manifest, to_write, out)
    finally:
        side.wait()
    reuse.record(out, made_from, wanted)
    if "html" in formats:
        (out / DASHBOARD).write_text(dashboard.page_html(_page(manifest, derived, out)), encoding="utf-8")


# coverage.py's outputs, and the report formats that ask for each.
_COVERAGE_FORMATS = {
    "xml": {"xml", "editors"},
    "json": {"json"},
    "lcov": {"lcov", "editors"},
    "html": {"html"},
    "services": {"services"},
}
PAGE_OUTPUTS = {"html", "services"}  # the outputs written with coverage.py's HTML reporter


def _wanted_outputs(formats: Sequence[str]) -> set[str]:
    return {name for name, needed in _COVERAGE_FORMATS.items() if needed & set(formats)}


_OUTPUTS = {
    "xml": ("coverage.xml",),
    "json": ("coverage.json",),
    "lcov": ("coverage.lcov",),
    "html": ("html",),
    "services": ("services", "html/services"),
}


def _copy_published(published: Path, out: Path, name: str) -> bool:
    """Copy a format's published files into the staging folder; False if any is gone."""
    sources = [published / relative for relative in _OUTPUTS[name]]
    if not all(source.exists() for source in sources):
        return False
    for relative, source in zip(_OUTPUTS[name], sources, strict=True):
        target = out / relative
        if source.is_dir():
            # Without the per-service pages when they are not asked for: they would go stale.
            skip = None if name != "html" else _top_level("services", source)
            shutil.copytree(source, target, symlinks=True, ignore=skip, dirs_exist_ok=True)
        else:
            shutil.copy2(source, target)
    return True


def _write_summaries(manifest: Manifest, derived: Derived, formats: Sequence[str], out: Path) -> None:
    services, rows, missing = derived.services, derived.rows, derived.missing
    if "markdown" in formats:
        warning = "".join(f"> {render.md_escape(line.strip())}\n>\n" for line in derived.warning_lines)
        warning += "".join(f"> - {render.md_escape(item)}\n" for item in missing) + ("\n" if missing else "")
        (out / "summary.md").write_text(
            warning + render.markdown_table(rows) + "\n" + render.masking_summary(rows) + "\n",
            encoding="utf-8",
        )
        (out / "masking.md").write_text(warning + masking.markdown(derived.matrix), encoding="utf-8")
        (out / "recommendations.md").write_text(
            warning + recommend.markdown(derived.advice), encoding="utf-8"
        )
    (out / "services.json").write_text(
        json.dumps(
            {
                **render.services_json(services, rows),
                "missing": list(missing),
                "stale": derived.stale,
                "unsaved": {row.label: row.unsaved for row in rows[:-1] if row.unsaved},
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    if "badges" in formats or "html" in formats:  # the dashboard shows the badges
        _write_badges(manifest, rows, out / BADGES_DIR)


def _write_data_formats(cov: Coverage, manifest: Manifest, to_write: set[str], out: Path) -> None:
    if "xml" in to_write:
        cov.xml_report(outfile=str(out / "coverage.xml"))
    if "json" in to_write:
        cov.json_report(outfile=str(out / "coverage.json"))
    if "lcov" in to_write:
        cov.lcov_report(outfile=str(out / "coverage.lcov"))
    if "services" in to_write:
        # Per service, its own tests only: what Codecov's per-service flags upload.
        (out / "services").mkdir()
        for service in _reported(manifest):
            with _narrowed(cov, manifest, service) as (include, contexts):
                cov.xml_report(
                    outfile=str(out / "services" / f"{service.name}.xml"), include=include, contexts=contexts
                )


def _write_pages(cov: Coverage, manifest: Manifest, to_write: set[str], out: Path) -> None:
    if "html" in to_write:
        cov.html_report(
            directory=str(out / "html"), show_contexts=True, title="Coverage: all services (whole suite)"
        )
    if "services" in to_write:
        for service in _reported(manifest):
            with _narrowed(cov, manifest, service) as (include, contexts):
                cov.html_report(
                    directory=str(out / "html" / "services" / service.name),
                    title=f"Coverage of {service.name} by its own tests",
                    include=include,
                    contexts=contexts,
                )


def _reported(manifest: Manifest) -> list[Service]:
    """The services the combined data holds: a service left out (its run failed) has no page."""
    unmeasured = incomplete.unmeasured_services(manifest)
    return [service for service in manifest.services if service.name not in unmeasured]


def _top_level(name: str, root: Path) -> Callable[[str, list[str]], list[str]]:
    return lambda folder, entries: [name] if Path(folder) == root and name in entries else []


BADGES_DIR = "badges"


def _write_badges(manifest: Manifest, rows: list[render.Row], folder: Path) -> None:
    """<scope>.svg and <scope>.json (shields.io endpoint) for the total and each service."""
    folder.mkdir()
    for row in rows:
        if row.is_total:
            item = badges.badge(TOTAL, "coverage", row.whole, manifest.thresholds.line)
        else:
            item = badges.badge(row.label, f"{row.label} coverage", row.isolated, row.thresholds.line)
        (folder / f"{item.name}.svg").write_text(badges.svg(item), encoding="utf-8")
        (folder / f"{item.name}.json").write_text(badges.endpoint_json(item), encoding="utf-8")


def _page(manifest: Manifest, derived: Derived, out: Path) -> dashboard.Page:
    """The dashboard's content; links only to files staged beside it."""
    candidates = [
        ("html/index.html", "Line by line, all services (coverage.py's HTML; it counts lines and branches)"),
        ("summary.md", "Summary (Markdown)"),
        ("masking.md", "Masking matrix (Markdown)"),
        ("recommendations.md", "Recommendations (Markdown)"),
        ("coverage.xml", "Cobertura XML"),
        ("coverage.json", "JSON"),
        ("coverage.lcov", "LCOV"),
        ("services.json", "Per-service figures (JSON)"),
    ]
    links = [(href, text) for href, text in candidates if (out / href).exists()]
    service_links = {
        name: f"html/services/{name}/index.html"
        for name in manifest.names
        if (out / "html" / "services" / name / "index.html").exists()
    }
    badge_links = {
        scope: f"{BADGES_DIR}/{scope}.svg"
        for scope in (TOTAL, *manifest.names)
        if (out / BADGES_DIR / f"{scope}.svg").exists()
    }
    return dashboard.Page(
        title="Coverage by service",
        generated=datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        rows=derived.rows,
        matrix=derived.matrix,
        advice=derived.advice,
        trend_svg=derived.trend[0],
        trend_note=derived.trend[1],
        links=links,
        service_links=service_links,
        badges=badge_links,
        warnings=list(derived.warning_lines),
    )


@contextmanager
def _narrowed(cov: Coverage, manifest: Manifest, service: Service) -> Iterator[tuple[list[str], list[str]]]:
    """The include patterns and contexts that narrow a report to `service`'s files, covered
    by its own tests."""
    # Data paths are relative to the project, and so must the patterns be.
    include = [manifest.display(src) + ("/*" if src.is_dir() else "") for src in service.source]
    before = cov.config.report_include, cov.config.report_contexts
    try:
        yield include, [context_pattern(service.name)]
    finally:
        # coverage.py keeps report options on its config between calls; restore them so the
        # next report is not narrowed to this service.
        cov.config.report_include, cov.config.report_contexts = before
