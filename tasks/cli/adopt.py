"""The command that sets the kit up in another repository: adopt."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any, TextIO

from ..errors import ConfigError


def add_adopt(commands: Any) -> None:
    command = commands.add_parser(
        "adopt",
        help="set the kit up in another repository (nox -s adopt -- PATH)",
        description="Copy the kit into PATH/.coverage-workflows/, write a manifest of the services "
        "found there (never over one that exists), join the kit's sessions to PATH's noxfile.py, "
        "git-ignore its outputs and copy its workflows where PATH has none. Run again, it changes "
        "nothing. See docs/adopting.md.",
        allow_abbrev=False,
    )
    command.add_argument("path", type=Path, help="the repository to set the kit up in")
    command.add_argument(
        "--upgrade",
        action="store_true",
        help="refresh the vendored kit from this checkout; keep the manifest",
    )
    command.add_argument(
        "--force", action="store_true", help="with --upgrade: replace vendored files edited locally"
    )
    command.add_argument(
        "--no-check",
        action="store_true",
        help="skip the check that builds each service's environment and collects its tests there",
    )


def handle_adopt(args: argparse.Namespace, out: TextIO) -> int:
    if args.force and not args.upgrade:
        raise ConfigError("--force replaces edited vendored files during an upgrade: give it with --upgrade.")
    from ..adopt.adopt import adopt  # coverage.py's data API: not for the commands that run without it

    # Under nox the session runs in the kit's folder; PATH is relative to where nox started.
    start = Path(os.environ.get("COVERAGE_WORKFLOWS_INVOKED_FROM") or Path.cwd())
    return adopt(start / args.path, out, upgrade=args.upgrade, force=args.force, check=not args.no_check)
