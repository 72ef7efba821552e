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


def add_allow_missing(command: argparse.ArgumentParser) -> None:
    """For the commands that show the combined data as it is: incomplete data is always shown,
    marked; the option is taken so that one `nox -s combine report gate -- --allow-missing`
    reaches each of them."""
    command.add_argument(
        "--allow-missing",
        action="store_true",
        help="accepted for nox -s combine report -- --allow-missing; incomplete data is shown marked",
    )


def print_stale(manifest: Manifest, stale: Mapping[str, list[str]], out: TextIO) -> None:
    from ..measure import freshness

    for line in freshness.stale_warning(manifest, stale):
        print(line, file=out)
