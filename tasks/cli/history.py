"""Commands on the history: baseline (record, set, status, compare, export, import) and ratchet."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any, TextIO

from ..config.manifest import Manifest
from ..errors import EXIT_FAILED, EXIT_OK, ConfigError
from .shared import add_allow_missing


def add_baseline(commands: Any) -> None:
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
    add_allow_missing(baseline, REFUSED_MISSING)


def add_ratchet(commands: Any) -> None:
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
    add_allow_missing(ratchet, REFUSED_MISSING)


# The history and the floors keep figures of the whole repository: the option is taken, for one
# `nox -s combine report baseline -- --allow-missing`, and incomplete data is still refused.
REFUSED_MISSING = (
    "accepted for nox -s combine report baseline -- --allow-missing; incomplete data is still refused"
)


def handle_baseline(manifest: Manifest, args: argparse.Namespace, extra: list[str], out: TextIO) -> int:
    from ..history import baseline
    from ..measure import incomplete

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
        incomplete.refuse(manifest, "a snapshot in the history")
        baseline.record(
            manifest, commit=args.commit, branch=args.branch, set_baseline=args.set, force=args.force, out=out
        )
    return EXIT_OK


def handle_ratchet(manifest: Manifest, args: argparse.Namespace, extra: list[str], out: TextIO) -> int:
    from ..analyze import combined
    from ..history import ratchet
    from ..measure import incomplete

    incomplete.refuse(manifest, "raising floors")
    _, services, _ = combined.combined_figures(manifest)  # floors never rise on stale data
    raises, diff = ratchet.run(manifest, services, check=args.check)
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
    if args.check:
        print(
            f"{floors} can rise (to {points} below their figures); run nox -s ratchet to raise them.",
            file=out,
        )
        return EXIT_FAILED
    print(f"raised {floors} in {files}", file=out)
    return EXIT_OK
