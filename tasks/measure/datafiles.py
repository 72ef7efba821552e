"""Coverage data files: reading them safely, moving them aside, and combining them.

Every data file the kit writes holds paths relative to the project directory, so data
from runs in other working directories, or on other machines, combines unchanged.
Files appear atomically: written under a temporary name in the same folder, then renamed.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from coverage import CoverageData
from coverage.exceptions import CoverageException

from ..config.layout import (
    COMBINED_NAME,
    FAILED_DIR,
    MISSING_NAME,
    STALE_DIR,
    Shard,
    service_file,
    shard_files,
)
from ..config.manifest import Manifest, Service
from ..errors import DataError, StorageError, is_locked, is_storage_failure, plain
from . import freshness, incomplete, outcomes, provenance, toolinfo


def retire(manifest: Manifest, paths: list[Path]) -> None:
    """Move superseded data into the stale folder: out of combine's way, not deleted."""
    for path in paths:
        stale = manifest.data_dir / STALE_DIR / path.name
        stale.parent.mkdir(parents=True, exist_ok=True)
        if stale.is_dir() or (path.is_dir() and stale.exists()):
            # A folder where the kit keeps files (someone made one there): a rename cannot
            # replace it, nor put a folder in a file's place, so it goes beside, under a free name.
            stale = _free_name(stale)
        # Runs side by side (nox --parallel, coverage-all) may retire the same file at once.
        with contextlib.suppress(FileNotFoundError):
            path.replace(stale)


def _free_name(path: Path) -> Path:
    number = 1
    while path.with_name(f"{path.name}.{number}").exists():
        number += 1
    return path.with_name(f"{path.name}.{number}")


def combined_file(manifest: Manifest) -> Path:
    return manifest.data_dir / COMBINED_NAME


def require_combined(manifest: Manifest) -> Path:
    """The combined file, or a DataError naming the sessions that produce it."""
    path = combined_file(manifest)
    if not path.exists():
        raise DataError(
            f"{manifest.display(path)}: no combined data. Run the services and combine first: "
            f"{freshness.run_command(manifest.names)}"
        )
    return path


def retire_combined(manifest: Manifest) -> None:
    """Move the combined file to the stale folder once its inputs have changed."""
    retire(manifest, [p for p in (combined_file(manifest), manifest.data_dir / MISSING_NAME) if p.exists()])


