"""`stability`: run a service's tests several times and list the lines whose coverage changes.

A line covered in one run and not the next (a test that depends on time, order, random
data or the network) makes figures jitter and can fail a gate for no change of code. The
runs record each test's name in the context, so each flaky line comes with the tests that
ran it. Lines declared noisy in the manifest (`gate.noisy`) are shown as such and no
longer count against the result; the gate's changed-line and regression policies then
ignore them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from coverage import CoverageData
from coverage.results import Analysis

from ..analyze import combined
from ..analyze.analysis import split_context
from ..config.layout import STABILITY_DIR
from ..config.manifest import Manifest
from ..errors import ConfigError
from ..measure import coverage_internals, datafiles, runner, scratch_folders, unsaved
from ..report import render
from . import noisy, policies

DEFAULT_RUNS = 2
MAX_RUNS = 20
MAX_TESTS_SHOWN = 5


@dataclass(frozen=True, kw_only=True)
class FlakyLine:
    path: str  # relative to the project
    service: str | None  # the file's owner
    line: int
    kind: str  # "line": run in some runs only; "branch": its taken exits change
    covered_in: tuple[int, ...]  # run numbers (from 1) that ran the line
    tests: tuple[str, ...]  # tests that ran the line in any run
    declared: bool  # already declared noisy in the manifest


@dataclass(frozen=True, kw_only=True)
class Stability:
    service: str
    runs: int
    failed_runs: tuple[int, ...]  # runs whose tests failed (their data is compared all the same)
    # (run, processes) for runs some of whose processes ended without saving their coverage:
    # the lines those ran count in some runs and not others, however many runs agree.
    unsaved_runs: tuple[tuple[int, int], ...] = ()
    flaky: tuple[FlakyLine, ...]
    data_files: tuple[Path, ...]

    @property
    def undeclared(self) -> list[FlakyLine]:
        return [f for f in self.flaky if not f.declared]

    @property
    def steady(self) -> bool:
        """Whether its figure is the same from run to run, as far as these runs tell."""
        return not self.undeclared and not self.unsaved_runs


def measure(manifest: Manifest, name: str, runs: int, extra: list[str], out: TextIO) -> Stability:
    if not 2 <= runs <= MAX_RUNS:
        raise ConfigError(f"--runs {runs}: compare from 2 to {MAX_RUNS} runs.")
    service = manifest.service(name)
    folder = manifest.data_dir / STABILITY_DIR
    folder.mkdir(parents=True, exist_ok=True)
    kept: list[Path] = []
    failed: list[int] = []
    unsaved_in: list[tuple[int, int]] = []  # (run, processes that ended without saving)
    for number in range(1, runs + 1):
        print(f"stability: {name} run {number} of {runs}", file=out)
        with scratch_folders.folder(manifest.data_dir, f"{name}-stability") as scratch:
            ran = runner.execute(manifest, service, extra, scratch, out, per_test=True)
            target = folder / f"{name}.run-{number}"
            datafiles.relocate(
                ran.written,
                target,
                datafiles.project_relative(manifest.project_dir, service.cwd),
                service=name,
                project_dir=manifest.project_dir,
            )
        kept.append(target)
        if ran.status != runner.PYTEST_OK:
            failed.append(number)
        if ran.processes_unsaved:
            unsaved_in.append((number, ran.processes_unsaved))
    return Stability(
        service=name,
        runs=runs,
        failed_runs=tuple(failed),
        unsaved_runs=tuple(unsaved_in),
        flaky=tuple(compare(manifest, kept)),
        data_files=tuple(kept),
    )


def compare(manifest: Manifest, data_files: Sequence[Path]) -> list[FlakyLine]:
    """Statements run in some runs and not others, and branches whose taken exits differ."""
    cov, shared = combined.open_coverage(manifest, data_files[0])  # parses each file once, for all runs
    datas = [cov.get_data(), *(datafiles.read(path, manifest.display(path)) for path in data_files[1:])]
    files = sorted(set().union(*(data.measured_files() for data in datas)))
    flaky: list[FlakyLine] = []
    for filename in files:
        absolute = (manifest.project_dir / filename).resolve()
        if not absolute.exists():
            continue
        reporter = shared.file_reporter(filename)
        analyses = [coverage_internals.analyze(cov, data, reporter) for data in datas]
        owner = manifest.owner(absolute)
        flaky += _differences(manifest, filename, absolute, owner.name if owner else None, analyses, datas)
    return flaky


def _differences(
    manifest: Manifest,
    filename: str,
    absolute: Path,
    owner: str | None,
    analyses: list[Analysis],
    datas: list[CoverageData],
) -> list[FlakyLine]:
    found = []
    branch_runs = [a.executed_branch_arcs() for a in analyses]
    contexts: list[dict[int, list[str]]] | None = None  # read once, when a line differs
    for line in sorted(analyses[0].statements):
        ran = tuple(n for n, a in enumerate(analyses, 1) if line in a.executed)
        kind = None
        if 0 < len(ran) < len(analyses):
            kind = "line"
        elif ran and analyses[0].exit_counts.get(line, 0) > 1:
            taken = [frozenset(arcs.get(line, ())) for arcs in branch_runs]
            if len(set(taken)) > 1:
                kind = "branch"
        if kind is None:
            continue
        if contexts is None:
            contexts = [data.contexts_by_lineno(filename) for data in datas]
        # Lines run at import time carry no test's name, only the service's.
        tests = {split_context(c)[1] for by_line in contexts for c in by_line.get(line, ())} - {""}
        found.append(
            FlakyLine(
                path=filename,
                service=owner,
                line=line,
                kind=kind,
                covered_in=ran,
                tests=tuple(sorted(tests)),
                declared=noisy.declared(manifest, absolute, line),
            )
        )
    return found


def spots(manifest: Manifest, flaky: Sequence[FlakyLine]) -> list[str]:
    """`gate.noisy` entries for `flaky`: paths relative to the root, lines in ranges."""
    by_file: dict[str, list[int]] = {}
    for item in flaky:
        absolute = (manifest.project_dir / item.path).resolve()
        by_file.setdefault(absolute.relative_to(manifest.root).as_posix(), []).append(item.line)
    entries = []
    for path, lines in by_file.items():
        for first, last in policies.ranges(lines, lines, ()):
            entries.append(f"{path}:{first}" if first == last else f"{path}:{first}-{last}")
    return entries


def terminal(manifest: Manifest, result: Stability) -> str:
    runs = f"{result.runs} runs"
    out = []
    if result.failed_runs:
        numbers = ", ".join(map(str, result.failed_runs))
        out.append(f"note: tests failed in run {numbers}; their coverage is compared all the same.")
    for number, processes in result.unsaved_runs:
        out.append(
            f"stability: run {number} of {result.runs}: "
            f"{unsaved.said(processes)}. Which lines "
            "count then depends on when each process was killed: no number of runs makes it steady."
        )
    if not result.flaky:
        said = f"stability: {result.service}: every line was covered the same way in all {runs}"
        if result.unsaved_runs:
            said += ", but not every process saved its coverage (above): its figure is not steady"
        out.append(f"{said}.")
        return "\n".join(out)
    header = ("File", "Line", "Kind", "Covered in", "Tests that ran it", "")
    rows: list[tuple[str, ...]] = [header]
    for item in result.flaky:
        tests = ", ".join(item.tests[:MAX_TESTS_SHOWN])
        if len(item.tests) > MAX_TESTS_SHOWN:
            tests += f" and {len(item.tests) - MAX_TESTS_SHOWN} more"
        if item.kind == "branch":
            covered = "exits differ"
        else:
            covered = f"run {', '.join(map(str, item.covered_in))} of {result.runs}"
        rows.append(
            (
                item.path,
                str(item.line),
                item.kind,
                covered,
                tests or "-",
                "declared noisy" if item.declared else "",
            )
        )
    new = result.undeclared
    out.append(
        f"stability: {result.service}: {len(result.flaky)} lines covered differently across {runs} "
        f"({len(new)} not yet declared noisy):"
    )
    out += render.columns(rows, right=(1,))
    if new:
        entries = ", ".join(json.dumps(entry) for entry in spots(manifest, new))  # TOML strings
        out += [
            "",
            "If this is expected (time, randomness, ordering), let the gate ignore these lines in "
            f"{manifest.display(manifest.path)}:",
            "  [gate]",
            f"  noisy = [{entries}]",
            "Better still, make the tests deterministic.",
        ]
    return "\n".join(out)
