"""combine: every service's data (every expected shard of it) merged into one file, after
checking that each input is there, usable, of a declared source and still matches the code.
What the combined data goes without is written beside it (incomplete.py)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from coverage import CoverageData
from coverage.exceptions import CoverageException

from ..config.layout import FAILED_DIR, MISSING_NAME, Shard, service_file, shard_files
from ..config.manifest import Manifest, Service
from ..errors import DataError, is_storage_failure, plain
from . import freshness, incomplete, outcomes, provenance, unsaved
from .datafiles import atomic_path, combined_file, read, writing


@dataclass(frozen=True)
class ServiceInput:
    data_files: int  # 1, or its shards
    source_files: int  # measured by any of them, counted once


@dataclass(frozen=True, kw_only=True)
class Combined:
    target: Path
    inputs: dict[str, ServiceInput]  # per service
    missing: tuple[str, ...]  # inputs left out under --allow-missing, with why
    stale: dict[str, list[str]]  # per service, the changed files its data ran (--allow-stale)
    unsaved: dict[str, int]  # per service, its run's processes that saved no data (unsaved.py)


def combine(manifest: Manifest, *, allow_missing: bool = False, allow_stale: bool = False) -> Combined:
    """Merge every service's data (every expected shard of it) into the combined file.

    Fails (exit 3), before writing anything, naming every service or shard with no usable
    data, unless `allow_missing`: then the rest is combined and what is missing is written
    beside the combined file, for every report to say. Data measured on code that has
    changed since is refused likewise, unless `allow_stale`. The inputs are kept.
    """
    # Every service's data names every service's files: each is looked up once.
    declared = functools.lru_cache(maxsize=None)(functools.partial(_declared, manifest))
    problems: list[str] = []
    failed_runs: list[str] = []  # services whose last run failed: left out, not a reason to stop
    inputs: list[tuple[str, Path, CoverageData]] = []  # (service, data file, its data)
    for service in manifest.services:
        expected, layout_problems = _expected(manifest, service)
        problems += layout_problems
        before, inputs_before = len(problems) + len(failed_runs), len(inputs)
        for path, reason, again in expected:
            shown = manifest.display(path)
            last = outcomes.recorded(manifest.data_dir, path.name)
            # A failed run keeps the last good data where it is, but it is no longer current:
            # what a failed attempt leaves is never carried silently.
            if (
                last is not None
                and last.failed
                and (not path.exists() or last.finished > path.stat().st_mtime)
            ):
                failed_runs.append(f"{last.label}: its last run failed ({last.why}); {_detail(last)}")
                continue
            if not path.exists():
                problems.append(reason)
                continue
            try:
                data = read(path, shown)
            except DataError as exc:
                problems.append(exc.message)
                continue
            if not data.measured_files():
                problems.append(f"{shown}: the data file is empty; run {again} again.")
                continue
            foreign = next((f for f in sorted(data.measured_files()) if not declared(f)), None)
            if foreign is not None:
                problems.append(
                    f"{shown}: holds data for {plain(foreign)}, which is in no service's source (data from "
                    f"another repository, or from before the sources moved?); delete it and run {again}."
                )
                continue
            inputs.append((service.name, path, data))
        if len(problems) + len(failed_runs) > before:
            # Some shards only would make a figure lower than its tests earn: none, `no data`.
            del inputs[inputs_before:]
    if not inputs and failed_runs and not problems:
        raise DataError("cannot combine: every service's last run failed:\n  " + "\n  ".join(failed_runs))
    if problems and not (allow_missing and inputs):
        raise DataError(
            "cannot combine: some services have no usable data, and a figure from the rest "
            "would be wrong.\n  " + "\n  ".join(problems + failed_runs) + "\n(To combine the rest anyway, "
            "marked incomplete in every report: nox -s combine -- --allow-missing.)"
        )
    digests = freshness.merge(freshness.recorded(path) for _, path, _ in inputs)
    stale = freshness.changed(manifest.project_dir, digests, manifest)
    measured: dict[str, tuple[int, set[str]]] = {}
    target = combined_file(manifest)
    if target.exists() and not target.is_file():
        raise DataError(
            f"{manifest.display(target)} is a folder, where the kit writes the combined data file; "
            "nothing was combined. Move the folder out of the way (it is not the kit's), then run "
            "nox -s combine again."
        )
    if stale and not allow_stale:
        intro = (
            f"some services' data no longer holds: {freshness.why_stale(stale)}"
            if freshness.settings_changed(stale)
            else "some services' data was measured on code that has changed since, so its line numbers no "
            "longer fit"
        )
        raise DataError(
            f"cannot combine: {intro}:\n"
            + "\n".join(freshness.describe(manifest, stale))
            + f"\nRefresh it: {freshness.refresh_command(stale)}\n(To combine it anyway, marked "
            "STALE in every output: nox -s combine -- --allow-stale.)"
        )
    # One service's failure stays with it: the others are combined, marked incomplete.
    problems += failed_runs
    missing_path = manifest.data_dir / MISSING_NAME
    with atomic_path(target) as temporary, writing(manifest.display(target)):
        merged = CoverageData(basename=str(temporary))
        for service_name, path, data in inputs:
            try:
                merged.update(data)
            except CoverageException as exc:
                if is_storage_failure(exc):
                    raise  # the disk, not the data: `writing` says so
                raise DataError(
                    f"{manifest.display(path)}: cannot be combined with the data before it: {exc}. "
                    "One run measured branches and another did not; run every service's session "
                    "again so all data is of one kind."
                ) from None
            files, names = measured.get(service_name, (0, set()))
            measured[service_name] = (files + 1, names | data.measured_files())
        merged.write()
        merged.close()
        freshness.record_all(temporary, digests)
        provenance.record(temporary, provenance.merge(provenance.recorded(path) for _, path, _ in inputs))
        # Data whose runs lost processes is combined (never fatal), and marked (never silent).
        lacking = unsaved.merge(unsaved.recorded(path) for _, path, _ in inputs)
        if problems or lacking:
            unmeasured = [s.name for s in manifest.services if s.name not in measured]
            with atomic_path(missing_path) as listing:
                incomplete.write(listing, problems, unmeasured, lacking)
        else:
            missing_path.unlink(missing_ok=True)
    per_service = {name: ServiceInput(files, len(names)) for name, (files, names) in measured.items()}
    return Combined(target=target, inputs=per_service, missing=tuple(problems), stale=stale, unsaved=lacking)


def _detail(outcome: outcomes.Outcome) -> str:
    said = f"{outcomes.one_line(outcome.detail)}; " if outcome.detail else ""
    return f"{said}log {outcome.log}; run it again: {outcome.rerun}"


def _declared(manifest: Manifest, recorded: str) -> bool:
    """Whether a path in the data (relative to the project) lies in a service's source."""
    return manifest.owner((manifest.project_dir / recorded).resolve()) is not None


