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

from ..config import manifest as manifest_module
from ..errors import (
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_IO,
    EXIT_OK,
    ConfigError,
    KitError,
    io_failure,
)

if TYPE_CHECKING:
    from ..measure.runner import Options


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
    run.add_argument("--workers", type=int, metavar="N", help="run the tests in N pytest-xdist workers")
    run.add_argument("--maxfail", type=int, metavar="N", help="stop after N test failures")
    run.add_argument(
        "--store-durations",
        action="store_true",
        help="record test durations (settings.durations_dir) so that shards balance",
    )
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
        "--archive",
        action="store_true",
        help="also copy this run's reports to reports/archive/<UTC time>/ (maintenance prunes them)",
    )
    report.add_argument(
        "--format",
        dest="formats",
        action="append",
        help="only these formats (repeatable): html, xml, json, lcov, markdown, badges, editors, services; "
        "default: all",
    )
    report.add_argument(
        "--open", action="store_true", help="open the dashboard (reports/index.html) in a web browser"
    )
    stability = commands.add_parser(
        "stability",
        help="run a service's tests several times and list lines covered differently (nox -s stability)",
        description="Run SERVICE's tests --runs times under coverage, recording each test's name, and "
        "list the lines whose coverage differs between runs. Further arguments go to pytest.",
        allow_abbrev=False,
    )
    stability.add_argument("service")
    stability.add_argument("--runs", type=int, default=2, metavar="N", help="runs to compare (default 2)")
    masking = commands.add_parser(
        "masking", help="print which service's tests cover whose code (nox -s masking)", allow_abbrev=False
    )
    masking.add_argument("--markdown", action="store_true", help="print Markdown instead of a table")
    recommend = commands.add_parser(
        "recommend",
        help="print where the next test buys the most (nox -s recommend)",
        allow_abbrev=False,
    )
    recommend.add_argument("--top", type=int, default=10, metavar="N", help="files to list (default 10)")
    recommend.add_argument("--service", action="append", help="only this service (repeatable)")
    recommend.add_argument("--markdown", action="store_true", help="print Markdown instead of tables")
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
        "--report-url",
        metavar="URL",
        help="the full report's address for the pull-request comment (default: the Actions run on CI)",
    )
    gate.add_argument(
        "--policy",
        dest="policies",
        action="append",
        choices=manifest_module.POLICIES,
        help="evaluate only these policies (repeatable); default: all that are not off",
    )
    _history_commands(commands)
    maintenance = commands.add_parser(
        "maintenance",
        help="retention, history compaction, audit, tool versions, weekly digest (nox -s maintenance)",
        description="The weekly upkeep; writes reports/maintenance/digest.md (and the job summary on "
        "GitHub Actions). Exit 1 when the audit finds an error. See docs/maintenance.md.",
        allow_abbrev=False,
    )
    maintenance.add_argument(
        "--dry-run", action="store_true", help="list what retention would remove; remove nothing"
    )
    audit = commands.add_parser(
        "audit",
        help="check the configuration for masking-prone settings (nox -s audit)",
        description="Report settings that bring coverage masking back or make figures lie, each with "
        "why and the fix. Exit 1 when one is an error.",
        allow_abbrev=False,
    )
    for command in (maintenance, audit):
        command.add_argument(
            "--branch", help="the branch whose history and baseline count (default: the one gate.base names)"
        )
    commands.add_parser("services", help="print the declared service names, one a line")
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
    if extra and args.command not in ("run", "stability"):
        parser().error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        manifest = manifest_module.load(args.manifest)
        if args.command == "run":
            return _run(manifest, args, extra, out)
        if args.command == "run-all":
            return _run_all(manifest, args, out)
        if args.command == "combine":
            return _combine(manifest, args.allow_missing, out)
        if args.command == "report":
            return _report(manifest, args, out)
        if args.command == "stability":
            return _stability(manifest, args, extra, out)
        if args.command == "masking":
            return _masking(manifest, args.markdown, out)
        if args.command == "recommend":
            return _recommend(manifest, args, out)
        if args.command == "gate":
            return _gate(manifest, args, out)
        if args.command == "baseline":
            return _baseline(manifest, args, out)
        if args.command == "ratchet":
            return _ratchet(manifest, args.check, out)
        if args.command == "matrix":
            return _matrix(manifest, args.listing, args.github_output, out)
        if args.command == "maintenance":
            return _maintenance(manifest, args.dry_run, args.branch, out)
        if args.command == "audit":
            return _audit(manifest, args.branch, out)
        if args.command == "services":
            print("\n".join(manifest.names), file=out)
            return EXIT_OK
    except KitError as exc:
        print(f"error: {exc.message}", file=err)
        return exc.exit_code
    except BrokenPipeError:
        return EXIT_OK  # the reader (`| head`) had what it wanted
    except OSError as exc:  # a full disk or a permission: the system's words, and the file
        print(f"error: {io_failure(exc)}", file=err)
        return EXIT_IO
    raise AssertionError(f"unhandled command {args.command!r}")  # argparse restricts choices


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
        if not 1 <= args.shard <= args.shards <= manifest_module.MAX_SHARDS:
            raise ConfigError(
                f"--shard {args.shard} of --shards {args.shards}: K must be from 1 to N, and N at most "
                f"{manifest_module.MAX_SHARDS}."
            )
        shard = layout.Shard(args.shard, args.shards) if args.shards > 1 else None
    workers = _checked_workers_maxfail(args)
    if args.store_durations and shard is not None:
        raise ConfigError("--store-durations records the whole suite; run it without --shards.")
    return runner.Options(
        shard=shard, workers=workers, maxfail=args.maxfail, store_durations=args.store_durations
    )


