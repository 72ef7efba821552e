"""Command line of the kit: parse arguments, run one command, map errors to exit codes.

The only place that prints errors; every other module raises a KitError whose message
says what went wrong, where, and how to fix it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO, cast

from ..config import loader
from ..config.manifest import DEFAULT_MANIFEST, Manifest
from ..errors import EXIT_CONFIG, EXIT_INTERRUPTED, EXIT_IO, EXIT_OK, INTERRUPTED, KitError, io_failure
from ..text import Folded, fold
from . import adopt, gate, history, measure, report, upkeep

Handler = Callable[[Manifest, argparse.Namespace, list[str], TextIO], int]

# Each command: what adds its arguments and what runs it, in the order --help lists them.
COMMANDS: dict[str, tuple[Callable[[Any], None], Handler]] = {
    "run": (measure.add_run, measure.handle_run),
    "run-all": (measure.add_run_all, measure.handle_run_all),
    "combine": (measure.add_combine, measure.handle_combine),
    "report": (report.add_report, report.handle_report),
    "stability": (gate.add_stability, gate.handle_stability),
    "masking": (report.add_masking, report.handle_masking),
    "recommend": (report.add_recommend, report.handle_recommend),
    "gate": (gate.add_gate, gate.handle_gate),
    "affected": (gate.add_affected, gate.handle_affected),
    "baseline": (history.add_baseline, history.handle_baseline),
    "ratchet": (history.add_ratchet, history.handle_ratchet),
    "maintenance": (upkeep.add_maintenance, upkeep.handle_maintenance),
    "audit": (upkeep.add_audit, upkeep.handle_audit),
    "collect": (upkeep.add_collect, upkeep.handle_collect),
    "prune-envs": (upkeep.add_prune_envs, upkeep.handle_prune_envs),
    "services": (measure.add_services, measure.handle_services),
    "matrix": (measure.add_matrix, measure.handle_matrix),
}
# Commands that read no manifest: adopt writes one, in another repository.
WITHOUT_MANIFEST: dict[str, tuple[Callable[[Any], None], Callable[[argparse.Namespace, TextIO], int]]] = {
    "adopt": (adopt.add_adopt, adopt.handle_adopt),
}
# Commands whose output programs read: printed as it is, never folded.
MACHINE_READABLE = ("matrix", "services")
PYTEST_PASSTHROUGH = ("run", "stability")  # the commands whose further arguments go to pytest


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on usage errors already; make the message say how to get help."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        hint = _under_nox() if message.startswith("unrecognized arguments") else ""
        self.exit(EXIT_CONFIG, fold(f"{self.prog}: error: {message} (see {self.prog} --help){hint}") + "\n")


def _under_nox() -> str:
    """nox hands the arguments after `--` to every session it runs: `nox -s combine report
    gate -- --base X` gives --base to combine too. Say how to address one session."""
    session = os.environ.get("NOX_CURRENT_SESSION")
    if not session:
        return ""
    return (
        f"\nIf they were meant for another session: nox gives the arguments after -- to every session "
        f"it runs, {session} included. Run the session that takes them on its own, after the others: "
        "nox -s combine report && nox -s gate -- --base main"
    )


def parser() -> argparse.ArgumentParser:
    top = _Parser(prog="python -m tasks", description=__doc__, allow_abbrev=False)
    top.add_argument(
        "--manifest",
        type=Path,
        default=DEFAULT_MANIFEST,
        help="the service manifest, relative to the project directory (default: %(default)s)",
    )
    # COMMAND in the usage line: the list of every command's name would run past 120 columns.
    commands = top.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=_Parser)
    for add, _ in [*COMMANDS.values(), *WITHOUT_MANIFEST.values()]:
        add(commands)
    return top


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    args, extra = parser().parse_known_args(argv)
    if extra and args.command not in PYTEST_PASSTHROUGH:
        parser().error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command not in MACHINE_READABLE and not (
        getattr(args, "markdown", False) or getattr(args, "json", False)
    ):
        out = cast(TextIO, Folded(out))  # what people read fits 120 columns (tasks/text.py)
    try:
        return _dispatch(args, extra, out, err)
    finally:
        with contextlib.suppress(OSError, ValueError):  # a closed pipe has nothing to flush to
            out.flush()


def _dispatch(args: argparse.Namespace, extra: list[str], out: TextIO, err: TextIO) -> int:
    try:
        if args.command in WITHOUT_MANIFEST:
            return WITHOUT_MANIFEST[args.command][1](args, out)
        _, handle = COMMANDS[args.command]  # argparse restricts the choices to these
        manifest = loader.load(args.manifest)
        # The kit vendored in a folder of the repository starts there (to import itself and
        # find its manifest); it works from the repository, whose paths the data records.
        os.chdir(manifest.project_dir)
        return handle(manifest, args, extra, out)
    except KitError as exc:
        print(fold(f"error: {exc.message}"), file=err)
        return exc.exit_code
    except BrokenPipeError:
        return EXIT_OK  # the reader (`| head`) had what it wanted
    except KeyboardInterrupt:
        # Ctrl-C: every write is to a temporary name first, so what was there stays as it was.
        print(INTERRUPTED, file=err)
        return EXIT_INTERRUPTED
    except OSError as exc:  # a full disk or a permission: the system's words, and the file
        print(fold(f"error: {io_failure(exc)}"), file=err)
        return EXIT_IO
