"""Run a piece of work in a forked copy of this process, beside the work that goes on here.

`report` writes its formats on two cores: coverage.py's XML, JSON and LCOV reporters in a
forked child while this process writes the HTML. The child inherits the parsed files and
the analyses, so nothing is computed twice. An exception in the child comes back to the
parent (pickled through a pipe) and is raised there, as if the work had run in line.

Where there is no fork (Windows) or a single core, the work runs in line. The work must
not use a SQLite connection the parent opened (SQLite forbids using one across a fork):
the caller computes beforehand whatever the work would query.
"""

from __future__ import annotations

import os
import pickle
import sys
from collections.abc import Callable

from ..errors import KitError
from ..measure.parallel import machine_cores


class SideJob:
    """`work` running in a child process until `wait()`; in line where forking cannot help."""

    def __init__(self, work: Callable[[], None]) -> None:
        self._pid = 0
        self._read = -1
        if not hasattr(os, "fork") or machine_cores() < 2:
            work()
            return
        read, write = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child: do the work, send back what went wrong, leave without cleanup
            os.close(read)
            status = 0
            try:
                work()
            except BaseException as exc:
                status = 1
                with os.fdopen(write, "wb") as channel:
                    channel.write(_portable(exc))
            finally:
                os._exit(status)
        os.close(write)
        self._pid, self._read = pid, read

    def wait(self) -> None:
        """Wait for the child; raise what it raised."""
        if not self._pid:
            return
        with os.fdopen(self._read, "rb") as channel:
            sent = channel.read()
        _, status = os.waitpid(self._pid, 0)
        self._pid = 0
        code = os.waitstatus_to_exitcode(status)
        if sent:
            raise pickle.loads(sent)  # noqa: S301 (our own child, through our own pipe)
        if code:
            raise KitError(f"a report-writing process ended with exit status {code} and no message.")


def _portable(exc: BaseException) -> bytes:
    try:
        return pickle.dumps(exc)
    except Exception:
        return pickle.dumps(KitError(f"{type(exc).__name__}: {exc}"))
