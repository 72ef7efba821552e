"""Advisory locks on files (flock), where the system has them.

Two uses: one `report` at a time publishes into the reports folder, and a run holds a lock
for as long as it lives, so that the next run can tell a killed run's scratch folder from a
live one (the kernel drops a dead process's locks, even after SIGKILL).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no flock; nothing is locked and no lock is taken for free
    fcntl = None  # type: ignore[assignment]


@contextmanager
def held(lock_file: Path) -> Iterator[None]:
    """Hold an exclusive lock on `lock_file` (created if need be), waiting for it."""
    with lock_file.open("a") as handle:
        if fcntl is not None:
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def born_held(lock_file: Path) -> Iterator[None]:
    """Create `lock_file` already locked: locked under a temporary name, then renamed into
    place, so that nobody ever sees it unlocked (and takes it for a dead process's)."""
    temporary = lock_file.with_name(f".{lock_file.name}.{os.getpid()}.new")
    with temporary.open("w") as handle:
        if fcntl is not None:
            fcntl.flock(handle, fcntl.LOCK_EX)
        temporary.replace(lock_file)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(handle, fcntl.LOCK_UN)


def abandoned(lock_file: Path) -> bool:
    """Whether `lock_file` exists and nobody holds its lock. False where it is missing, held,
    or where there are no locks to tell (Windows)."""
    if fcntl is None:
        return False
    try:
        with lock_file.open("rb") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True
