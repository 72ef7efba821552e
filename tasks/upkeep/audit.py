"""The configuration audit: settings that quietly bring masking back or make figures lie.

Each finding has a severity (error or warning), where it is, why it matters, and the fix.
Errors fail `nox -s audit` and `nox -s maintenance` (exit 1); warnings are reported only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from ..config import project_settings
from ..config.manifest import Manifest
from ..errors import plain
from ..measure import coverage_internals
from . import audit_commands, audit_layout
from .findings import ERROR, WARNING, Finding, grouped

FAR_BELOW = 10.0  # points a floor may sit below the baseline's figure before it is called stale


def audit(
    manifest: Manifest, baseline: dict[str, tuple[float | None, float | None]] | None = None
) -> list[Finding]:
    """Every finding for `manifest`'s repository; `baseline` holds each scope's (line, branch)
    figure from the base branch's baseline, when there is one."""
    findings = [
        *_masking_sources(manifest),
        *_masking_cov_options(manifest),
        *_masking_commands(manifest),
        *audit_layout.omitted_services(manifest),
        *audit_layout.unowned_sources(manifest),
        *audit_layout.namespace_packages(manifest),
        *audit_layout.test_collection(manifest),
        *_thresholds(manifest, baseline),
    ]
    findings += _data_versions(manifest)
    return grouped(sorted(findings, key=lambda f: (f.severity != ERROR, f.where)))


def as_text(finding: Finding) -> list[str]:
    """A finding as plain text, as `audit` prints it: repository text with control characters
    escaped, so that none can start a line of its own."""
    return [
        f"{finding.severity}: {plain(finding.where)}: {plain(finding.what)}.",
        f"  why: {plain(finding.why)}.",
        f"  fix: {plain(finding.fix)}.",
    ]


# -- a coverage `source` or `--cov` that spans several services -----------------------------

PYTEST = ("pytest", "py.test")  # the command, or the module after -m
COVERAGE = re.compile(r"coverage(-?\d[\d.]*)?$")  # coverage.py's command, as `coverage-3.12` too
MASKING_WHY = (
    "a single run over these sources lets every service's tests cover every other service's code, "
    "so a poorly tested service hides behind a well tested one (coverage masking)"
)


def _measure_each(spanned: Sequence[str]) -> str:
    return "measure each service with its own tests: nox -s " + " ".join(
        [*(f"coverage-{name}" for name in spanned), "combine", "report"]
    )


def _masking_sources(manifest: Manifest) -> list[Finding]:
    findings = []
    for path, section, run in project_settings.coverage_settings(manifest.root, ("run",)):
        for key in ("source", "source_dirs"):
            entries = run.get(key) or []
            entries = [entries] if isinstance(entries, str) else entries
            entries = [str(entry) for entry in entries] if isinstance(entries, list) else []
            # The entries of one setting are measured by one run: together they mask.
            spanned = _services_spanned(manifest, manifest.root, entries)
            if len(spanned) > 1:
                findings.append(
                    _spanning_source(f"{manifest.display(path)} {section} {key}", entries, spanned)
                )
    return findings


def _spanning_source(setting: str, entries: list[str], spanned: list[str]) -> Finding:
    spans = f"{len(spanned)} services ({', '.join(spanned)})"
    one = len(entries) == 1
    return Finding(
        severity=ERROR,
        where=f"{setting} = {entries[0]!r}" if one else f"{setting} = {entries!r}",
        what=f"one coverage source spans {spans}" if one else f"these sources span {spans} in one run",
        why=MASKING_WHY,
        fix=f"{_measure_each(spanned)}; drop this source, or narrow it to one service",
    )


def _masking_cov_options(manifest: Manifest) -> list[Finding]:
    findings = []
    for path, where, addopts in project_settings.pytest_addopts(manifest.root):
        targets = _cov_targets(addopts)
        spanned = _services_spanned(manifest, manifest.root, targets)
        if len(spanned) > 1:
            findings.append(
                Finding(
                    severity=ERROR,
                    where=f"{manifest.display(path)} {where}: " + " ".join(f"--cov={t}" for t in targets),
                    what=f"pytest-cov measures {len(spanned)} services ({', '.join(spanned)}) in one run",
                    why="every test run then covers every service's code: coverage masking",
                    fix="remove --cov from addopts; the kit's sessions measure each service with its "
                    "own tests (nox -s coverage-<service>)",
                )
            )
    return findings


def _masking_commands(manifest: Manifest) -> list[Finding]:
    """A `coverage run --source` or pytest-cov `--cov` spanning several services in a command
    that tox or a CI workflow runs: the masking setup, outside any configuration file."""
    findings = []
    for where, folder, line in [
        *audit_commands.tox_commands(manifest),
        *audit_commands.workflow_commands(manifest),
    ]:
        for words in audit_commands.shell_commands(line):
            spanned = _services_spanned(
                manifest, folder, [*_source_targets(words), *_pytest_cov_targets(words, folder)]
            )
            if len(spanned) > 1:
                findings.append(
                    Finding(
                        severity=ERROR,
                        where=where,
                        what=f"one coverage run measures {len(spanned)} services ({', '.join(spanned)})",
                        why=MASKING_WHY,
                        fix=f"{_measure_each(spanned)}; or give each service a run of its own, with "
                        "--source (or --cov) of that service only",
                    )
                )
    return findings


