"""The kit's error types and the exit codes they map to.

Exit codes mean one thing each (docs/exit-codes.md): 0 ok, 1 a check failed (tests or a
gate), 2 usage or configuration error, 3 missing or corrupt coverage data.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_DATA = 3
EXIT_INTERRUPTED = 130  # Ctrl-C, as shells report a SIGINT

# What codes 2 and 3 mean, for messages that relay another process's exit status.
MEANINGS = {EXIT_CONFIG: "usage or configuration error", EXIT_DATA: "missing or corrupt coverage data"}


class KitError(Exception):
    """A problem the user can fix; `message` says what, where, and how."""

    exit_code = EXIT_CONFIG

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(KitError):
    """The manifest or the command line is wrong."""

    exit_code = EXIT_CONFIG


class DataError(KitError):
    """Coverage data is missing, corrupt, or cannot be combined."""

    exit_code = EXIT_DATA


class CheckFailed(KitError):
    """A service's tests failed, or a figure is below its threshold."""

    exit_code = EXIT_FAILED
