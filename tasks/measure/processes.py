"""Run a service's test command and end only when every process it started has ended: a
run's data is complete only once the last of them (a multiprocessing resource tracker, a
worker, a server a test left running) has written its coverage data.

The processes are known by a mark in their environment, which every process the tests
start inherits; they stay in the caller's process group, so Ctrl-C and a kill of the group
reach them as before. Those still running LINGER_S seconds after the test command ended are
asked to stop, then killed. (Where /proc is not there to read, the run ends with its test
command, as coverage.py's own `coverage run` does.)
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO

MARK = "COVERAGE_WORKFLOWS_RUN"  # in the environment of every process of a run: its scratch folder
LINGER_S = 30.0  # how long processes the tests started may outlive them, to finish writing
STOP_S = 5.0  # after SIGTERM, before SIGKILL
POLL_S = 0.05
PROC = Path("/proc")


class TimedOut(Exception):
    """The test command ran past its time limit; it and every marked process were ended."""


def run_marked(
    argv: list[str],
    cwd: Path,
    mark: str,
    *,
    timeout: float | None = None,
    variables: Mapping[str, str] | None = None,
    log: Path | None = None,
) -> int:
    """Run `argv` with `mark` (and `variables`) in its environment; its exit status once
    every process that carries the mark has ended. Past `timeout` seconds it is killed, and
    every marked process with it (TimedOut). With `log`, what it prints is also written
    there (for the error a failed run is reported with)."""
    environment = {**os.environ, **(variables or {}), MARK: mark}
    if log is not None and sys.stdout.isatty() and "PY_COLORS" not in environment:
        environment["PY_COLORS"] = "1"  # pytest's colours, though its output goes through a pipe
    try:
        if log is None:
            status = subprocess.run(argv, cwd=cwd, env=environment, check=False, timeout=timeout).returncode
        else:
            status = _run_logged(argv, cwd, environment, timeout, log)
    except subprocess.TimeoutExpired:  # the command itself is killed by now
        stop(mark)
        raise TimedOut from None
    end_marked(mark)
    return status


def _run_logged(
    argv: list[str], cwd: Path, environment: dict[str, str], timeout: float | None, log: Path
) -> int:
    """Run `argv` with its output (standard error merged in) copied to ours and to `log`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with (
        log.open("wb") as written,
        subprocess.Popen(
            argv, cwd=cwd, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        ) as proc,
    ):
        assert proc.stdout is not None
        copier = threading.Thread(target=copy_output, args=(proc.stdout, written), daemon=True)
        copier.start()
        try:
            status = proc.wait(timeout=timeout)
        except BaseException:  # the time limit, or Ctrl-C: as subprocess.run, end it and go on
            proc.kill()
            proc.wait()
            copier.join(timeout=STOP_S)
            raise
        copier.join(timeout=LINGER_S)  # a process the tests left running may hold the pipe
    return status


def copy_output(source: IO[bytes], log: IO[bytes]) -> None:
    sys.stdout.flush()
    terminal = getattr(sys.stdout, "buffer", None)
    # Closed under it when a process the tests left running held the pipe past LINGER_S.
    with contextlib.suppress(ValueError, OSError):
        for line in iter(source.readline, b""):
            if terminal is not None:
                terminal.write(line)
                terminal.flush()
            else:  # a text stream in place of standard output
                sys.stdout.write(line.decode(errors="replace"))
            log.write(line)


def end_marked(mark: str, also: Callable[[], list[int]] = list) -> None:
    """Wait for the marked processes (and those `also` names) left to end by themselves,
    then end them."""
    deadline = time.monotonic() + LINGER_S
    while (left := [*marked(mark), *also()]) and time.monotonic() < deadline:
        time.sleep(POLL_S)
    if left:
        stop(mark, also)


def stop(mark: str, also: Callable[[], list[int]] = list) -> None:
    """Ask the marked processes (and those `also` names) to stop (SIGTERM), then kill those
    that will not."""
    _signal([*marked(mark), *also()], signal.SIGTERM)
    deadline = time.monotonic() + STOP_S
    while (left := [*marked(mark), *also()]) and time.monotonic() < deadline:
        time.sleep(POLL_S)
    _signal(left, signal.SIGKILL)


def marked(mark: str) -> list[int]:
    """The processes still running whose environment carries `mark` (none where /proc is not
    there). A zombie's environment reads empty: it writes nothing more."""
    if not PROC.is_dir():
        return []
    wanted = f"{MARK}={mark}".encode()
    found = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):  # gone meanwhile, or another user's
            if wanted in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
    return found


def _signal(pids: list[int], number: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):  # gone, or not ours to signal
            os.kill(pid, number)
