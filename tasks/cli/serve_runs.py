"""The fork server of one environment (measure/fork_server.py starts it for run-all):
imports the kit, pytest, coverage.py and pytest's plugins once, then forks a child per run
requested, which runs `python -m tasks run ...` in-process, its output in the run's log.

Nothing of the repository is imported before a fork: the server checks it once ready, and
each run checks it again before its tests start (measure/forking.py); a plugin that brings a
repository module makes the server step down, and run-all starts a process per run, saying
why. The server is single-threaded (a fork copies only the thread that calls it): it reads
requests, one JSON line each, on its standard input, and answers each run's exit status on
its standard output as the run ends. It ends when its input closes and its runs have ended.

    python -m tasks.cli.serve_runs MANIFEST
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import select
import signal
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..measure import forking

POLL_S = 0.01


def _preload(manifest_path: str) -> str | None:
    """Import what every run imports; why this process cannot serve runs, or None."""
    import coverage.cmdline  # noqa: F401 - imported here, once, for every run
    import pytest  # noqa: F401

    from ..config import loader, remembered
    from ..measure import runner  # noqa: F401
    from . import main, measure  # noqa: F401

    forking.load_pytest_plugins(preload_packages=True)
    remembered.start()
    manifest = loader.load(Path(manifest_path))
    imported = forking.repository_modules(manifest)
    if imported:
        return f"a pytest plugin imports the repository's {imported[0]}, which would go unmeasured"
    if threading.active_count() > 1:
        return "a pytest plugin started a thread, which a fork would not carry"
    gc.freeze()  # what is imported stays shared with the children, and their collections skip it
    return None


def serve(manifest_path: str) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the runs; the server ends with its input
    # The answers go out on a copy of standard output; what a plugin prints goes to stderr.
    answers = os.dup(1)
    os.dup2(2, 1)
    try:
        refused = _preload(manifest_path)
    except Exception as exc:  # a plugin that fails to import: the runs will say so themselves
        refused = f"preparing failed: {type(exc).__name__}: {exc}"
    _answer(answers, {"ready": refused is None, "why": refused or ""})
    if refused:
        return 0
    running: dict[int, str] = {}  # pid -> request id
    pending = b""
    reading = True
    while reading or running:
        if reading:
            ready, _, _ = select.select([0], [], [], POLL_S)
            if ready:
                chunk = os.read(0, 1 << 16)
                reading = bool(chunk)
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in filter(None, lines):
                    request = json.loads(line)
                    running[_start(request, answers)] = request["id"]
        else:
            select.select([], [], [], POLL_S)
        with contextlib.suppress(ChildProcessError):
            while running and (ended := os.waitpid(-1, os.WNOHANG))[0]:
                pid, status = ended
                _answer(answers, {"id": running.pop(pid), "status": os.waitstatus_to_exitcode(status)})
    return 0


def _answer(answers: int, message: Mapping[str, Any]) -> None:
    os.write(answers, (json.dumps(message) + "\n").encode())  # unbuffered: nothing for a child to inherit


def _start(request: Mapping[str, Any], answers: int) -> int:
    pid = os.fork()
    if pid:
        return pid
    code = 1  # pragma: no cover - the child ends in os._exit
    try:
        os.close(answers)  # the server's alone: run-all sees it end when the server does
        forking.own_streams(os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644))
        os.environ.update(request["env"])
        from .main import main

        code = main(request["argv"], out=sys.stdout, err=sys.stderr)
    except KeyboardInterrupt:
        from ..errors import EXIT_INTERRUPTED, INTERRUPTED

        print(INTERRUPTED, file=sys.stderr)
        code = EXIT_INTERRUPTED
    except BaseException:  # the kit's own failure: said as a new process would say it
        import traceback

        traceback.print_exc()
    finally:
        forking.end_child(code)


if __name__ == "__main__":
    sys.exit(serve(sys.argv[1]))
