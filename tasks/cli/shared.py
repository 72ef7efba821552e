"""What several command families share: the --allow-stale and --allow-missing options and the
lines --allow-stale prints."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import TextIO

from ..config.manifest import Manifest


def add_allow_stale(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--allow-stale",
        action="store_true",
        help="use data measured on code that has changed since, marked STALE (refused by default)",
    )


def add_allow_missing(
    command: argparse.ArgumentParser,
    meaning: str = "accepted for nox -s combine report -- --allow-missing; incomplete data is shown marked",
) -> None:
    """For the commands that read the combined data without judging it: the option is taken so
    that one `nox -s combine report gate -- --allow-missing` reaches each of them; `meaning`
    says what it does there (reports show incomplete data marked)."""
    command.add_argument("--allow-missing", action="store_true", help=meaning)


def print_stale(manifest: Manifest, stale: Mapping[str, list[str]], out: TextIO) -> None:
    from ..measure import freshness

    for line in freshness.stale_warning(manifest, stale):
        print(line, file=out)


def print_incomplete(manifest: Manifest, out: TextIO) -> None:
    """The one line a command that reads incomplete combined data starts with."""
    from ..measure import incomplete

    for line in incomplete.warning(manifest, incomplete.missing_inputs(manifest)):
        print(line, file=out)
