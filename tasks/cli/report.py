"""Commands that report: report, masking and recommend."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, TextIO

from ..config.manifest import Manifest
from ..errors import EXIT_OK, ConfigError
from .shared import add_allow_missing, add_allow_stale, print_incomplete, print_stale


def add_report(commands: Any) -> None:
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
    add_allow_stale(report)
    add_allow_missing(report)


def add_masking(commands: Any) -> None:
    masking = commands.add_parser(
        "masking", help="print which service's tests cover whose code (nox -s masking)", allow_abbrev=False
    )
    masking.add_argument("--markdown", action="store_true", help="print Markdown instead of a table")
    add_allow_stale(masking)
    add_allow_missing(masking)


def add_recommend(commands: Any) -> None:
    recommend = commands.add_parser(
        "recommend",
        help="print where the next test buys the most (nox -s recommend)",
        allow_abbrev=False,
    )
    recommend.add_argument("--top", type=int, default=10, metavar="N", help="files to list (default 10)")
    recommend.add_argument("--service", action="append", help="only this service (repeatable)")
    recommend.add_argument("--markdown", action="store_true", help="print Markdown instead of tables")
    add_allow_stale(recommend)
    add_allow_missing(recommend)


def handle_report(manifest: Manifest, args: argparse.Namespace, extra: list[str], out: TextIO) -> int:
    import webbrowser

    from ..history import trend
    from ..report import masking, render, report

    chosen = tuple(args.formats or report.FORMATS)
    unknown = [f for f in chosen if f not in report.FORMATS]
    if unknown:
        raise ConfigError(f"unknown report format {unknown[0]!r}; choose from {', '.join(report.FORMATS)}.")
    if args.open and "html" not in chosen:
        raise ConfigError("--open shows the HTML dashboard; add --format html or leave --format out.")
    result = report.build(
        manifest, chosen, archive=args.archive, trend=trend.recent_trend, allow_stale=args.allow_stale
    )
    shown = result.figures
    for line in shown.warning_lines:
        print(line, file=out)
    print(render.terminal_table(shown.rows), file=out)
    print("", file=out)
    print(masking.terminal(shown.matrix), file=out)
    print("", file=out)
    # One line per folder, however many formats: the table above is what people read.
    by_folder: dict[Path, list[str]] = {}
    for path in result.written:
        by_folder.setdefault(path.parent, []).append(path.name)
    for folder, names in by_folder.items():
        print(f"wrote {', '.join(names)} in {manifest.display(folder)}", file=out)
    for path in result.not_ours:
        print(
            f"left {manifest.display(path)} alone: another tool wrote it; point settings.editor_dir "
            "elsewhere for the kit's editor files (docs/editors.md)",
            file=out,
        )
    summary = render.masking_summary(shown.rows)
    if summary:
        print(f"\n{summary}", file=out)
    if args.open:
        page = manifest.reports_dir / report.DASHBOARD
        # webbrowser honours $BROWSER; without any browser it returns False rather than failing.
        if not webbrowser.open(page.as_uri()):
            print(f"no web browser found; open {page.as_uri()} yourself.", file=out)
    return EXIT_OK


def handle_masking(manifest: Manifest, args: argparse.Namespace, extra: list[str], out: TextIO) -> int:
    from ..analyze import combined
    from ..report import masking

    shared, _, stale = combined.combined_figures(manifest, allow_stale=args.allow_stale)
    print_incomplete(manifest, out)
    print_stale(manifest, stale, out)
    matrix = masking.build(shared, manifest)
    print(masking.markdown(matrix) if args.markdown else masking.terminal(matrix), file=out)
    return EXIT_OK


def handle_recommend(manifest: Manifest, args: argparse.Namespace, extra: list[str], out: TextIO) -> int:
    from ..analyze import combined
    from ..measure import incomplete
    from ..report import recommend

    if args.top < 1:
        raise ConfigError(f"--top {args.top}: give a number of files from 1.")
    for name in args.service or ():
        manifest.service(name)  # an unknown name fails with the closest match
    shared, services, stale = combined.combined_figures(manifest, allow_stale=args.allow_stale)
    print_incomplete(manifest, out)
    print_stale(manifest, stale, out)
    # A service with no data has no figure to advise on: its run comes first (the notice).
    unmeasured = incomplete.unmeasured_services(manifest)
    chosen = [
        s for s in services if (not args.service or s.name in args.service) and s.name not in unmeasured
    ]
    advice = recommend.build(shared, manifest, chosen)
    text = recommend.markdown(advice, args.top) if args.markdown else recommend.terminal(advice, args.top)
    print(text, file=out)
    return EXIT_OK
