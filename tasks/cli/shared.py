"""What several command families share: the --allow-stale option and the lines it prints."""

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


def print_stale(manifest: Manifest, stale: Mapping[str, list[str]], out: TextIO) -> None:
    from ..measure import freshness

    for line in freshness.stale_warning(manifest, stale):
        print(line, file=out)
