"""The kit's error types and the exit codes they map to.

Exit codes mean one thing each (docs/exit-codes.md): 0 ok, 1 a check failed (tests or a
gate), 2 usage or configuration error, 3 missing or corrupt coverage data, 4 a file could
not be read or written (a full disk, a permission).
"""

from __future__ import annotations

import errno
import re

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_DATA = 3
EXIT_IO = 4
EXIT_INTERRUPTED = 130  # Ctrl-C, as shells report a SIGINT
# What every command says on Ctrl-C: each write is to a temporary name first, so what was
# there stays as it was.
INTERRUPTED = "interrupted: nothing half-written was kept; what was there before is unchanged."

# What codes 2 and 3 mean, for messages that relay another process's exit status.
MEANINGS = {
    EXIT_CONFIG: "usage or configuration error",
    EXIT_DATA: "missing or corrupt coverage data",
    EXIT_IO: "a file could not be read or written",
}


class KitError(Exception):
    """A problem the user can fix; `message` says what, where, and how."""

    exit_code = EXIT_CONFIG

    def __init__(self, message: str, *, why: str = "", detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        # For a failed run (outcomes.py's table): its kind in a word or two ("collection
        # error"), and the one line that says most (pytest's error), where not the message.
        self.why = why
        self.detail = detail


class ConfigError(KitError):
    """The manifest or the command line is wrong."""

    exit_code = EXIT_CONFIG


class DataError(KitError):
    """Coverage data is missing, corrupt, or cannot be combined."""

    exit_code = EXIT_DATA


class StorageError(KitError):
    """A file could not be written or read: a full disk, a permission, an I/O error."""

    exit_code = EXIT_IO


class CheckFailed(KitError):
    """A service's tests failed, or a figure is below its threshold."""

    exit_code = EXIT_FAILED


# SQLite's words (through coverage.py or directly) for ENOSPC, EFBIG and EIO.
STORAGE_FAILURES = ("disk is full", "disk I/O error")
_FULL = {errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)}
_DENIED = {errno.EACCES, errno.EPERM, errno.EROFS}


def is_storage_failure(exc: BaseException) -> bool:
    """Whether a coverage.py or SQLite error is the disk's, not the data's."""
    return any(words in str(exc) for words in STORAGE_FAILURES)


# SQLite's words for a lock another connection holds (coverage.py adds the error code). Exact
# phrases: coverage.py's messages also hold the file's path, which may hold any word.
LOCKED = ("database is locked", "database table is locked", "(SQLITE_BUSY)", "(SQLITE_LOCKED)")


def is_locked(exc: BaseException) -> bool:
    """Whether a coverage.py or SQLite error is another process's lock: the file is fine."""
    return any(words in str(exc) for words in LOCKED)


def io_failure(exc: OSError) -> str:
    """What an OSError that reached the command line means to the user: which file, what
    the system said, and what to do. Every writer replaces its files only once complete,
    so what was there before is intact."""
    where = exc.filename or "a file"
    if exc.filename2:
        where = f"{exc.filename} -> {exc.filename2}"
    reason = exc.strerror or str(exc)
    if exc.errno in _FULL:
        fix = "Free some disk space"
    elif exc.errno in _DENIED:
        fix = "Make it writable for this user"
    else:
        fix = "Check the file and the disk"
    return (
        f"cannot write or read {where}: {reason}. {fix}, then run the command again; the data, "
        "reports and history from before this command are unchanged."
    )


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def plain(text: str) -> str:
    """Repository-supplied text (a file name) for a line of plain output or a message:
    control characters written as escapes, so that no name can start a line of its own
    (GitHub Actions runs a line that starts with `::` as a workflow command)."""
    return _CONTROL.sub(lambda found: f"\\x{ord(found.group()):02x}", text)