_UMASK = os.umask(0o022)
os.umask(_UMASK)  # read the process umask once; new files get the mode a plain open() gives


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """A temporary path beside `target` that replaces it only if the block succeeds.

    The new file keeps the mode of the file it replaces (a manifest stays as readable as it
    was), or gets the usual mode for a new file, not mkstemp's owner-only one.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    # The name layout.UNFINISHED_NAME knows: maintenance removes one a killed process left.
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    temporary = Path(name)
    temporary.unlink()  # CoverageData wants to create the file itself
    try:
        yield temporary
        mode = target.stat().st_mode & 0o7777 if target.exists() else 0o666 & ~_UMASK
        temporary.chmod(mode)
        temporary.replace(target)
    finally:
        temporary.unlink(missing_ok=True)


def read(path: Path, shown: str) -> CoverageData:
    """Open an existing data file, or raise DataError saying what is wrong with it."""
    if not path.is_file():
        raise DataError(f"{shown}: coverage data file not found.")
    data = CoverageData(basename=str(path))
    try:
        data.read()
        data.measured_files()  # touches the tables: a truncated file fails here, not later
    except (CoverageException, sqlite3.Error) as exc:
        if is_storage_failure(exc):
            raise StorageError(
                f"{shown}: cannot be read ({exc}). The file may be fine: check the disk, then run "
                "the command again."
            ) from None
        if is_locked(exc):
            raise DataError(
                f"{shown}: locked by another process ({exc}). The file is fine: run the command "
                "again once the process writing it (a run, a combine, or a tool holding it open) "
                "has finished."
            ) from None
        raise DataError(
            f"{shown}: not usable coverage data ({exc}). The file is corrupt or was not "
            "written by coverage.py; delete it and run its session again."
        ) from None
    return data


def executed_files(paths: list[Path]) -> set[str]:
    """The files (as recorded) in which any of the data files `paths` has a line executed:
    files a run only found on disk, never imported, have none."""
    executed = set()
    for path in paths:
        data = read(path, str(path))
        executed |= {name for name in data.measured_files() if data.lines(name)}
    return executed


def add_unrun(path: Path, files: list[str]) -> None:
    """Add `files` to the data file `path` as measured with no line run (a run's scratch
    data, before it is kept)."""
    if not files:
        return
    data = read(path, str(path))
    with writing(str(path)):
        data.touch_files(files)
        data.write()
    data.close()


@contextmanager
def writing(shown: str) -> Iterator[None]:
    """Turn coverage.py's or SQLite's report of a full disk while writing `shown` into a
    StorageError (exit 4); any other error goes on as it was."""
    try:
        yield
    except (CoverageException, sqlite3.Error) as exc:
        if not is_storage_failure(exc):
            raise
        raise StorageError(
            f"{shown}: could not be written ({exc}). Nothing was replaced: the data from before is "
            "unchanged. Check the disk (is it full?) and run the command again."
        ) from None


def relocate(
    sources: list[Path],
    target: Path,
    map_path: Callable[[str], str],
    *,
    service: str,
    project_dir: Path,
    settings_entries: Mapping[str, str] | None = None,
) -> None:
    """Merge `sources` (one run of `service`: a file per process) into `target`, atomically,
    with every file path mapped (relative to `project_dir`), and the digests of the files it
    ran and the versions of the tools that ran them recorded inside."""
    with atomic_path(target) as temporary, writing(target.name):
        out = CoverageData(basename=str(temporary))
        for source in sources:
            out.update(read(source, str(source)), map_path=map_path)
        out.write()
        # A module with no statement (an empty __init__.py) that ran has no line in branch
        # data, only its entry and exit arcs: it ran all the same, and goes stale as soon
        # as a statement is added to it.
        ran = [name for name in out.measured_files() if out.lines(name) or out.arcs(name)]
        out.close()
        digests = {**freshness.digest_files(project_dir, ran), **(settings_entries or {})}
        freshness.record(temporary, service, digests)
        provenance.record(temporary, {service: provenance.head(project_dir)})
        toolinfo.record_tools(temporary)


def project_relative(project_dir: Path, run_dir: Path) -> Callable[[str], str]:
    """Map a path recorded by a run in `run_dir` to one relative to the project."""

    def map_path(recorded: str) -> str:
        absolute = (run_dir / recorded).resolve()
        try:
            return absolute.relative_to(project_dir).as_posix()
        except ValueError:
            return recorded  # outside the project: keep it visible rather than guess

    return map_path


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


def combine(manifest: Manifest, *, allow_missing: bool = False, allow_stale: bool = False) -> Combined:
    """Merge every service's data (every expected shard of it) into the combined file.

    Fails (exit 3), before writing anything, naming every service or shard with no usable
    data, unless `allow_missing`: then the rest is combined and what is missing is written
    beside the combined file, for every report to say. Data measured on code that has
    changed since is refused likewise, unless `allow_stale`. The inputs are kept.
    """
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
            foreign = next((f for f in sorted(data.measured_files()) if not _declared(manifest, f)), None)
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
        if problems:
            unmeasured = [s.name for s in manifest.services if s.name not in measured]
            with atomic_path(missing_path) as listing:
                incomplete.write(listing, problems, unmeasured)
        else:
            missing_path.unlink(missing_ok=True)
    per_service = {name: ServiceInput(files, len(names)) for name, (files, names) in measured.items()}
    return Combined(target=target, inputs=per_service, missing=tuple(problems), stale=stale)


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
