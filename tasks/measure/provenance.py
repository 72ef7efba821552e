"""The commit each service's data was measured at, recorded in the data file beside the
digests of the files it ran, so that every output can say which services were measured
afresh and which were carried forward from an earlier commit (their data verified still
to match the code, file by file, before combine took it)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

from . import coverage_internals

COMMIT_KEY = "coverage_workflows:commit"
UNKNOWN = ""  # outside a git checkout, or git not installed


def head(project_dir: Path) -> str:
    """The commit checked out in `project_dir`, or UNKNOWN."""
    if shutil.which("git") is None:
        return UNKNOWN
    done = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", "HEAD^{commit}"],
        cwd=project_dir,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() if done.returncode == 0 else UNKNOWN


def record(data_file: Path, commits: dict[str, str]) -> None:
    """Keep, per service, the commit its data was measured at inside the data file."""
    coverage_internals.write_meta_json(data_file, COMMIT_KEY, commits)


def recorded(data_file: Path) -> dict[str, str]:
    """Per service, the commit its data in `data_file` was measured at ({} before the kit kept it)."""
    found = coverage_internals.read_meta_json(data_file, COMMIT_KEY)
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}


def merge(parts: Iterable[dict[str, str]]) -> dict[str, str]:
    """One commit per service: a service whose shards were measured at different commits
    counts as measured at none in particular (UNKNOWN)."""
    merged: dict[str, str] = {}
    for part in parts:
        for service, commit in part.items():
            merged[service] = commit if merged.get(service, commit) == commit else UNKNOWN
    return merged


def carried(commits: dict[str, str], now: str) -> dict[str, str]:
    """The services whose data was measured at another commit than `now`: carried forward."""
    if now == UNKNOWN:
        return {}
    return {service: commit for service, commit in commits.items() if commit and commit != now}


def note(commits: dict[str, str], now: str, stale: Iterable[str] = ()) -> list[str]:
    """What every output says when some data was carried forward: which, from which commit,
    and which services were measured afresh; nothing when every service was measured here.
    Stale data (--allow-stale) is no data that still matches the code: its own warning
    names it, and it is never called carried forward here."""
    stale = set(stale)
    old = {service: commit for service, commit in carried(commits, now).items() if service not in stale}
    if not old:
        return []
    by_commit: dict[str, list[str]] = {}
    for service, commit in old.items():
        by_commit.setdefault(commit, []).append(service)
    origins = "; ".join(f"{', '.join(names)} from {commit[:12]}" for commit, names in by_commit.items())
    fresh = [service for service in commits if service not in old and service not in stale]
    return [
        f"CARRIED FORWARD (their data still matches the code, file by file): {origins}.",
        f"Measured afresh at {now[:12]}: {', '.join(fresh) if fresh else 'none'}.",
    ]