def _run(manifest: manifest_module.Manifest, args: argparse.Namespace, extra: list[str], out: TextIO) -> int:
    from ..analyze import analysis
    from ..measure import runner
    from ..report import render, report

    name = args.service
    options = _run_options(args)
    result = runner.run(manifest, name, extra, out, options)
    shard_note = f", shard {options.shard.index} of {options.shard.count}" if options.shard else ""
    print(runner.outcome_message(manifest, result), file=out)
    _, shared = report.open_coverage(manifest, result.data_file)
    (service,) = analysis.service_figures(shared, manifest, only=name)
    shared.save_cache()  # the next report or gate finds this service's files parsed
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


def _run_all(manifest: manifest_module.Manifest, args: argparse.Namespace, out: TextIO) -> int:
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


def _matrix(manifest: manifest_module.Manifest, listing: str, github_output: bool, out: TextIO) -> int:
    import json

    from ..measure import matrix

    shown = "standard input" if listing == "-" else listing
    try:
        text = sys.stdin.read() if listing == "-" else Path(listing).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{shown}: cannot read nox's listing: {exc}.") from None
    found = matrix.entries(text, shown, manifest)
    document = matrix.github_matrix(found)
    print(json.dumps(document, indent=2), file=out)
    if github_output:
        target = os.environ.get("GITHUB_OUTPUT")
        if not target:
            raise ConfigError("--github-output: GITHUB_OUTPUT is not set (it is, in a GitHub Actions step).")
        services = list(dict.fromkeys(entry.service for entry in found))
        outputs = {
            "matrix": json.dumps(document),
            "services": json.dumps(services),
            "data-dir": manifest.display(manifest.data_dir),
        }
        with Path(target).open("a", encoding="utf-8") as handle:
            handle.writelines(f"{key}={value}\n" for key, value in outputs.items())
    return EXIT_OK


def _maintenance(manifest: manifest_module.Manifest, dry_run: bool, branch: str | None, out: TextIO) -> int:
    import datetime

    from ..gate import gitdiff
    from ..measure import datafiles
    from ..upkeep import audit, maintenance

    now = datetime.datetime.now(datetime.UTC)
    branch = branch or gitdiff.branch_of(manifest.project_dir, manifest.gate.base)
    removed = maintenance.expired(manifest, now)
    if not dry_run:
        maintenance.remove(removed)
    thinned = maintenance.thin_history(manifest, dry_run=dry_run)
    baseline = maintenance.baseline_snapshot(manifest, branch)
    findings = audit.audit(manifest, maintenance.baseline_figures(baseline))
    text = maintenance.digest(
        manifest,
        now=now,
        removed=removed,
        thinned=thinned,
        findings=findings,
        tool_list=maintenance.tools(manifest),
        this_week=maintenance.week(manifest, branch, now),
        core_note=maintenance.core_change(baseline, branch),
        dry_run=dry_run,
    )
    target = manifest.reports_dir / maintenance.DIGEST
    with datafiles.atomic_path(target) as temporary:
        temporary.write_text(text, encoding="utf-8")
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with Path(summary).open("a", encoding="utf-8") as handle:
            handle.write(text)
    print(text, file=out)
    print(f"digest written to {manifest.display(target)}", file=out)
    return EXIT_FAILED if any(f.severity == audit.ERROR for f in findings) else EXIT_OK


