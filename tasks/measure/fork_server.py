"""run-all's side of the fork servers: one process per environment that imports the kit,
pytest, coverage.py and pytest's plugins once, then forks a child per run, which is the
`python -m tasks run SERVICE` a process of its own would be, at the cost of a fork (the
server: cli/serve_runs.py).

A server that cannot serve (a plugin of its environment brings a module of the repository,
or fails to import) says why as it starts, and its runs are new processes, as before.
The protocol is a JSON line each way: a request (id, kit arguments, variables, log file)
on the server's standard input; as each run ends, its id and exit status on its output.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import threading
from collections.abc import Mapping
from concurrent.futures import Future
from pathlib import Path
from typing import IO, TextIO

from ..config.manifest import KIT_MODULE, KIT_PACKAGE

SERVER_MODULE = f"{KIT_MODULE}.cli.serve_runs"


class Server:
    """run-all's handle on a fork server in one environment: `run` is safe from many threads."""

    def __init__(self, python: str, manifest: Path, variables: Mapping[str, str]) -> None:
        self._process = subprocess.Popen(
            [python, "-m", SERVER_MODULE, str(manifest)],
            cwd=KIT_PACKAGE.parent,
            env={**os.environ, **variables},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self._process.stdin is not None and self._process.stdout is not None
        self._input: IO[bytes] = self._process.stdin
        self._output: IO[bytes] = self._process.stdout
        self._lock = threading.Lock()
        self._waiting: dict[str, Future[int]] = {}
        self._count = 0
        self._ended = False
        first = self._output.readline()
        try:
            said = json.loads(first) if first else {"ready": False, "why": "it ended as it started"}
        except ValueError:
            said = {"ready": False, "why": f"it said {first[:80]!r}, not whether it is ready"}
        self.why_not = "" if said.get("ready") else str(said.get("why", ""))
        if self.why_not:
            self.close()
            return
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self._output:
            said = json.loads(line)
            with self._lock:
                waiting = self._waiting.pop(said["id"])
            waiting.set_result(said["status"])
        with self._lock:  # the server is gone: whatever was asked of it did not run
            self._ended = True
            for waiting in self._waiting.values():
                waiting.set_exception(OSError("its fork server ended"))
            self._waiting.clear()

    def run(self, argv: list[str], variables: Mapping[str, str], log: Path) -> int:
        """The exit status of `python -m tasks ARGV`, forked, its output in `log`."""
        future: Future[int] = Future()
        with self._lock:
            if self._ended:
                raise OSError("its fork server ended")
            self._count += 1
            key = str(self._count)
            self._waiting[key] = future
            request = {"id": key, "argv": argv, "env": dict(variables), "log": str(log)}
            self._input.write((json.dumps(request) + "\n").encode())
            self._input.flush()
        return future.result()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._input.close()
        self._process.wait()


class Servers:
    """The fork servers of one run-all, one per environment, started as runs first need them."""

    def __init__(self, manifest: Path, out: TextIO) -> None:
        self._manifest = manifest
        self._out = out
        self._lock = threading.Lock()
        self._started: dict[tuple[str, tuple[tuple[str, str], ...]], Server | None] = {}

    def get(self, python: str, variables: Mapping[str, str]) -> Server | None:
        """The server for runs in `python` with `variables`; None where it stepped down."""
        key = (python, tuple(sorted(variables.items())))
        with self._lock:
            if key not in self._started:
                server: Server | None = None
                try:
                    server = Server(python, self._manifest, variables)
                    why_not = server.why_not
                except OSError as exc:  # its Python cannot start
                    why_not = f"it could not start: {exc}"
                if why_not:
                    print(
                        f"fork server in {python}: not used ({why_not}); each of its runs is a new process",
                        file=self._out,
                    )
                    self._out.flush()
                self._started[key] = None if why_not else server
            return self._started[key]

    def close(self) -> None:
        for server in self._started.values():
            if server is not None:
                server.close()
