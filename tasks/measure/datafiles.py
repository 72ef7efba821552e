"""Coverage data files: reading them safely, moving them aside, and combining them.

Every data file the kit writes holds paths relative to the project directory, so data
from runs in other working directories, or on other machines, combines unchanged.
Files appear atomically: written under a temporary name in the same folder, then renamed.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sqlite3
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from coverage import CoverageData
from coverage.exceptions import CoverageException

from ..config.layout import (
    COMBINED_NAME,
    MISSING_NAME,
    STALE_DIR,
)
from ..config.manifest import Manifest
from ..errors import DataError, StorageError, is_locked, is_storage_failure
from . import coverage_internals, freshness, provenance, toolinfo, unsaved


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
    processes_unsaved: int = 0,
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
        out.close()
        ran = coverage_internals.files_that_ran(temporary)
        digests = {**freshness.digest_files(project_dir, ran), **(settings_entries or {})}
        freshness.record(temporary, service, digests)
        provenance.record(temporary, {service: provenance.head(project_dir)})
        toolinfo.record_tools(temporary)
        if processes_unsaved:  # its figure lacks what they ran: every output says so
            unsaved.record(temporary, {service: processes_unsaved})


def project_relative(project_dir: Path, run_dir: Path) -> Callable[[str], str]:
    """Map a path recorded by a run in `run_dir` to one relative to the project."""

    @functools.cache
    def resolved_folder(folder: Path) -> Path:
        return folder.resolve()

    def map_path(recorded: str) -> str:
        joined = run_dir / recorded
        # Folders resolved once each (a run records every source file); a file that is
        # itself a link, resolved whole.
        absolute = joined.resolve() if joined.is_symlink() else resolved_folder(joined.parent) / joined.name
        try:
            return absolute.relative_to(project_dir).as_posix()
        except ValueError:
            return recorded  # outside the project: keep it visible rather than guess

    return map_path