def _expected(manifest: Manifest, service: Service) -> tuple[list[tuple[Path, str, str]], list[str]]:
    """The data files combine needs for `service`: (path, why if missing, the
    command that makes it) each; and problems with the layout itself.

    An unsharded file is complete whatever the manifest says (a run of the whole suite;
    a passing one retires the service's shard files). Shard files name their count, so a
    set present is checked against its own count (`--shards 3` locally is as good as the
    manifest's 2); with no data at all, the manifest's `shards` says which files to name.
    """
    name = service.name
    shards = shard_files(manifest, name)
    whole = service_file(manifest, name)
    if whole.exists():
        return [(whole, "", f"nox -s coverage-{name}")], []
    count = service.shards
    if shards:
        counts = sorted({shard.count for shard in shards})
        if len(counts) > 1:
            listed = ", ".join(manifest.display(p) for _, p in sorted(shards.items()))
            return [], [
                f"{name}: shard files of runs split different ways ({listed}); move the old "
                f"ones out of {manifest.display(manifest.data_dir)} or run every shard again."
            ]
        count = counts[0]
    elif (manifest.data_dir / FAILED_DIR / name).exists():
        count = 1  # nothing usable, and the last run was of the whole suite: say it failed
    if count == 1:
        reason = _missing_reason(manifest, name, manifest.display(whole))
        return [(whole, reason, f"nox -s coverage-{name}")], []
    expected = []
    for index in range(1, count + 1):
        shard = Shard(index, count)
        path = service_file(manifest, name, shard)
        again = f"nox -s coverage-{name} -- --shards {count} --shard {index}"
        failed = manifest.data_dir / FAILED_DIR / path.name
        reason = (
            f"{name}: shard {index} of {count} failed (its data is kept at {manifest.display(failed)}, "
            f"not combined). Fix its tests and run {again}."
            if failed.exists()
            else f"{name}: shard {index} of {count} has no data at {manifest.display(path)}. Run {again}."
        )
        expected.append((path, reason, again))
    return expected, []


def _missing_reason(manifest: Manifest, name: str, shown: str) -> str:
    failed = manifest.data_dir / FAILED_DIR / name
    if failed.exists():
        return (
            f"{name}: its last run failed (its data is kept at {manifest.display(failed)}, "
            f"not combined). Fix its tests and run nox -s coverage-{name}."
        )
    return f"{name}: no data at {shown}. Run nox -s coverage-{name} first."