def _source_targets(words: Sequence[str]) -> list[str]:
    """The sources of a `coverage run` command's --source (comma-separated, as coverage.py reads it)."""
    runs = [
        i for i, word in enumerate(words) if word == "run" and i and COVERAGE.match(Path(words[i - 1]).name)
    ]
    if not runs:
        return []
    options = words[runs[0] + 1 :]
    values = [word.split("=", 1)[1] for word in options if word.startswith("--source=")]
    values += [options[i + 1] for i, word in enumerate(options[:-1]) if word == "--source"]
    return [entry.strip() for value in values for entry in value.split(",") if entry.strip()]


def _pytest_cov_targets(words: Sequence[str], folder: Path) -> list[str]:
    """pytest-cov's --cov targets in a command, when it runs pytest (another command's words
    that look like the option are not it). A bare --cov measures what the coverage.py
    configuration it names with --cov-config sets as `source` (a per-service file, say)."""
    if not any(Path(word).name in PYTEST for word in words):
        return []
    targets = _cov_targets(words)
    config = _option_value(words, "--cov-config")
    if config is not None and "." in targets:
        sources = _configured_sources(folder / config)
        if sources is not None:
            targets = [target for target in targets if target != "."] + sources
    return targets


def _option_value(words: Sequence[str], option: str) -> str | None:
    for index, word in enumerate(words):
        if word.startswith(f"{option}="):
            return word.split("=", 1)[1]
        if word == option and index + 1 < len(words):
            return words[index + 1]
    return None


def _configured_sources(path: Path) -> list[str] | None:
    """The `source` of the coverage.py configuration file at `path`, as coverage.py reads it
    (paths relative to the folder the command runs in); None where it sets none or cannot be read."""
    if not path.is_file():
        return None
    import coverage
    from coverage.exceptions import CoverageException

    try:
        sources = coverage.Coverage(config_file=str(path)).config.source
    except (CoverageException, OSError, ValueError):
        return None
    return list(sources) if sources else None


def _cov_targets(words: Sequence[str]) -> list[str]:
    targets = []
    for index, word in enumerate(words):
        if word.startswith("--cov="):
            targets.append(word.split("=", 1)[1] or ".")
        elif word == "--cov":
            following = words[index + 1] if index + 1 < len(words) else ""
            targets.append("." if not following or following.startswith("-") else following)
    return targets


def _services_spanned(manifest: Manifest, folder: Path, targets: Sequence[str]) -> list[str]:
    """Services with a source under any of `targets` (paths relative to `folder`), in the
    manifest's order."""
    spanned = {name for target in targets for name in _services_under(manifest, folder / target)}
    return [service.name for service in manifest.services if service.name in spanned]


def _services_under(manifest: Manifest, path: Path) -> list[str]:
    """Services with a source inside `path` (a directory), or whose source holds it."""
    resolved = path.resolve()
    return [
        service.name
        for service in manifest.services
        if any(src.is_relative_to(resolved) for src in service.source)
    ]


# -- thresholds -------------------------------------------------------------------------------


def _thresholds(
    manifest: Manifest, baseline: dict[str, tuple[float | None, float | None]] | None
) -> list[Finding]:
    findings = []
    shown = manifest.display(manifest.path)
    for service in manifest.services:
        if service.thresholds.line is None:
            findings.append(
                Finding(
                    severity=WARNING,
                    where=f"{shown} [services.{service.name}.thresholds]",
                    what=f"{service.name} has no line floor",
                    why="its own tests can lose coverage without any gate noticing; the whole-suite "
                    "total may even rise while it falls",
                    fix=f"set line (and branch) in [services.{service.name}.thresholds], or let "
                    "nox -s ratchet raise an existing floor",
                )
            )
    for scope, floors, table in _floors(manifest):
        figures = (baseline or {}).get(scope)
        if figures is None:
            continue
        for kind, floor, figure in (("line", floors[0], figures[0]), ("branch", floors[1], figures[1])):
            if floor is not None and figure is not None and figure - floor > FAR_BELOW:
                findings.append(
                    Finding(
                        severity=WARNING,
                        where=f"{shown} [{table}] {kind} = {floor:g}",
                        what=f"the {kind} floor of {scope} is {figure - floor:.1f} points below its baseline "
                        f"({figure:.1f}%)",
                        why="a floor that far below lets that much coverage go before any gate fails",
                        fix="nox -s ratchet raises it to the figure minus the margin",
                    )
                )
    return findings


def _floors(manifest: Manifest) -> list[tuple[str, tuple[float | None, float | None], str]]:
    scopes: list[tuple[str, tuple[float | None, float | None], str]] = [
        ("total", (manifest.thresholds.line, manifest.thresholds.branch), "settings.thresholds")
    ]
    scopes += [
        (s.name, (s.thresholds.line, s.thresholds.branch), f"services.{s.name}.thresholds")
        for s in manifest.services
    ]
    return scopes


# -- data files from another coverage.py --------------------------------------------------------


def _data_versions(manifest: Manifest) -> list[Finding]:
    import coverage

    findings: list[Finding] = []
    if not manifest.data_dir.is_dir():
        return findings
    for path in sorted(p for p in manifest.data_dir.iterdir() if p.is_file() and not p.name.startswith(".")):
        written = _written_by(path)
        if written is not None and written != coverage.__version__:
            findings.append(
                Finding(
                    severity=WARNING,
                    where=manifest.display(path),
                    what=f"written by coverage.py {written}; {coverage.__version__} is installed",
                    why="figures from different coverage.py versions can differ for the same code, and "
                    "combining them mixes the two",
                    fix="run the services' sessions again so every data file comes from one version",
                )
            )
    return findings


def _written_by(path: Path) -> str | None:
    """The coverage.py version recorded in a data file's meta table, if it is one."""
    return coverage_internals.read_meta(path, "version")