def _audit(manifest: manifest_module.Manifest, branch: str | None, out: TextIO) -> int:
    from ..gate import gitdiff
    from ..upkeep import audit, maintenance

    branch = branch or gitdiff.branch_of(manifest.project_dir, manifest.gate.base)
    baseline = maintenance.baseline_snapshot(manifest, branch)
    findings = audit.audit(manifest, maintenance.baseline_figures(baseline))
    for finding in findings:
        print(f"{finding.severity}: {finding.where}: {finding.what}.", file=out)
        print(f"  why: {finding.why}.", file=out)
        print(f"  fix: {finding.fix}.", file=out)
    errors = sum(f.severity == audit.ERROR for f in findings)
    plural = "" if len(findings) == 1 else "s"
    print(f"{len(findings)} finding{plural}, {errors} at error severity.", file=out)
    return EXIT_FAILED if errors else EXIT_OK


def _combine(manifest: manifest_module.Manifest, allow_missing: bool, out: TextIO) -> int:
    from ..measure import datafiles

    result = datafiles.combine(manifest, allow_missing=allow_missing)
    # One entry a service, however many shards it came in: CI may combine hundreds.
    parts = ", ".join(
        f"{name} ({f'{got.data_files} shards, ' if got.data_files > 1 else ''}{got.source_files} files)"
        for name, got in result.inputs.items()
    )
    print(f"combined {parts} into {manifest.display(result.target)}", file=out)
    if result.missing:
        print("INCOMPLETE: combined without (--allow-missing); every report will say so:", file=out)
        print("\n".join(f"  {problem}" for problem in result.missing), file=out)
    return EXIT_OK


def _report(manifest: manifest_module.Manifest, args: argparse.Namespace, out: TextIO) -> int:
    import webbrowser

    from ..report import masking, render, report

    chosen = tuple(args.formats or report.FORMATS)
    unknown = [f for f in chosen if f not in report.FORMATS]
    if unknown:
        raise ConfigError(f"unknown report format {unknown[0]!r}; choose from {', '.join(report.FORMATS)}.")
    if args.open and "html" not in chosen:
        raise ConfigError("--open shows the HTML dashboard; add --format html or leave --format out.")
    result = report.build(manifest, chosen, archive=args.archive)
    shown = result.figures
    for line in report.incomplete_warning(shown.missing):
        print(line, file=out)
    print(render.terminal_table(shown.rows), file=out)
    print("", file=out)
    print(masking.terminal(shown.matrix), file=out)
    print("", file=out)
    for path in result.written:
        print(f"wrote {manifest.display(path)}", file=out)
    for path in result.not_ours:
        print(
            f"left {manifest.display(path)} alone: another tool wrote it; point settings.editor_dir "
            "elsewhere for the kit's editor files (docs/editors.md)",
            file=out,
        )
    print("", file=out)
    print(render.masking_summary(shown.rows), file=out)
    if args.open:
        page = manifest.reports_dir / report.DASHBOARD
        # webbrowser honours $BROWSER; without any browser it returns False rather than failing.
        if not webbrowser.open(page.as_uri()):
            print(f"no web browser found; open {page.as_uri()} yourself.", file=out)
    return EXIT_OK


def _stability(
    manifest: manifest_module.Manifest, args: argparse.Namespace, extra: list[str], out: TextIO
) -> int:
    from ..gate import stability

    result = stability.measure(manifest, args.service, args.runs, extra, out)
    print(stability.terminal(manifest, result), file=out)
    return EXIT_FAILED if result.undeclared else EXIT_OK


def _masking(manifest: manifest_module.Manifest, markdown: bool, out: TextIO) -> int:
    from ..report import masking, report

    shared, _ = report.combined_figures(manifest)
    matrix = masking.build(shared, manifest)
    print(masking.markdown(matrix) if markdown else masking.terminal(matrix), file=out)
    return EXIT_OK


def _recommend(manifest: manifest_module.Manifest, args: argparse.Namespace, out: TextIO) -> int:
    from ..report import recommend, report

    if args.top < 1:
        raise ConfigError(f"--top {args.top}: give a number of files from 1.")
    for name in args.service or ():
        manifest.service(name)  # an unknown name fails with the closest match
    shared, services = report.combined_figures(manifest)
    chosen = [s for s in services if not args.service or s.name in args.service]
    advice = recommend.build(shared, manifest, chosen)
    text = recommend.markdown(advice, args.top) if args.markdown else recommend.terminal(advice, args.top)
    print(text, file=out)
    return EXIT_OK


def _gate(manifest: manifest_module.Manifest, args: argparse.Namespace, out: TextIO) -> int:
    from ..gate import gate, policies

    result = gate.run(manifest, base=args.base, staged=args.staged, only=args.policies)
    written = gate.write_outputs(result, manifest, out, link=args.report_url)
    print(f"verdict written to {manifest.display(written)}", file=out)
    return EXIT_FAILED if result.verdict.status == policies.FAIL else EXIT_OK


def _baseline(manifest: manifest_module.Manifest, args: argparse.Namespace, out: TextIO) -> int:
    from ..history import baseline

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
    from ..history import ratchet
    from ..report import report

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
