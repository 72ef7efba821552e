"""The private folder of one run of tests, beside the data: locked for as long as the run
lives and removed after it, and cleared by a later run when the run was killed."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from . import filelock

SCRATCH_PREFIX = ".run-"  # then the label and tempfile's random part
ALIVE_NAME = ".alive"  # locked by the run for as long as it lives; the kernel drops the lock


@contextlib.contextmanager
def folder(data_dir: Path, label: str) -> Iterator[Path]:
    """A private folder beside the data for one run of tests, locked for as long as the
    run lives and removed after it; first, the folders of runs that were killed are cleared."""
    clear_abandoned(data_dir)
    with (
        # Once this run lets go of its lock, another run's cleanup may remove the folder first.
        tempfile.TemporaryDirectory(
            prefix=f"{SCRATCH_PREFIX}{label}-", dir=data_dir, ignore_cleanup_errors=True
        ) as scratch,
        filelock.born_held(Path(scratch) / ALIVE_NAME),
    ):
        yield Path(scratch)


def clear_abandoned(data_dir: Path) -> None:
    """Remove the scratch folders of runs that were killed (SIGKILL, a power cut): those
    whose run no longer holds the lock on its `.alive` file. Runs going on beside this one,
    in this container or another sharing the folder, hold theirs and keep their folders; so
    does a run just starting, which has no lock file yet. (No locks on Windows: a killed
    run's folder stays there until someone removes it.)"""
    for found in data_dir.glob(f"{SCRATCH_PREFIX}*"):
        if filelock.abandoned(found / ALIVE_NAME):
            shutil.rmtree(found, ignore_errors=True)
