"""Environments in nox's folder that no session of the noxfile uses any more.

Services that share a Python and an install list run in one environment, built by a session
named after a digest of the two (`shared-env-1a2b3c4d`). Every change of an install list makes
a new one and leaves the old one behind, and nothing removed them: a seven-library repository
gathered 316 MB in an afternoon. `maintenance` (and `nox -s prune-envs`) removes those the
noxfile no longer declares: only folders named as the kit names its environments, never a
session of anyone else's, never through a link.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

# The kit's environment sessions: `shared-env`, or `shared-env-` and a digest (noxfile.py).
KIT_ENVIRONMENT = re.compile(r"shared-env(-[0-9a-f]{8})?\Z")
RECORDS = "coverage-workflows-envs"  # in nox's cache folder: each environment's bin folder


@dataclass(frozen=True, kw_only=True)
class Stale:
    path: Path
    size: int  # bytes


def stale(envdir: Path, current: set[str]) -> list[Stale]:
    """The kit's environments in `envdir` (nox's `.nox`) whose session is not in `current`."""
    if not envdir.is_dir():
        return []
    found = []
    for folder in sorted(envdir.iterdir()):
        if folder.is_symlink() or not folder.is_dir() or folder.name in current:
            continue
        if KIT_ENVIRONMENT.match(folder.name):
            found.append(Stale(path=folder, size=_size(folder)))
    return found


def _size(folder: Path) -> int:
    total = 0
    for path in folder.rglob("*"):
        try:
            if path.is_file() and not path.is_symlink():
                total += path.stat().st_size
        except OSError:
            continue  # removed meanwhile, or unreadable: not counted
    return total


def remove(found: list[Stale], envdir: Path) -> None:
    """Remove them, and the record of where each one's interpreter was."""
    for item in found:
        shutil.rmtree(item.path, ignore_errors=True)
        (envdir / ".cache" / RECORDS / item.path.name).unlink(missing_ok=True)


def describe(found: list[Stale], envdir: Path, *, dry_run: bool) -> list[str]:
    verb = "would remove" if dry_run else "removed"
    if not found:
        return [f"environments: none unused in {envdir}"]
    lines = [f"environments: {verb} {item.path.name} ({_mib(item.size)})" for item in found]
    freed = sum(item.size for item in found)
    outcome = "to free" if dry_run else "freed"
    lines.append(f"environments: {verb} {len(found)} no session uses, {_mib(freed)} {outcome}")
    return lines


def _mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"
