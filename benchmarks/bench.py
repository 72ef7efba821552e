"""Measure the kit side by side on a synthetic repository (nox -s bench).

Each group of variants runs in the same invocation, alternating (the order rotates each
round), several times; a table per group gives the median wall time, the min-max, the
ratio to the group's reference and the peak memory of the process tree. Then every
target of docs/performance.md is checked against these medians: met or not. Results go
to reports/bench/bench-<size>[-py<X.Y>].json and .md with the commit, to compare runs.

This machine may set PYTHONDONTWRITEBYTECODE=1, which makes every run recompile every
module; the measured processes run with it unset (compileall writes the bytecode first,
and the groups of short variants also run once uncounted), and the header says so.

    python benchmarks/bench.py --size medium --repeat 3
    python benchmarks/bench.py --size small --group cores   # tracing cores, this Python
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import many
import shards
import synth  # sibling scripts: run as `python benchmarks/bench.py`, this folder is on sys.path
import tomlkit

KIT = Path(__file__).resolve().parent.parent
PY = sys.executable
KIT_CMD = [PY, "-m", "tasks"]
PYTEST = [PY, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
REPORT_DIR = "bench-out"  # where the coverage.py CLI variants write, inside the repository
# The CLI on the kit's combined data, whose paths are relative to the repository.
RCFILE = "bench.coveragerc"
COMBINED = ".coverage-data/combined"
AFFECTED_ALONE = "affected --base main alone"
SAVED_COMBINED = "bench-combined"  # the combined data as measured once, for every group to start from


def coverage_cli(command: str, *args: str) -> Command:
    return Command([PY, "-m", "coverage", command, f"--rcfile={RCFILE}", f"--data-file={COMBINED}", *args])


# Runs the commands given as JSON [argv, accepted exit codes] pairs, one after another, in
# a child process. It samples, every 50 ms, the resident memory of all its descendants
# together (Linux /proc): the memory the runs took at once, so that two side-by-side
# services or xdist's workers are counted together. Elsewhere: the largest single process.
MEASURE = """
import json, os, resource, subprocess, sys, threading, time
PAGE = os.sysconf("SC_PAGE_SIZE")
peak = 0
done = threading.Event()

def tree_rss():
    parents, rss = {}, {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry)] = int(fields[1])
            rss[int(entry)] = int(fields[21]) * PAGE
    total, me = 0, os.getpid()
    for pid in rss:
        seen = pid
        while seen in parents and seen != me:
            seen = parents[seen]
        if seen == me and pid != me:
            total += rss[pid]
    return total

def sample():
    global peak
    while not done.wait(0.05):
        peak = max(peak, tree_rss())

if os.path.isdir("/proc"):
    threading.Thread(target=sample, daemon=True).start()
start = time.perf_counter()
for argv, accepted in json.loads(sys.argv[1]):
    status = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if status.returncode not in accepted:
        sys.exit(f"exit {status.returncode}: {argv}\\n{status.stderr[-2000:]}")
