"""Command line of the kit: parse arguments, run one command, map errors to exit codes.

The only place that prints errors; every other module raises a KitError whose message
says what went wrong, where, and how to fix it.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from tasks import manifest as manifest_module
from tasks.errors import EXIT_CONFIG, EXIT_FAILED, EXIT_OK, ConfigError, KitError

if TYPE_CHECKING:
    from tasks.runner import Options


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on usage errors already; make the message say how to get help."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_CONFIG, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def parser() -> argparse.ArgumentParser:
    top = _Parser(prog="python -m tasks", description=__doc__, allow_abbrev=False)
    top.add_argument(
        "--manifest",
        type=Path,
        default=manifest_module.DEFAULT_MANIFEST,
        help="the service manifest, relative to the project directory (default: %(default)s)",
    )
    commands = top.add_subparsers(dest="command", required=True, parser_class=_Parser)

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
    run.add_argument("--maxfail", type=int, metavar="N", help="stop after N test failures")
    run.add_argument(
        "--store-durations",
        action="store_true",
        help="record test durations (settings.durations_dir) so that shards balance",
    )
    combine = commands.add_parser(
        "combine", help="merge every service's data into one file (nox -s combine)", allow_abbrev=False
    )
    combine.add_argument(
        "--allow-missing",
        action="store_true",
        help="combine what is there even if services or shards are missing; reports say what is missing",
    )
    report = commands.add_parser(
        "report", help="print the per-service table and write reports (nox -s report)"
    )
    report.add_argument(
        "--format",
        dest="formats",
        action="append",
        help="only these formats (repeatable): html, xml, json, lcov, markdown; default: all",
    )
    gate = commands.add_parser(
        "gate",
        help="fail when coverage breaks a policy (nox -s gate)",
        description="Evaluate the total, service, file and changed-line policies of the manifest.",
        allow_abbrev=False,
    )
    gate.add_argument(
        "--base", help="git ref whose merge-base the change is measured from (default: gate.base)"
    )
    gate.add_argument("--staged", action="store_true", help="changed lines = the staged changes (pre-commit)")
    gate.add_argument(
        "--policy",
        dest="policies",
        action="append",
        choices=manifest_module.POLICIES,
        help="evaluate only these policies (repeatable); default: all that are not off",
    )
    _history_commands(commands)
    commands.add_parser("services", help="print the declared service names, one a line")
    return top


def _history_commands(commands: Any) -> None:
    baseline = commands.add_parser(
        "baseline",
        help="record a snapshot in the history; set, show, compare, export, import (nox -s baseline)",
        description="Without an action: record the combined data as a snapshot of the current commit "
        "and branch in the history (settings.history). See docs/history.md.",
        allow_abbrev=False,
    )
    action = baseline.add_mutually_exclusive_group()
    action.add_argument("--set", action="store_true", help="record, and mark it as its branch's baseline")
    action.add_argument(
        "--status", action="store_true", help="baseline, goals, milestones and recent history of the branch"
    )
    action.add_argument(
        "--compare",
        nargs=2,
        metavar=("OLD", "NEW"),
        help="deltas between two snapshots (ids like #12, commits, or git refs); exit 1 on a regression",
    )
    action.add_argument("--latest", action="store_true", help="compare the branch's two newest snapshots")
    action.add_argument("--export", type=Path, metavar="FILE", help="write the whole history as JSON Lines")
    action.add_argument(
        "--import", dest="import_file", type=Path, metavar="FILE", help="merge an export into the history"
    )
    baseline.add_argument("--force", action="store_true", help="with --set: replace the branch's baseline")
    baseline.add_argument("--branch", help="the branch to file under or show (default: git's, or CI's)")
    baseline.add_argument("--commit", help="the commit to file the snapshot under (default: HEAD)")
    ratchet = commands.add_parser(
        "ratchet",
        help="raise floors to the figures minus a margin (nox -s ratchet)",
        description="Raise the manifest's line and branch floors and pyproject.toml's fail_under to the "
        "current figures minus ratchet.margin. Floors never go down. See docs/ratchet.md.",
        allow_abbrev=False,
    )
    ratchet.add_argument(
        "--check", action="store_true", help="print the raises due and exit 1 if any; write nothing"
    )


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    args, extra = parser().parse_known_args(argv)
    if extra and args.command != "run":
        parser().error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        manifest = manifest_module.load(args.manifest)
        if args.command == "run":
            return _run(manifest, args, extra, out)
        if args.command == "combine":
            return _combine(manifest, args.allow_missing, out)
        if args.command == "report":
            return _report(manifest, args.formats, out)
        if args.command == "gate":
            return _gate(manifest, args, out)
        if args.command == "baseline":
            return _baseline(manifest, args, out)
        if args.command == "ratchet":
            return _ratchet(manifest, args.check, out)
        if args.command == "services":
            print("\n".join(manifest.names), file=out)
            return EXIT_OK
    except KitError as exc:
        print(f"error: {exc.message}", file=err)
        return exc.exit_code
    raise AssertionError(f"unhandled command {args.command!r}")  # argparse restricts choices


def _run_options(args: argparse.Namespace) -> Options:
    from tasks import datafiles, runner

    shard = None
    if (args.shards is None) != (args.shard is None):
        raise ConfigError(
            "--shards N and --shard K go together: run shard K of N (e.g. --shards 3 --shard 1)."
        )
    if args.shards is not None:
        if not 1 <= args.shard <= args.shards <= manifest_module.MAX_SHARDS:
            raise ConfigError(
                f"--shard {args.shard} of --shards {args.shards}: K must be from 1 to N, and N at most "
                f"{manifest_module.MAX_SHARDS}."
            )
        shard = datafiles.Shard(args.shard, args.shards) if args.shards > 1 else None
    if args.maxfail is not None and args.maxfail < 1:
        raise ConfigError(f"--maxfail {args.maxfail}: give a number of failures of at least 1.")
    if args.store_durations and shard is not None:
        raise ConfigError("--store-durations records the whole suite; run it without --shards.")
    return runner.Options(shard=shard, maxfail=args.maxfail, store_durations=args.store_durations)


def _run(manifest: manifest_module.Manifest, args: argparse.Namespace, extra: list[str], out: TextIO) -> int:
    from tasks import analysis, render, report, runner  # coverage is only needed by these commands

    name = args.service
    options = _run_options(args)
    result = runner.run(manifest, name, extra, out, options)
    shard_note = f", shard {options.shard.index} of {options.shard.count}" if options.shard else ""
    print(runner.outcome_message(manifest, result), file=out)
    _, shared = report.open_coverage(manifest, result.data_file)
    (service,) = analysis.service_figures(shared, manifest, only=name)
    thresholds = manifest.service(name).thresholds
    row = render.Row(label=name, isolated=service.isolated, whole=service.whole, thresholds=thresholds)
    print(
        f"{name} (own tests only{shard_note}): line {render.pct(service.isolated.line_pct)} "
        f"({service.isolated.covered}/{service.isolated.statements} statements), "
        f"branch {render.pct(service.isolated.branch_pct)} "
        f"({service.isolated.covered_branches}/{service.isolated.branches} branches); "
        f"thresholds: {'checked on all shards combined' if options.shard else render.verdict(row)}",
        file=out,
    )
    if result.combined:
        print(
            "For the whole-suite figure and the masking gap, run every service, then: nox -s combine report",
            file=out,
        )
    runner.raise_for(result)
    return result.exit_code


def _combine(manifest: manifest_module.Manifest, allow_missing: bool, out: TextIO) -> int:
    from tasks import datafiles

    result = datafiles.combine(manifest, allow_missing=allow_missing)
    parts = ", ".join(f"{name} ({files} files)" for name, files in result.counts.items())
    print(f"combined {parts} into {manifest.display(result.target)}", file=out)
    if result.missing:
        print("INCOMPLETE: combined without (--allow-missing); every report will say so:", file=out)
        print("\n".join(f"  {problem}" for problem in result.missing), file=out)
    return EXIT_OK


def _report(manifest: manifest_module.Manifest, formats: list[str] | None, out: TextIO) -> int:
    from tasks import render, report

    chosen = tuple(formats or report.FORMATS)
    unknown = [f for f in chosen if f not in report.FORMATS]
    if unknown:
        raise ConfigError(f"unknown report format {unknown[0]!r}; choose from {', '.join(report.FORMATS)}.")
    result = report.build(manifest, chosen)
    for line in report.incomplete_warning(result.missing):
        print(line, file=out)
    print(render.terminal_table(result.rows), file=out)
    print("", file=out)
    for path in result.written:
        print(f"wrote {manifest.display(path)}", file=out)
    print("", file=out)
    print(render.masking_summary(result.rows), file=out)
    return EXIT_OK


def _gate(manifest: manifest_module.Manifest, args: argparse.Namespace, out: TextIO) -> int:
    from tasks import gate, policies

    result = gate.run(manifest, base=args.base, staged=args.staged, only=args.policies)
    written = gate.write_outputs(result, manifest, out)
    print(f"verdict written to {manifest.display(written)}", file=out)
    return EXIT_FAILED if result.verdict.status == policies.FAIL else EXIT_OK


def _baseline(manifest: manifest_module.Manifest, args: argparse.Namespace, out: TextIO) -> int:
    from tasks import baseline

    if args.force and not args.set:
        raise ConfigError("--force only goes with --set (it replaces the branch's baseline).")
    if args.status:
        baseline.status(manifest, branch=args.branch, out=out)
    elif args.compare or args.latest:
        color = baseline.wants_color(out, os.environ)
        return baseline.compare(manifest, refs=args.compare, branch=args.branch, out=out, color=color)
    elif args.export:
        baseline.export_history(manifest, args.export, out)
    elif args.import_file:
        baseline.import_history(manifest, args.import_file, out)
    else:
        baseline.record(
            manifest, commit=args.commit, branch=args.branch, set_baseline=args.set, force=args.force, out=out
        )
    return EXIT_OK


def _ratchet(manifest: manifest_module.Manifest, check: bool, out: TextIO) -> int:
    from tasks import ratchet, report

    _, services = report.combined_figures(manifest)
    raises, diff = ratchet.run(manifest, services, check=check)
    margin = manifest.ratchet.margin
    points = f"{margin:g} point{'' if margin == 1 else 's'}"
    if not raises:
        print(f"no floor can rise: every floor is within {points} of its figure, or above it.", file=out)
        return EXIT_OK
    print(ratchet.table(manifest, raises), file=out)
    print("", file=out)
    print("".join(diff), file=out, end="")
    files = ", ".join(dict.fromkeys(manifest.display(r.file) for r in raises))
    floors = f"{len(raises)} floor{'' if len(raises) == 1 else 's'}"
    if check:
        print(
            f"{floors} can rise (to {points} below their figures); run nox -s ratchet to raise them.",
            file=out,
        )
        return EXIT_FAILED
    print(f"raised {floors} in {files}", file=out)
    return EXIT_OK
