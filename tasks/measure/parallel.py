"""Run every shard of every service on this machine, a few at a time (nox -s coverage-all).

Each run is the same `python -m tasks run` a coverage-<service> session makes, in its own
process, with its output in a log file so that runs side by side don't interleave. The
limits keep a laptop usable: by default as many runs at a time as there are cores, and a
warning when runs x pytest-xdist workers would put more than two test processes on a core.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from ..config.layout import LOGS_DIR, Shard, service_file
from ..config.manifest import KIT_MODULE, KIT_PACKAGE, MAX_SHARDS, Manifest
from ..errors import EXIT_CONFIG, EXIT_FAILED, EXIT_OK, MEANINGS, ConfigError
from . import environments, fork_server, forking, outcomes

TAIL_LINES = 15  # of a failed run's log, shown in the terminal
MEANING = {EXIT_FAILED: "tests failed", **MEANINGS}


def machine_cores() -> int:
    """Cores this process may use (a container's or taskset's limit, not the host's)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


@dataclass(frozen=True, kw_only=True)
class Limits:
    jobs: int  # runs at a time
    workers: int  # pytest-xdist workers per run (1: no xdist)
    cores: int

    @property
    def processes(self) -> int:
        return self.jobs * self.workers

    def warning(self) -> str | None:
        if self.processes <= 2 * self.cores:
            return None
        return (
            f"warning: {self.jobs} runs at a time x {self.workers} workers = {self.processes} test "
            f"processes on {self.cores} cores, more than twice the cores: the machine will be "
            f"sluggish and the runs no faster. Try --jobs {max(1, (2 * self.cores) // self.workers)}."
        )


def limits(jobs: int | None, workers: int, cores: int) -> Limits:
    """The given limits, or defaults sized to the machine: one test process per core."""
    if jobs is None:
        jobs = max(1, cores // workers)
    if jobs < 1:
        raise ConfigError(f"--jobs {jobs}: give a number of runs at a time of at least 1.")
    return Limits(jobs=jobs, workers=workers, cores=cores)


@dataclass(frozen=True, kw_only=True)
class Job:
    service: str
    shard: Shard | None

    @property
    def label(self) -> str:
        return f"{self.service} shard {self.shard.index}/{self.shard.count}" if self.shard else self.service

    @property
    def log_name(self) -> str:
        return f"{self.service}.{self.shard.suffix}.log" if self.shard else f"{self.service}.log"

    @property
    def alone_log_name(self) -> str:
        return self.log_name.removesuffix(".log") + ".alone.log"

    def shard_args(self) -> list[str]:
        return ["--shards", str(self.shard.count), "--shard", str(self.shard.index)] if self.shard else []

    def rerun(self) -> str:
        args = self.shard_args()
        return f"nox -s coverage-{self.service}" + (f" -- {' '.join(args)}" if args else "")


def plan(manifest: Manifest, services: Sequence[str], shards: int | None) -> list[Job]:
    """One job per shard of each chosen service (all by default). A service's `shards` in the
    manifest wins over `shards` (combine expects the manifest's count); the others get it."""
    if shards is not None and not 1 <= shards <= MAX_SHARDS:
        raise ConfigError(f"--shards {shards}: give from 1 to {MAX_SHARDS}.")
    jobs = []
    for name in dict.fromkeys(services or manifest.names):
        service = manifest.service(name)  # names an unknown service clearly
        count = service.shards if service.shards > 1 else (shards or 1)
        if count == 1:
            jobs.append(Job(service=name, shard=None))
        else:
            jobs += [Job(service=name, shard=Shard(index, count)) for index in range(1, count + 1)]
    return jobs


@dataclass(frozen=True, kw_only=True)
class Outcome:
    job: Job
    exit_code: int
    seconds: float
    log: Path
    error: str = ""  # why the run could not start, when it could not
    alone: bool = False  # a run again alone, after its tests failed side by side


# Tests that fail beside other services' and pass alone share something with them.
SIDE_BY_SIDE = (
    "failed only side by side: passed when run alone, its data kept. Its tests and another "
    "service's likely use a file, port or database the services share: give each service its own, "
    'env = { NAME = "...{service}..." } in the manifest (docs/sharding.md)'
)


def run_all(
    manifest: Manifest,
    jobs: list[Job],
    chosen: Limits,
    *,
    maxfail: int | None = None,
    out: TextIO = sys.stdout,
) -> list[Outcome]:
    """Run `jobs` at most `chosen.jobs` at a time; report each as it ends."""
    logs = manifest.reports_dir / LOGS_DIR
    logs.mkdir(parents=True, exist_ok=True)
    warning = chosen.warning()
    if warning:
        print(warning, file=out)
    at_once = min(chosen.jobs, len(jobs))
    unforked = forking.unavailable(manifest)
    print(
        f"running {len(jobs)} run{'s' if len(jobs) != 1 else ''}, {at_once} at a time, "
        f"{chosen.workers} worker{'s' if chosen.workers != 1 else ''} each, on {chosen.cores} "
        f"core{'s' if chosen.cores != 1 else ''}, "
        + (
            "forked from a fork server per environment"
            if unforked is None
            else f"each a new process ({unforked})"
        )
        + f"; logs in {manifest.display(logs)}",
        file=out,
    )
    out.flush()
    ended = []
    started = time.time()
    servers = fork_server.Servers(manifest.path, out) if unforked is None else None
    pool = ThreadPoolExecutor(max_workers=at_once)
    try:
        futures = [
            pool.submit(_run_one, manifest, job, chosen.workers, maxfail, logs, servers) for job in jobs
        ]
        for future in as_completed(futures):
            outcome = future.result()
            ended.append(outcome)
            _print_outcome(manifest, outcome, out, started)
        pool.shutdown()
        if at_once > 1:
            ended = _again_alone(manifest, ended, chosen.workers, maxfail, logs, out, started, servers)
    except KeyboardInterrupt:
        # Ctrl-C reached the running tests too (same process group); start no more runs.
        pool.shutdown(wait=True, cancel_futures=True)
        raise Interrupted(ended) from None
    finally:
        if servers is not None:
            servers.close()
    return ended


def _again_alone(
    manifest: Manifest,
    ended: list[Outcome],
    workers: int,
    maxfail: int | None,
    logs: Path,
    out: TextIO,
    started: float,
    servers: fork_server.Servers | None,
) -> list[Outcome]:
    """Run once more, alone, each run whose tests failed beside others: one that passes then
    failed only side by side (a file, port or database shared with another service's
    tests); its data is kept, and the summary says so."""
    again = []
    for outcome in ended:
        if outcome.exit_code != EXIT_FAILED:
            again.append(outcome)
            continue
        print(f"{outcome.job.label}: its tests failed beside other runs; running it alone once", file=out)
        out.flush()
        alone = _run_one(manifest, outcome.job, workers, maxfail, logs, servers, alone=True)
        alone = dataclasses.replace(alone, alone=alone.exit_code == EXIT_OK)
        _print_outcome(manifest, alone, out, started)
        again.append(alone if alone.alone else outcome)
    return again


class Interrupted(Exception):
    """Ctrl-C during run-all; `outcomes` are the runs that had ended."""

    def __init__(self, outcomes: list[Outcome]) -> None:
        super().__init__("interrupted")
        self.outcomes = outcomes


def _run_one(
    manifest: Manifest,
    job: Job,
    workers: int,
    maxfail: int | None,
    logs: Path,
    servers: fork_server.Servers | None,
    *,
    alone: bool = False,
) -> Outcome:
    """One run, in its service's own environment (measure/environments.py) where one is
    named: forked from that environment's server, else a process of its own."""
    log = logs / (job.alone_log_name if alone else job.log_name)
    unbuilt = environments.unbuilt(job.service)
    if unbuilt is not None:
        return Outcome(job=job, exit_code=EXIT_CONFIG, seconds=0.0, log=log, error=unbuilt)
    python = environments.interpreter(job.service)
    argv = [python, "-m", KIT_MODULE, "--manifest", str(manifest.path), "run", job.service]
    argv += job.shard_args()
    if workers > 1:
        argv += ["--workers", str(workers)]
    if maxfail is not None:
        argv.append(f"--maxfail={maxfail}")
    activation = environments.variables(job.service)
    server = servers.get(python, activation) if servers is not None else None
    logged = {outcomes.LOG_VARIABLE: manifest.display(log)}
    variables = {**os.environ, **activation, **logged}
    start = time.monotonic()
    try:
        if server is not None:
            log.write_text("", encoding="utf-8")  # that it can be written: the forked run writes it
            status = server.run(argv[3:], logged, log)
            return Outcome(job=job, exit_code=status, seconds=time.monotonic() - start, log=log)
        with log.open("w", encoding="utf-8") as handle:
            status = subprocess.run(
                argv,
                cwd=KIT_PACKAGE.parent,
                env=variables,
                stdout=handle,
                stderr=subprocess.STDOUT,
                check=False,
            ).returncode
    except OSError as exc:  # the log cannot be written, or the interpreter cannot start
        return Outcome(
            job=job, exit_code=EXIT_CONFIG, seconds=time.monotonic() - start, log=log, error=str(exc)
        )
    return Outcome(job=job, exit_code=status, seconds=time.monotonic() - start, log=log)


def _print_outcome(manifest: Manifest, outcome: Outcome, out: TextIO, started: float) -> None:
    took = f"{outcome.seconds:.1f} s"
    if outcome.error:
        print(f"{outcome.job.label}: could not run: {outcome.error}", file=out)
        return
    lines = outcome.log.read_text(encoding="utf-8", errors="replace").splitlines()
    if outcome.exit_code == EXIT_OK:
        # The run's own figure line: "xp (own tests only, shard 1 of 2): line 39.4% (...), ...".
        figure = next((line for line in reversed(lines) if "(own tests only" in line), "")
        own = figure.partition("): ")[2].partition("; thresholds")[0]
        print(f"{outcome.job.label}: passed in {took}" + (f"; own tests: {own}" if own else ""), file=out)
    else:
        meaning = _recorded(manifest, outcome, started).why
        print(
            f"{outcome.job.label}: FAILED with exit status {outcome.exit_code} ({meaning}) after {took}; "
            f"last lines of {manifest.display(outcome.log)}:",
            file=out,
        )
        print("\n".join(f"    {line}" for line in lines[-TAIL_LINES:]), file=out)
    out.flush()


def summary(manifest: Manifest, outcomes_: list[Outcome], seconds: float, out: TextIO) -> int:
    """Print what passed and what failed (each failure with why, its log and the command that
    runs it again); return the most telling exit status."""
    print("", file=out)
    started = time.time() - seconds
    ended = [_recorded(manifest, o, started) for o in outcomes_]
    ended = [
        dataclasses.replace(r, note=SIDE_BY_SIDE) if o.alone else r
        for r, o in zip(ended, outcomes_, strict=True)
    ]
    print("\n".join(outcomes.table(ended, f" in {seconds:.1f} s")), file=out)
    if any(o.exit_code != EXIT_OK for o in outcomes_):
        print("The other runs' data is kept; combine leaves out the services whose run failed.", file=out)
        return outcomes.worst([o.exit_code for o in outcomes_])
    print("Next: nox -s combine report", file=out)
    return EXIT_OK


def _recorded(manifest: Manifest, outcome: Outcome, started: float) -> outcomes.Outcome:
    """The run's own record of how it ended, where it wrote one since `started` (a run that
    could not start, or was killed, wrote none)."""
    name = service_file(manifest, outcome.job.service, outcome.job.shard).name
    found = outcomes.recorded(manifest.data_dir, name)
    if found is not None and found.exit_code == outcome.exit_code and found.finished >= started:
        return found
    why = "could not run" if outcome.error else MEANING.get(outcome.exit_code, "stopped")
    return outcomes.Outcome(
        service=outcome.job.service,
        label=outcome.job.label,
        exit_code=outcome.exit_code,
        why=why,
        detail=outcome.error,
        log=manifest.display(outcome.log),
        rerun=outcome.job.rerun(),
        finished=time.time(),
    )