seconds = time.perf_counter() - start
done.set()
children = resource.getrusage(resource.RUSAGE_CHILDREN)
largest = children.ru_maxrss * 1024
print(json.dumps([seconds, max(peak, largest), children.ru_utime + children.ru_stime]))
"""


@dataclass(frozen=True)
class Command:
    argv: list[str]
    accepted: tuple[int, ...] = (0,)  # the gate exits 1 when a policy fails: still a measurement


@dataclass
class Variant:
    name: str
    commands: list[Command]
    prepare: Callable[[], None] | None = None  # untimed, before every measurement
    cwd: Path | None = None
    env: dict[str, str] = field(default_factory=dict)
    seconds: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # CPU seconds of every process the commands ran
    peak_mib: float = 0.0

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def median_cpu(self) -> float:
        return statistics.median(self.cpu)


@dataclass
class Group:
    title: str
    reference: str
    variants: list[Variant]
    note: str = ""

    def variant(self, name: str) -> Variant:
        return next(v for v in self.variants if v.name == name)


@dataclass(frozen=True)
class Target:
    text: str  # the target as docs/performance.md states it
    measured: str
    met: bool


def cmd(*argv: str, accepted: tuple[int, ...] = (0,)) -> Command:
    return Command(list(argv), accepted)


class Bench:
    """One synthetic repository, measured; its groups of variants and the targets."""

    def __init__(self, repo: Path, services: list[str], env: dict[str, str], cores: int) -> None:
        self.repo = repo
        self.services = services
        self.env = env
        self.cores = cores
        self.first = services[0]

    def run_untimed(self, *argv: str, cwd: Path | None = None, accepted: tuple[int, ...] = (0,)) -> None:
        proc = subprocess.run(
            argv, cwd=cwd or self.repo, env=self.env, capture_output=True, text=True, check=False
        )
        if proc.returncode not in accepted:
            raise SystemExit(
                f"bench setup failed: {' '.join(argv)}\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}"
            )

    def clear(self, *relative: str) -> Callable[[], None]:
        """Delete these, and put the combined data back (a service's run retires it)."""

        def prepare() -> None:
            saved = self.repo / SAVED_COMBINED
            if saved.exists():
                shutil.copy2(saved, self.repo / COMBINED)
            for name in relative:
                path = self.repo / name
                if path.is_dir():
                    shutil.rmtree(path)
                elif path.exists():
                    path.unlink()

        return prepare

    def measure(self, variant: Variant) -> None:
        if variant.prepare:
            variant.prepare()
        proc = subprocess.run(
            [PY, "-c", MEASURE, json.dumps([[c.argv, list(c.accepted)] for c in variant.commands])],
            cwd=variant.cwd or self.repo,
            env={**self.env, **variant.env},
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode:
            raise SystemExit(f"{variant.name}: {proc.stderr.strip()}")
        seconds, peak_bytes, cpu = json.loads(proc.stdout)
        variant.seconds.append(float(seconds))
        variant.cpu.append(float(cpu))
        variant.peak_mib = max(variant.peak_mib, peak_bytes / 2**20)

    # The groups ---------------------------------------------------------------------

    def measuring(self) -> Group:
        isolated = [cmd(*KIT_CMD, "run", name) for name in self.services]
        whole = [*PYTEST, "--cov=src", "--cov-branch", "--cov-report="]
        alone = f"{self.first} alone"
        # Runs overwrite their own data files; the combined file the other groups read is kept.
        clear_data = self.clear(".coverage")
        return Group(
            "Measuring every service",
            reference=WHOLE,
            variants=[
                Variant(PLAIN, [cmd(*PYTEST)], clear_data),
                Variant(WHOLE, [cmd(*whole)], clear_data),
                Variant(ISOLATED, isolated, clear_data),
                Variant(SIDE_BY_SIDE, [cmd(*KIT_CMD, "run-all", "--jobs", str(self.cores))], clear_data),
                Variant(XDIST, [cmd(*whole, "-n", str(self.cores))], clear_data),
                Variant(alone, [cmd(*KIT_CMD, "run", self.first)], clear_data),
                Variant(
                    f"{self.first} in {self.cores} shards side by side",
                    [
                        cmd(
                            *KIT_CMD,
                            "run-all",
                            self.first,
                            "--jobs",
                            str(self.cores),
                            "--shards",
                            str(self.cores),
                        )
                    ],
                    clear_data,
                ),
            ],
            note="Isolated runs measure every service's sources under the service's static context "
            "(what the masking matrix needs); the whole-suite runs are pytest-cov over src/.",
        )

    def reporting(self) -> Group:
        cli = [
            coverage_cli("report"),
            coverage_cli("json", "-o", f"{REPORT_DIR}/coverage.json"),
            coverage_cli("xml", "-o", f"{REPORT_DIR}/coverage.xml"),
            coverage_cli("lcov", "-o", f"{REPORT_DIR}/coverage.lcov"),
            coverage_cli("html", "-d", f"{REPORT_DIR}/html"),
        ]
        fresh = self.clear("reports", ".coverage-data/cache", REPORT_DIR)
        cli_formats = [*KIT_CMD, "report", *(f"--format={f}" for f in ("html", "xml", "json", "lcov"))]

        def first_then_again() -> None:
            fresh()
            self.run_untimed(*cli_formats)

        def cached_parse_only() -> None:
            # As after a service ran again: the parse of every file is cached, but nothing
            # vouches for the published reports, so every format is written anew.
            first_then_again()
            (self.repo / "reports" / ".made-from.json").unlink()

        return Group(
            "Reporting (every format from the combined data)",
            reference=CLI_SEQUENCE,
            variants=[
                Variant(CLI_SEQUENCE, cli, fresh),
                Variant(CLI_HTML, [cli[-1]], fresh),
                Variant(REPORT_FIRST, [cmd(*cli_formats)], fresh),
                Variant(REPORT_EVERYTHING, [cmd(*KIT_CMD, "report")], fresh),
                Variant(REPORT_SECOND, [cmd(*cli_formats)], cached_parse_only),
                Variant(REPORT_UNCHANGED, [cmd(*cli_formats)], first_then_again),
                Variant(FRESHNESS_BASE, [cmd(PY, "-c", LOAD_MANIFEST)]),
                Variant(FRESHNESS, [cmd(PY, "-c", CHECK_FRESHNESS)]),
            ],
            note="`report` with the CLI's formats writes HTML (with the services behind each line), "
            "Cobertura XML, JSON and LCOV, and prints the per-service figures and the masking matrix; "
            "every format adds per-service HTML and XML, Markdown, badges, editor files and the dashboard. "
            "First: no analysis cache, no earlier reports.",
        )

    def gating(self) -> Group:
        cold = self.clear(".coverage-data/cache", "reports/.made-from.json", REPORT_DIR)
        gate = [*KIT_CMD, "gate"]

        def warm() -> None:
            cold()
            self.run_untimed(*gate, accepted=(0, 1))

        def parse_cached() -> None:
            # As in the pipeline: `report` (in CI) or the services' runs (locally) went first
            # and left the parse of the sources in the cache.
            cold()
            self.run_untimed(*gate, "--policy=changed", accepted=(0, 1))

        return Group(
            "Gating (the change on `change` against `main`)",
            reference=DIFF_COVER,
            variants=[
                Variant(
                    DIFF_COVER,
                    [
                        cmd(
                            PY,
                            "-m",
                            "coverage",
                            "xml",
                            f"--data-file={COMBINED}",
                            "-o",
                            "diff.xml",
                        ),
                        cmd(PY, "-m", "diff_cover.diff_cover_tool", "diff.xml", "--compare-branch=main"),
                    ],
                    cold,
                ),
                Variant(GATE_CHANGED, [cmd(*gate, "--policy=changed", accepted=(0, 1))], cold),
                Variant(GATE_CHANGED_CACHED, [cmd(*gate, "--policy=changed", accepted=(0, 1))], parse_cached),
                Variant(GATE_FIRST, [cmd(*gate, accepted=(0, 1))], cold),
                Variant(GATE_SECOND, [cmd(*gate, accepted=(0, 1))], warm),
            ],
            note="The gate exits 1 here (the change's guards are not covered): a verdict, "
            "measured like a pass.",
        )

    def overhead(self) -> Group:
        direct = f"{self.first}: python -m tasks run (what the session runs, in its environment)"
        # Every service of the synthetic repository installs the same (nothing): one environment.
        session_python = str(self.repo / ".nox" / "shared-env" / "bin" / "python")
        return Group(
            "Nox session overhead",
            reference=direct,
            variants=[
                Variant(direct, [cmd(session_python, "-m", "tasks", "run", self.first)]),
                Variant(NOX_REUSED, [cmd(PY, "-m", "nox", "-R", "-s", f"coverage-{self.first}")]),
            ],
        )

    def carrying(self) -> Group:
        """A change inside one service: every service run again, against `affected`, the
        services it names run again, and the others' data carried (combine checks it)."""
        listed = subprocess.run(
            [*KIT_CMD, "affected", "--base", "main", "--json"],
            cwd=self.repo,
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        )
        chosen = json.loads(listed.stdout)["affected"]

        def base_data() -> None:
            shutil.rmtree(self.repo / ".coverage-data", ignore_errors=True)
            shutil.copytree(self.repo / AFFECTED_DATA, self.repo / ".coverage-data")

        affected = cmd(*KIT_CMD, "affected", "--base", "main")
        full = f"every service run again ({len(self.services)}), then combine"
        return Group(
            "A change inside one service: affected and carried forward",
            reference=full,
            variants=[
                Variant(
                    full,
                    [*(cmd(*KIT_CMD, "run", s) for s in self.services), cmd(*KIT_CMD, "combine")],
                    base_data,
                ),
                Variant(
                    f"affected, its {len(chosen)} service(s) run again ({', '.join(chosen)}), "
                    "the rest carried, combine",
                    [affected, *(cmd(*KIT_CMD, "run", s) for s in chosen), cmd(*KIT_CMD, "combine")],
                    base_data,
                ),
                Variant(AFFECTED_ALONE, [affected], base_data),
            ],
            note=f"The change adds a function to src/{self.services[-1]}/mod000.py. Runs one after another; "
            "CPU is the CPU seconds of every process the commands started.",
        )

    def setting_up(self) -> Group:
        """Fresh session environments (`nox --install-only` after removing .nox) for one
        service's session, and for every service's: the services install the same packages,
        so the second builds the one environment the first does."""
        one = f"environment for coverage-{self.first}, fresh"
        every = f"environments for all {len(self.services)} coverage sessions, fresh"
        sessions = [f"coverage-{name}" for name in self.services]
        backend = "uv" if shutil.which("uv") else "virtualenv"
        return Group(
            "Setting up the session environments",
            reference=one,
            variants=[
                Variant(one, [cmd(PY, "-m", "nox", "--install-only", "-s", sessions[0])], self.clear(".nox")),
                Variant(every, [cmd(PY, "-m", "nox", "--install-only", "-s", *sessions)], self.clear(".nox")),
            ],
            note=f"nox built the environments with {backend}; the package cache was warm (a fresh CI "
            "runner downloads the packages once more, for one environment either way).",
        )

    def combining(self) -> Group:
        variants = []
        for count in shards.COUNTS:
            manifest = shards.manifest_path(count)
            variants.append(
                Variant(
                    combine_name(count),
                    [cmd(*KIT_CMD, "--manifest", manifest, "combine")],
                    self.clear(f"{shards.data_dir(count)}/combined"),
                )
            )
        return Group("Combining shard files", reference=combine_name(shards.COUNTS[0]), variants=variants)

    def loading(self, count: int) -> Group:
        """Combine and gate where a big monorepo's CI meets them: thousands of files, in
        `count` shard files. The peak memory column is the point: both must fit a runner."""
        manifest = shards.manifest_path(count)
        combined = f"{shards.data_dir(count)}/combined"
        saved = f"{SAVED_COMBINED}-{count}"
        files = sum(1 for _ in (self.repo / "src").rglob("*.py"))
        self.run_untimed(*KIT_CMD, "--manifest", manifest, "combine")
        shutil.copy2(self.repo / combined, self.repo / saved)

        def combined_again() -> None:
            shutil.copy2(self.repo / saved, self.repo / combined)
            shutil.rmtree(self.repo / shards.data_dir(count) / "cache", ignore_errors=True)

        combine = Variant(
            f"combine {count} shard files of {files:,} source files",
            [cmd(*KIT_CMD, "--manifest", manifest, "combine")],
            self.clear(combined),
            cwd=self.repo,  # run() measures every group from the main repository: run in this one
        )
        gate = Variant(
            f"gate, every policy, on those {files:,} files (no analysis cache)",
            [cmd(*KIT_CMD, "--manifest", manifest, "gate", accepted=(0, 1))],
            combined_again,
            cwd=self.repo,
        )
        return Group(
            f"Load: {files:,} source files in {count} shards",
            reference=combine.name,
            variants=[combine, gate],
            note=f"{len(self.services)} services; the shard files are cut from each service's real data, "
            "as for the combining group. The gate diffs the change on `change` against `main`.",
        )

    def crowd(self, *, unforked: bool) -> Group:
        """Many small services: the kit's isolated runs (forked, and each a new process)
        against one whole-suite coverage run, and its combine and report against
        coverage.py's own on the same data."""
        count = len(self.services)
        restore = self.clear(f"{MANY_CLI_DATA}", "reports", ".coverage-data/cache", REPORT_DIR)

        def cli_inputs() -> None:
            restore()
            folder = self.repo / MANY_CLI_DATA
            folder.mkdir()
            for service in self.services:
                shutil.copy2(self.repo / ".coverage-data" / service, folder / f"combined.{service}")

        variants = [
            Variant(
                f"{count}: {MANY_WHOLE}",
                [
                    cmd(
                        PY,
                        "-m",
                        "coverage",
                        "run",
                        "--branch",
                        "--source=src",
                        "--data-file=.coverage-whole",
                        "-m",
                        "pytest",
                        "-q",
                        "tests",
                    )
                ],
                restore,
                cwd=self.repo,
            ),
            Variant(f"{count}: {MANY_FORKED}", [cmd(*KIT_CMD, "run-all")], restore, cwd=self.repo),
        ]
        if unforked:
            variants.append(
                Variant(
                    f"{count}: {MANY_UNFORKED}",
                    [cmd(*KIT_CMD, "--manifest", many.UNFORKED, "run-all")],
                    restore,
                    cwd=self.repo,
                )
            )
        variants += [
            Variant(
                f"{count}: {MANY_CLI_COMBINE}",
                [
                    cmd(
                        PY,
                        "-m",
                        "coverage",
                        "combine",
                        "--keep",
                        f"--rcfile={RCFILE}",
                        f"--data-file={MANY_CLI_DATA}/combined",
                        MANY_CLI_DATA,
                    )
                ],
                cli_inputs,
                cwd=self.repo,
            ),
            Variant(
                f"{count}: {MANY_COMBINE}", [cmd(*KIT_CMD, "combine")], self.clear(COMBINED), cwd=self.repo
            ),
            Variant(
                f"{count}: {CLI_HTML}",
                [coverage_cli("html", "-d", f"{REPORT_DIR}/html")],
                restore,
                cwd=self.repo,
            ),
            Variant(f"{count}: {MANY_REPORT}", [cmd(*KIT_CMD, "report")], restore, cwd=self.repo),
        ]
        return Group(
            f"{count} small services",
            reference=f"{count}: {MANY_WHOLE}",
            variants=variants,
            note=f"Each service: a module of {many.FUNCTIONS} functions and one test that runs most of them "
            "and one of the next service's. The runs go side by side, one per core (run-all's default, "
            f"many as the cores: {self.cores}); the whole-suite run is one process.",
        )

    def matrix_group(self) -> Group:
        name = f"matrix of {many.MATRIX_SERVICES:,} services into {many.MATRIX_RUNNERS} runners"
        argv = [*KIT_CMD, "--manifest", many.MATRIX_MANIFEST, "matrix", "--listing", many.MATRIX_LISTING]
        return Group(
            "The CI matrix at 1,000 services",
            reference=name,
            variants=[Variant(name, [cmd(*argv)], cwd=self.repo)],
        )

    def cores_group(self) -> Group | None:
        """Tracing cores on this interpreter: ctrace (C tracer) and sysmon (sys.monitoring)."""
        if sys.version_info < (3, 12):
            return None
        tests = f"tests/{self.first}"
        base = [PY, "-m", "coverage", "run", f"--source=src/{self.first}", "--data-file=.coverage-cores"]
        variants = [Variant(f"{self.first}: plain pytest", [cmd(*PYTEST, tests)])]
        notes = []
        for core in ("ctrace", "sysmon"):
            for branch in (False, True):
                argv = [
                    *base,
                    *(["--branch"] if branch else []),
                    "-m",
                    "pytest",
                    "-q",
                    "-p",
                    "no:cacheprovider",
                ]
                name = f"{self.first}: {core}, {'line and branch' if branch else 'line only'}"
                fallback = self.fallback(core, [*argv, tests])
                if fallback:
                    notes.append(f"{name}: {fallback}")
                    name += " (falls back to ctrace)"
                variants.append(Variant(name, [cmd(*argv, tests)], env={"COVERAGE_CORE": core}))
        return Group(
            f"Tracing cores, Python {sys.version.split()[0]}",
            reference=f"{self.first}: ctrace, line and branch",
            variants=variants,
            note=" ".join(notes),
        )

    def fallback(self, core: str, argv: list[str]) -> str:
        """What coverage.py says when it cannot use `core` with these settings (falls back)."""
        proc = subprocess.run(
            argv,
            cwd=self.repo,
            env={**self.env, "COVERAGE_CORE": core},
            capture_output=True,
            text=True,
            check=False,
        )
        said = [
            line
            for line in (proc.stdout + proc.stderr).splitlines()
            if "CoverageWarning" in line or "core" in line
        ]
        return said[0].strip() if said else ""


PLAIN = "plain pytest, no coverage"
WHOLE = "whole suite, one pytest --cov run"
ISOLATED = "every service isolated, one after another"
SIDE_BY_SIDE = "every service isolated, side by side"
XDIST = "whole suite, pytest --cov with xdist workers"
CLI_SEQUENCE = "coverage.py CLI: report, json, xml, lcov, html"
CLI_HTML = "coverage.py CLI: html alone"
REPORT_FIRST = "report: the CLI's formats + per-service figures, first"
REPORT_EVERYTHING = "report: every format, first"
REPORT_SECOND = "report: the CLI's formats again, sources unchanged (parse cached, formats rewritten)"
REPORT_UNCHANGED = "report: the CLI's formats again, nothing changed (formats reused)"
FRESHNESS_BASE = "load the manifest (what the next row adds to)"
FRESHNESS = "load the manifest + check the data against the code (digests)"
# The freshness check on its own, in a process that does nothing else: its cost is the
# difference between the two rows (interpreter start and imports are common to both).
LOAD_MANIFEST = "from tasks.config import loader; m = loader.load()"
CHECK_FRESHNESS = (
    f"{LOAD_MANIFEST}; from tasks.measure import freshness; "
    "freshness.check(m, m.data_dir / 'combined', allow_stale=True)"
)
DIFF_COVER = "coverage xml + diff-cover"
GATE_CHANGED = "gate --policy changed, first (no analysis cache)"
GATE_CHANGED_CACHED = "gate --policy changed, parse cached (as after report or the runs)"
GATE_FIRST = "gate, every policy, first"
GATE_SECOND = "gate, every policy, again"
NOX_REUSED = "nox -R -s coverage-<service>"
LOAD_SHARDS = 300  # the load group: hundreds of shards over synth.LOAD's thousands of files
# The tiny size checks that every group still runs (tests/test_bench.py): a load that is none.
LOAD_BY_SIZE = {"tiny": (synth.Size(services=2, modules=6, functions=2, work=5, tested=0.7), 12)}


MANY_WHOLE = "whole suite, one coverage run"
MANY_FORKED = "every service isolated, run-all, forked (fork server)"
MANY_UNFORKED = "every service isolated, run-all, each a new process"
MANY_CLI_COMBINE = "coverage combine of the services' data files"
MANY_COMBINE = "combine (the kit)"
MANY_REPORT = "report, every format (the kit)"
MANY_CLI_DATA = "bench-cli-data"  # the services' data files, copied for coverage combine
MANY_COUNTS = {"tiny": (4, 6)}  # services in the many group's repositories, by --size
MANY_DEFAULT_COUNTS = (120, 300)


def combine_name(count: int) -> str:
    return f"combine {count} shard files"


def targets(groups: dict[str, Group]) -> list[Target]:
    """Every target of the issue that this run measured, with the figure and the verdict."""
    found: list[Target] = []

    def median(group: str, name: str) -> float | None:
        chosen = groups.get(group)
        if chosen is None:
            return None
        variant = next((v for v in chosen.variants if v.name == name), None)
        return variant.median if variant and variant.seconds else None

    def ratio(text: str, group: str, top: str, bottom: str, limit: float, *, at_least: bool = False) -> None:
        a, b = median(group, top), median(group, bottom)
        if a is None or b is None:
            return
        value = a / b
        met = value >= limit if at_least else value <= limit
        found.append(Target(text, f"{value:.2f}x", met))

    def speedup(text: str, group: str, slow: str, fast: str, limit: float) -> None:
        a, b = median(group, slow), median(group, fast)
        if a is None or b is None:
            return
        found.append(Target(text, f"{a / b:.1f}x faster", a / b >= limit))

    ratio(
        "isolated with provenance ≤ 1.05x one whole-suite pytest --cov run",
        "measuring",
        ISOLATED,
        WHOLE,
        1.05,
    )
    ratio("services side by side ≤ 0.6x one after another", "measuring", SIDE_BY_SIDE, ISOLATED, 0.6)
    ratio(
        "services side by side ≤ 1.0x pytest-xdist on the same cores", "measuring", SIDE_BY_SIDE, XDIST, 1.0
    )
    measuring = groups.get("measuring")
    if measuring and measuring.variants[0].seconds:
        side, xdist = measuring.variant(SIDE_BY_SIDE), measuring.variant(XDIST)
        share = side.peak_mib / xdist.peak_mib
        found.append(
            Target(
                "services side by side: peak memory a fraction of xdist's (< 1.0x)",
                f"{share:.2f}x",
                share < 1,
            )
        )
    speedup("one report ≥ 2.5x faster than the CLI sequence", "reporting", CLI_SEQUENCE, REPORT_FIRST, 2.5)
    ratio("one report ≤ 1.3x coverage html alone", "reporting", REPORT_FIRST, CLI_HTML, 1.3)
    speedup(
        "second report on unchanged sources ≥ 3x faster than the first",
        "reporting",
        REPORT_FIRST,
        REPORT_SECOND,
        3,
    )
    base, checked, first = (median("reporting", name) for name in (FRESHNESS_BASE, FRESHNESS, REPORT_FIRST))
    if base is not None and checked is not None and first is not None:
        share = max(checked - base, 0.0) / first
        found.append(Target("the freshness check adds < 5% to a first report", f"{share:.1%}", share < 0.05))
    reporting = groups.get("reporting")
    if reporting and reporting.variants[0].seconds:
        peak = max(reporting.variant(REPORT_FIRST).peak_mib, reporting.variant(REPORT_EVERYTHING).peak_mib)
        found.append(
            Target("report peak memory ≤ 1 GiB (target at the large size)", f"{peak:.0f} MiB", peak <= 1024)
        )
    speedup(
        "changed-line gate ≥ 20x faster than coverage xml + diff-cover",
        "gating",
        DIFF_COVER,
        GATE_CHANGED_CACHED,
        20,
    )
    speedup(
        "changed-line gate with no analysis cache ≥ 20x faster than coverage xml + diff-cover",
        "gating",
        DIFF_COVER,
        GATE_CHANGED,
        20,
    )
    speedup(
        "second gate on unchanged sources ≥ 3x faster than the first", "gating", GATE_FIRST, GATE_SECOND, 3
    )
    overhead = groups.get("overhead")
    if overhead and overhead.variants[0].seconds:
        extra = overhead.variants[1].median - overhead.variants[0].median
        found.append(
            Target(
                "nox -R overhead < 0.3 s over the same command run directly", f"{extra:+.2f} s", extra < 0.3
            )
        )
    setup = groups.get("setup")
    if setup and setup.variants[0].seconds:
        one, every = setup.variants[0].median, setup.variants[1].median
        found.append(
            Target(
                f"{setup.variants[1].name} <= 1.3x one service's", f"{every / one:.2f}x", every <= 1.3 * one
            )
        )
    load = groups.get("load")
    if load and load.variants[0].seconds:
        peak = max(v.peak_mib for v in load.variants)
        found.append(Target(f"{load.title}: combine and gate within 1 GiB", f"{peak:.0f} MiB", peak <= 1024))
    carrying = groups.get("affected")
    if carrying and carrying.variants[0].seconds:
        full, carry = carrying.variants[0].median_cpu, carrying.variants[1].median_cpu
        found.append(
            Target("affected + carried, CPU seconds against a full run", f"{carry / full:.2f}x", carry < full)
        )
        seconds = carrying.variant(AFFECTED_ALONE).median
        found.append(Target("affected itself < 1 s", f"{seconds:.2f} s", seconds < 1))
    for key in sorted(key for key in groups if key.startswith("many-") and key[5:].isdigit()):
        count = int(key[5:])
        ratio(
            f"{count} services: isolated runs with the fork server ≤ 3x one whole-suite coverage run",
            key,
            f"{count}: {MANY_FORKED}",
            f"{count}: {MANY_WHOLE}",
            3,
        )
        speedup(
            f"{count} services: the fork server faster than a new process per run",
            key,
            f"{count}: {MANY_UNFORKED}",
            f"{count}: {MANY_FORKED}",
            1,
        )
        ratio(
            f"{count} services: combine ≤ 2x coverage combine",
            key,
            f"{count}: {MANY_COMBINE}",
            f"{count}: {MANY_CLI_COMBINE}",
            2,
        )
        ratio(
            f"{count} services: report (every format) ≤ 1.5x coverage html alone",
            key,
            f"{count}: {MANY_REPORT}",
            f"{count}: {CLI_HTML}",
            1.5,
        )
    matrix = groups.get("many-matrix")
    if matrix and matrix.variants[0].seconds:
        seconds = matrix.variants[0].median
        found.append(Target(f"{matrix.variants[0].name} < 2 s", f"{seconds:.2f} s", seconds < 2))
    hundred = median("combining", combine_name(100))
    if hundred is not None:
        found.append(Target("combine of 100 shard files < 1 s", f"{hundred:.2f} s", hundred < 1))
    return found


def run(size_name: str, repeat: int, chosen: list[str], out_dir: Path) -> dict[str, object]:
    size = synth.SIZES[size_name]
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    env = dict(os.environ)
    bytecode_note = (
        "PYTHONDONTWRITEBYTECODE unset for the measured processes (it is set in this shell)"
        if env.pop("PYTHONDONTWRITEBYTECODE", None)
        else "PYTHONDONTWRITEBYTECODE not set"
    )
    env.pop("COVERAGE_CORE", None)
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        repo = Path(scratch) / "repo"
        services = synth.generate(repo, size, git=True)
        install_kit(repo)
        bench = Bench(repo, services, env, cores)
        groups = build_groups(bench, chosen)
        compiled = [repo]
        if "load" in chosen:
            load_size, load_shards = LOAD_BY_SIZE.get(size_name, (synth.LOAD, LOAD_SHARDS))
            load = build_load(Path(scratch) / "load", env, cores, load_size, load_shards)
            groups["load"] = load.loading(load_shards)
            compiled.append(load.repo)
        if "affected" in chosen:
            one_service = build_affected(Path(scratch) / "affected", env, cores, size)
            groups["affected"] = one_service.carrying()
            compiled.append(one_service.repo)
        if "many" in chosen:
            for index, count in enumerate(MANY_COUNTS.get(size_name, MANY_DEFAULT_COUNTS)):
                crowd = build_many(Path(scratch) / f"many-{count}", env, cores, count)
                groups[f"many-{count}"] = crowd.crowd(unforked=index == 0)  # a new process each: slow
                compiled.append(crowd.repo)
            groups["many-matrix"] = crowd.matrix_group()
        compile_everything(*compiled)
        for key, group in groups.items():
            if key in LONG_GROUPS:
                continue  # seconds-long variants: the compiled bytecode is all a warm-up would give
            for variant in group.variants:  # warm-up, not counted: files cached, first-run costs paid
                bench.measure(variant)
                variant.seconds.clear()
                variant.cpu.clear()
                variant.peak_mib = 0.0
        for round_index in range(repeat):
            for group in groups.values():
                shift = round_index % len(group.variants)
                for variant in group.variants[shift:] + group.variants[:shift]:
                    bench.measure(variant)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=KIT, capture_output=True, text=True, check=False
    ).stdout.strip()
    report = {
        "size": size_name,
        "shape": asdict(size),
        "repeat": repeat,
        "cores": cores,
        "bytecode": bytecode_note,
        "commit": commit or "unknown",
        "python": sys.version.split()[0],
        "groups": [
            {
                "key": key,
                "title": group.title,
                "reference": group.reference,
                "note": group.note,
                "results": [
                    {
                        "name": v.name,
                        "seconds": v.seconds,
                        "median": v.median,
                        "ratio": v.median / group.variant(group.reference).median,
                        "cpu_median": v.median_cpu,
                        "peak_mib": v.peak_mib,
                    }
                    for v in group.variants
                ],
            }
            for key, group in groups.items()
        ],
        "targets": [asdict(t) for t in targets(groups)],
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = result_stem(size_name, chosen)  # ends in the Python version: no with_suffix
    (out_dir / f"{stem}.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (out_dir / f"{stem}.md").write_text(markdown(report), encoding="utf-8")
    return report


GROUPS = (
    "measuring",
    "reporting",
    "gating",
    "overhead",
    "setup",
    "combining",
    "load",
    "cores",
    "affected",
    "many",
)


def build_groups(bench: Bench, chosen: list[str]) -> dict[str, Group]:
    """Set the repository up for the chosen groups (untimed) and return them."""
    groups: dict[str, Group] = {}
    if "measuring" in chosen:
        groups["measuring"] = bench.measuring()
    if {"reporting", "gating", "combining"} & set(chosen):
        # One measured and combined repository serves reporting, gating and the shard files.
        bench.run_untimed(*KIT_CMD, "run-all", "--jobs", str(bench.cores))
        bench.run_untimed(*KIT_CMD, "combine")
        shutil.copy2(bench.repo / COMBINED, bench.repo / SAVED_COMBINED)
    if "reporting" in chosen:
        groups["reporting"] = bench.reporting()
    if "gating" in chosen:
        groups["gating"] = bench.gating()
    if "overhead" in chosen:
        bench.run_untimed(PY, "-m", "nox", "-s", f"coverage-{bench.first}")  # creates the session's venv
        groups["overhead"] = bench.overhead()
    if "setup" in chosen:
        groups["setup"] = bench.setting_up()
    if "combining" in chosen:
        shards.write_all(bench.repo, bench.services)
        groups["combining"] = bench.combining()
    if "cores" in chosen:
        cores = bench.cores_group()
        if cores is not None:
            groups["cores"] = cores
    return groups


LONG_GROUPS = (
    "measuring",
    "reporting",
    "load",
    "affected",
    *(f"many-{count}" for counts in (*MANY_COUNTS.values(), MANY_DEFAULT_COUNTS) for count in counts),
)  # no uncounted warm-up round (it would take minutes)


def build_load(
    repo: Path, env: dict[str, str], cores: int, size: synth.Size = synth.LOAD, count: int = LOAD_SHARDS
) -> Bench:
    """The load group's own repository, whatever --size: every service run once for real,
    and its data cut into `count` shard files (untimed)."""
    services = synth.generate(repo, size, git=True)
    install_kit(repo)
    load = Bench(repo, services, env, cores)
    load.run_untimed(*KIT_CMD, "run-all", "--jobs", str(cores))
    shards.write(repo, services, count)
    return load


def build_many(repo: Path, env: dict[str, str], cores: int, count: int) -> Bench:
    """A repository of `count` small services (many.py), every service run and combined
    once (untimed): the data the combine and report variants start from."""
    services = many.generate(repo, count)
    install_kit(repo)
    crowd = Bench(repo, services, env, cores)
    crowd.run_untimed(*KIT_CMD, "run-all")
    crowd.run_untimed(*KIT_CMD, "combine")
    shutil.copy2(repo / COMBINED, repo / SAVED_COMBINED)
    return crowd


AFFECTED_DATA = "bench-base-data"  # the base's data, measured once on main


def build_affected(repo: Path, env: dict[str, str], cores: int, size: synth.Size) -> Bench:
    """The affected group's own repository: the kit committed on main, every service
    measured there, then on `one` a change inside the last service (a function added)."""
    services = synth.generate(repo, size, git=True)
    bench = Bench(repo, services, env, cores)
    bench.run_untimed("git", "checkout", "-q", "main")
    install_kit(repo)
    with (repo / ".gitignore").open("a", encoding="utf-8") as ignore:
        ignore.write(f"{AFFECTED_DATA}/\n")
    bench.run_untimed("git", "add", "-A")
    bench.run_untimed(
        "git", "-c", "user.name=bench", "-c", "user.email=bench@localhost", "commit", "-qm", "kit"
    )
    bench.run_untimed(*KIT_CMD, "run-all", "--jobs", str(cores))
    shutil.copytree(repo / ".coverage-data", repo / AFFECTED_DATA, ignore=shutil.ignore_patterns("combined*"))
    bench.run_untimed("git", "checkout", "-q", "-b", "one")
    changed = repo / "src" / services[-1] / "mod000.py"
    changed.write_text(changed.read_text(encoding="utf-8") + "\n\ndef added(x):\n    return x + 1\n")
    bench.run_untimed(
        "git", "-c", "user.name=bench", "-c", "user.email=bench@localhost", "commit", "-qam", "one"
    )
    return bench


def compile_everything(*repos: Path) -> None:
    """Write the bytecode of everything the measured processes import, as a first run
    would: this environment's packages, the kit and the repositories. (The nox session's
    own environment is warmed by the overhead group's uncounted round.)"""
    folders = [Path(sysconfig.get_paths()["purelib"])]
    folders += [repo / name for repo in repos for name in ("tasks", "src", "tests")]
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "-j", "0", *map(str, folders)],
        capture_output=True,
        check=False,  # a file that does not compile is compiled (or not) by its first import
    )


def install_kit(repo: Path) -> None:
    """The kit inside the repository it measures: tasks/, the noxfile, and the dependency
    groups its sessions install (not the kit's own pytest settings)."""
    shutil.copytree(KIT / "tasks", repo / "tasks", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(KIT / "noxfile.py", repo / "noxfile.py")
    kit_project = tomlkit.parse((KIT / "pyproject.toml").read_text(encoding="utf-8"))
    project = tomlkit.document()
    project["dependency-groups"] = kit_project["dependency-groups"]
    (repo / "pyproject.toml").write_text(tomlkit.dumps(project), encoding="utf-8")
    (repo / RCFILE).write_text("[run]\nrelative_files = true\n", encoding="utf-8")
    with (repo / ".gitignore").open("a", encoding="utf-8") as ignore:
        ignore.write(f"{REPORT_DIR}/\ndiff.xml\n.coverage*\n{RCFILE}\n{SAVED_COMBINED}\n")


def result_stem(size_name: str, chosen: list[str]) -> str:
    name = f"bench-{size_name}"
    if chosen != list(GROUPS):
        name += "-" + "-".join(chosen)
    return f"{name}-py{sys.version_info.major}.{sys.version_info.minor}"


def markdown(report: dict[str, object]) -> str:
    shape = report["shape"]
    assert isinstance(shape, dict)
    lines = [
        f"Bench `{report['size']}` ({shape['services']} services x {shape['modules']} modules x "
        f"{shape['functions']} functions), {report['repeat']} rounds alternating, {report['cores']} cores, "
        f"Python {report['python']}, commit {report['commit']}; {report['bytecode']}.",
        "",
    ]
    groups = report["groups"]
    assert isinstance(groups, list)
    for group in groups:
        lines += [f"### {group['title']}", ""]
        lines += ["| variant | median | min-max | ratio | CPU | peak RSS |", "|---|---:|---:|---:|---:|---:|"]
        for r in group["results"]:
            marker = " (reference)" if r["name"] == group["reference"] else ""
            lines.append(
                f"| {r['name']}{marker} | {r['median']:.2f} s "
                f"| {min(r['seconds']):.2f}-{max(r['seconds']):.2f} s "
                f"| {r['ratio']:.2f}x | {r['cpu_median']:.2f} s | {r['peak_mib']:.0f} MiB |"
            )
        if group["note"]:
            lines += ["", group["note"]]
        lines.append("")
    found = report["targets"]
    assert isinstance(found, list)
    if found:
        lines += ["### Targets", "", "| target | measured | met |", "|---|---:|---|"]
        lines += [f"| {t['text']} | {t['measured']} | {'yes' if t['met'] else '**no**'} |" for t in found]
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", choices=sorted(synth.SIZES), default="medium")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--group", action="append", choices=GROUPS, help="only these groups (repeatable; default: all)"
    )
    parser.add_argument("--out", type=Path, default=KIT / "reports" / "bench")
    args = parser.parse_args()
    chosen = [g for g in GROUPS if g in (args.group or GROUPS)]
    report = run(args.size, max(1, args.repeat), chosen, args.out)
    print(markdown(report), end="")
    print(f"\nwrote {args.out / result_stem(args.size, chosen)}.json and .md")


if __name__ == "__main__":
    main()
