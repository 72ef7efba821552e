"""Commands that measure: run, run-all, combine, matrix and services."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ..config.manifest import MAX_SHARDS, Manifest
from ..errors import EXIT_INTERRUPTED, EXIT_OK, ConfigError, KitError
from .shared import add_allow_stale, print_stale

if TYPE_CHECKING:
    from ..measure.runner import Options


def add_run(commands: Any) -> None:
    run = commands.add_parser(
        "run",
        help="run one service's tests under coverage (nox -s coverage-SERVICE)",
        description="Run SERVICE's tests in their own process under coverage. Any further "
        "arguments go to pytest and make this a slice run, kept apart from combine.",
        allow_abbrev=False,
    )
    run.add_argument("service")
    run.add_argument("--shards", type=int, metavar="N", help="split the tests N ways (pytest-split)")
    run.add_argument("--shard", type=int, metavar="K", help="with --shards: run shard K (from 1)")
    run.add_argument("--workers", type=int, metavar="N", help="run the tests in N pytest-xdist workers")
    run.add_argument("--maxfail", type=int, metavar="N", help="stop after N test failures")
    run.add_argument(
        "--store-durations",
        action="store_true",
        help="record test durations (settings.durations_dir) so that shards balance",
    )


def add_run_all(commands: Any) -> None:
    run_all = commands.add_parser(
        "run-all",
        help="run every shard of every service, a few at a time (nox -s coverage-all)",
        description="Run the chosen services (default: all), each split into its manifest's shards, "
        "as separate runs side by side. Each run's output goes to a log; a failed run is named "
        "with its exit status and the others' data is kept. See docs/sharding.md.",
        allow_abbrev=False,
    )
    run_all.add_argument("services", nargs="*", help="only these services (default: every service)")
    run_all.add_argument("--jobs", type=int, metavar="J", help="runs at a time (default: cores / workers)")
    run_all.add_argument("--workers", type=int, metavar="N", help="pytest-xdist workers per run (default 1)")
    run_all.add_argument(
        "--shards", type=int, metavar="N", help="split services that declare no shards N ways (default 1)"
    )
    run_all.add_argument("--maxfail", type=int, metavar="N", help="each run stops after N test failures")


def add_combine(commands: Any) -> None:
    combine = commands.add_parser(
        "combine", help="merge every service's data into one file (nox -s combine)", allow_abbrev=False
    )
    combine.add_argument(
        "--allow-missing",
        action="store_true",
        help="combine what is there even if services or shards are missing; reports say what is missing",
    )
    add_allow_stale(combine)


def add_services(commands: Any) -> None:
    commands.add_parser("services", help="print the declared service names, one a line")


def add_matrix(commands: Any) -> None:
    matrix = commands.add_parser(
        "matrix",
        help="the CI matrix of services x shards, from nox --json -l -t coverage",
        description="Read nox's JSON listing of the coverage sessions and print the GitHub Actions "
        "matrix (one entry per service shard). See docs/ci.md.",
        allow_abbrev=False,
    )
    matrix.add_argument(
        "--listing", default="-", metavar="FILE", help="nox's JSON listing (default: standard input)"
    )
    matrix.add_argument(
        "--github-output",
        action="store_true",
        help="also append matrix=... and services=... to the file $GITHUB_OUTPUT names",
    )


def _checked_workers_maxfail(args: argparse.Namespace) -> int:
    """--workers (default 1) and --maxfail, checked; the worker count."""
    from ..measure import runner

    if args.maxfail is not None and args.maxfail < 1:
        raise ConfigError(f"--maxfail {args.maxfail}: give a number of failures of at least 1.")
    workers = 1 if args.workers is None else args.workers
    if not 1 <= workers <= runner.MAX_WORKERS:
        raise ConfigError(f"--workers {workers}: give from 1 to {runner.MAX_WORKERS} worker processes.")
    return workers


def _run_options(args: argparse.Namespace) -> Options:
    from ..config import layout
    from ..measure import runner

    shard = None
    if (args.shards is None) != (args.shard is None):
        raise ConfigError(
            "--shards N and --shard K go together: run shard K of N (e.g. --shards 3 --shard 1)."
        )
    if args.shards is not None:
        if not 1 <= args.shard <= args.shards <= MAX_SHARDS:
            raise ConfigError(
                f"--shard {args.shard} of --shards {args.shards}: K must be from 1 to N, and N at most "
                f"{MAX_SHARDS}."
            )
        shard = layout.Shard(args.shard, args.shards) if args.shards > 1 else None
    workers = _checked_workers_maxfail(args)
    if args.store_durations and shard is not None:
        raise ConfigError("--store-durations records the whole suite; run it without --shards.")
    return runner.Options(
        shard=shard, workers=workers, maxfail=args.maxfail, store_durations=args.store_durations
    )


def handle_run(manifest: Manifest, args: argparse.Namespace, extra: list[str], out: TextIO) -> int:
    from ..config import layout
    from ..measure import outcomes, parallel, runner

    name = args.service
    options = _run_options(args)
    if runner.names_tests(manifest.service(name), extra):  # a slice: kept apart, no record
        return _run_and_report(manifest, name, extra, out, options, None)
    label = layout.service_file(manifest, name, options.shard).name
    # Under coverage-all, this run's whole output already goes to a log of its own.
    whole_log = os.environ.get(outcomes.LOG_VARIABLE)
    log = None if whole_log else manifest.reports_dir / layout.LOGS_DIR / f"{label}.log"
    shown_log = whole_log or manifest.display(manifest.reports_dir / layout.LOGS_DIR / f"{label}.log")
    rerun = f"nox -s coverage-{name}" + (
        f" -- --shards {options.shard.count} --shard {options.shard.index}" if options.shard else ""
    )

    def keep(exit_code: int, why: str, detail: str) -> None:
        outcome = outcomes.Outcome(
            service=name,
            label=f"{name} shard {options.shard.index}/{options.shard.count}" if options.shard else name,
            exit_code=exit_code,
            why=why,
            detail=detail,
            log=shown_log,
            rerun=rerun,
            finished=outcomes.now(),
        )
        outcomes.record(manifest.data_dir, label, outcome)

    try:
        status = _run_and_report(manifest, name, extra, out, options, log)
    except KitError as exc:
        keep(
            exc.exit_code, exc.why or parallel.MEANING.get(exc.exit_code, "failed"), exc.detail or exc.message
        )
        raise
    keep(status, "passed", "")
    return status


def _run_and_report(
    manifest: Manifest, name: str, extra: list[str], out: TextIO, options: Options, log: Path | None
) -> int:
    from ..analyze import combined  # coverage is only needed by these commands
    from ..measure import runner, unsaved
    from ..report import render

    result = runner.run(manifest, name, extra, out, options, log)
    shard_note = f", shard {options.shard.index} of {options.shard.count}" if options.shard else ""
    print(runner.outcome_message(manifest, result), file=out)
    _, shared = combined.open_coverage(manifest, result.data_file)
    (service,) = combined.measured_figures(manifest, shared, result.data_file, only=name)
    shared.save_cache()  # the next report or gate finds this service's files parsed
    shared.close_cache()
    thresholds = manifest.service(name).thresholds
    row = render.Row(label=name, isolated=service.isolated, whole=service.whole, thresholds=thresholds)
    print(
        f"{name} (own tests only{shard_note}): line {render.pct(service.isolated.line_pct)} "
        f"({service.isolated.covered}/{service.isolated.statements} statements), "
        f"branch {render.pct(service.isolated.branch_pct)} "
        f"({service.isolated.covered_branches}/{service.isolated.branches} branches); "
        f"thresholds: {'checked on all shards combined' if options.shard else render.verdict(row)}"
        + (f"; {unsaved.short(result.processes_unsaved)}" if result.processes_unsaved else ""),
        file=out,
    )
    if result.combined:
        print(
            "For the whole-suite figure and the masking gap, run every service, then: nox -s combine report",
            file=out,
        )
    runner.raise_for(result)
    return result.exit_code


def handle_run_all(manifest: Manifest, args: argparse.Namespace, extra: list[str], out: TextIO) -> int:
    import time

    from ..measure import parallel

    workers = _checked_workers_maxfail(args)
    jobs = parallel.plan(manifest, args.services, args.shards)
    chosen = parallel.limits(args.jobs, workers, parallel.machine_cores())
    start = time.monotonic()
    try:
        outcomes = parallel.run_all(manifest, jobs, chosen, maxfail=args.maxfail, out=out)
    except parallel.Interrupted as stopped:
        parallel.summary(manifest, stopped.outcomes, time.monotonic() - start, out)
        print("interrupted: the runs not yet started were not run.", file=out)
        return EXIT_INTERRUPTED
    return parallel.summary(manifest, outcomes, time.monotonic() - start, out)


def handle_combine(manifest: Manifest, args: argparse.Namespace, extra: list[str], out: TextIO) -> int:
    from ..measure import combining, incomplete

    result = combining.combine(manifest, allow_missing=args.allow_missing, allow_stale=args.allow_stale)
    # One entry a service, however many shards it came in; past a few, their count: CI may
    # combine hundreds.
    if len(result.inputs) <= SHOWN_INPUTS:
        parts = ", ".join(
            f"{name} ({f'{got.data_files} shards, ' if got.data_files > 1 else ''}{got.source_files} files)"
            for name, got in result.inputs.items()
        )
    else:
        shards = sum(got.data_files for got in result.inputs.values())
        parts = f"{len(result.inputs)} services ({shards} data files)"
    print(f"combined {parts} into {manifest.display(result.target)}", file=out)
    if result.missing:
        print("INCOMPLETE: combined without these; every report will say so:", file=out)
        print("\n".join(f"  {problem}" for problem in result.missing[:SHOWN_PROBLEMS]), file=out)
        if len(result.missing) > SHOWN_PROBLEMS:
            left = len(result.missing) - SHOWN_PROBLEMS
            print(f"  and {left} more: {manifest.display(incomplete.missing_file(manifest))}", file=out)
    for line in incomplete.warning(manifest, (), result.unsaved):
        print(line, file=out)
    print_stale(manifest, result.stale, out)
    return EXIT_OK


SHOWN_PROBLEMS = 10  # missing inputs combine names; its record (and the Markdown) lists them all
SHOWN_INPUTS = 8  # services combine names, each with its count of files; past it, their number


def handle_services(manifest: Manifest, args: argparse.Namespace, extra: list[str], out: TextIO) -> int:
    print("\n".join(manifest.names), file=out)
    return EXIT_OK


def handle_matrix(manifest: Manifest, args: argparse.Namespace, extra: list[str], out: TextIO) -> int:
    write_matrix_outputs(manifest, args.listing, github_output=args.github_output, out=out)
    return EXIT_OK


def write_matrix_outputs(
    manifest: Manifest,
    listing: str,
    *,
    github_output: bool = True,
    only: list[str] | None = None,
    extra: dict[str, str] | None = None,
    out: TextIO,
) -> None:
    """Print the matrix from nox's listing (of the services `only` names, when given) and,
    with `github_output`, append it, every service and the data folder (and `extra`) to the
    file $GITHUB_OUTPUT names."""
    import json

    from ..measure import matrix

    shown = "standard input" if listing == "-" else listing
    try:
        text = sys.stdin.read() if listing == "-" else Path(listing).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{shown}: cannot read nox's listing: {exc}.") from None
    every = matrix.entries(text, shown, manifest)
    found = [entry for entry in every if only is None or entry.service in only]
    document = matrix.github_matrix(matrix.pack(found, manifest))
    print(json.dumps(document, indent=2), file=out)
    if github_output:
        target = os.environ.get("GITHUB_OUTPUT")
        if not target:
            raise ConfigError("--github-output: GITHUB_OUTPUT is not set (it is, in a GitHub Actions step).")
        outputs = {
            "matrix": json.dumps(document),
            "shards": str(len(found)),
            "services": json.dumps(list(dict.fromkeys(entry.service for entry in every))),
            "data-dir": manifest.display(manifest.data_dir),
            **(extra or {}),
        }
        with Path(target).open("a", encoding="utf-8") as handle:
            handle.writelines(f"{key}={value}\n" for key, value in outputs.items())
