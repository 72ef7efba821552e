"""Coverage data files: where each run's data lives, reading it safely, and combining it.

Every data file the kit writes holds paths relative to the project directory, so data
from runs in other working directories, or on other machines, combines unchanged.
Files appear atomically: written under a temporary name in the same folder, then renamed.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from coverage import CoverageData
from coverage.exceptions import CoverageException

from tasks.errors import DataError
from tasks.manifest import Manifest

COMBINED_NAME = "combined"
FAILED_DIR = "failed"  # data of runs whose tests failed: kept, never combined
STALE_DIR = "stale"  # the previous good data of a service whose latest run failed
SLICES_DIR = "slices"  # runs of a chosen subset of tests: shown, never combined


def service_file(manifest: Manifest, service: str) -> Path:
    return manifest.data_dir / service


def combined_file(manifest: Manifest) -> Path:
    return manifest.data_dir / COMBINED_NAME


def require_combined(manifest: Manifest) -> Path:
    """The combined file, or a DataError naming the sessions that produce it."""
    path = combined_file(manifest)
    if not path.exists():
        sessions = " ".join(f"coverage-{name}" for name in manifest.names)
        raise DataError(
            f"{manifest.display(path)}: no combined data. Run the services and combine first: "
            f"nox -s {sessions} combine"
        )
    return path


def retire_combined(manifest: Manifest) -> None:
    """Move the combined file to the stale folder once its inputs have changed."""
    combined = combined_file(manifest)
    if combined.exists():
        stale = manifest.data_dir / STALE_DIR / COMBINED_NAME
        stale.parent.mkdir(parents=True, exist_ok=True)
        combined.replace(stale)


_UMASK = os.umask(0o022)
os.umask(_UMASK)  # read the process umask once; new files get the mode a plain open() gives


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """A temporary path beside `target` that replaces it only if the block succeeds.

    The new file keeps the mode of the file it replaces (a manifest stays as readable as it
    was), or gets the usual mode for a new file, not mkstemp's owner-only one.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
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
        raise DataError(
            f"{shown}: not usable coverage data ({exc}). The file is corrupt or was not "
            "written by coverage.py; delete it and run its session again."
        ) from None
    return data


def relocate(source: Path, target: Path, map_path: Callable[[str], str]) -> None:
    """Write `source`'s data to `target` (atomically) with every file path mapped."""
    data = read(source, str(source))
    with atomic_path(target) as temporary:
        out = CoverageData(basename=str(temporary))
        out.update(data, map_path=map_path)
        out.write()


def project_relative(project_dir: Path, run_dir: Path) -> Callable[[str], str]:
    """Map a path recorded by a run in `run_dir` to one relative to the project."""

    def map_path(recorded: str) -> str:
        absolute = (run_dir / recorded).resolve()
        try:
            return absolute.relative_to(project_dir).as_posix()
        except ValueError:
            return recorded  # outside the project: keep it visible rather than guess

    return map_path


def combine(manifest: Manifest) -> tuple[Path, dict[str, int]]:
    """Merge every service's data file into the combined file; return it and file counts.

    Fails (exit 3), before writing anything, naming every service with no usable data.
    The inputs are kept.
    """
    problems: list[str] = []
    inputs: dict[str, CoverageData] = {}
    for name in manifest.names:
        path = service_file(manifest, name)
        shown = manifest.display(path)
        if not path.exists():
            problems.append(_missing_reason(manifest, name, shown))
            continue
        try:
            data = read(path, shown)
        except DataError as exc:
            problems.append(exc.message)
            continue
        if not data.measured_files():
            problems.append(f"{shown}: the data file is empty; run nox -s coverage-{name} again.")
            continue
        inputs[name] = data
    if problems:
        raise DataError(
            "cannot combine: some services have no usable data, and a figure from the rest "
            "would be wrong.\n  " + "\n  ".join(problems)
        )
    counts: dict[str, int] = {}
    target = combined_file(manifest)
    with atomic_path(target) as temporary:
        merged = CoverageData(basename=str(temporary))
        for name, data in inputs.items():
            try:
                merged.update(data)
            except CoverageException as exc:
                raise DataError(
                    f"{manifest.display(service_file(manifest, name))}: cannot be combined with "
                    f"the data before it: {exc}. One run measured branches and another did not; "
                    "run every service's session again so all data is of one kind."
                ) from None
            counts[name] = len(data.measured_files())
        merged.write()
    return target, counts


def _missing_reason(manifest: Manifest, name: str, shown: str) -> str:
    failed = manifest.data_dir / FAILED_DIR / name
    if failed.exists():
        return (
            f"{name}: its last run failed (its data is kept at {manifest.display(failed)}, "
            f"not combined). Fix its tests and run nox -s coverage-{name}."
        )
    return f"{name}: no data at {shown}. Run nox -s coverage-{name} first."
