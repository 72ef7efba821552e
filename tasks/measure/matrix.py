"""The CI matrix of services x shards, derived from `nox --json -l -t coverage`.

The coverage-<service> sessions come from the manifest and carry their shard count as a
`shards-N` tag, so nox's own listing is the whole truth: no list of services is kept by
hand in the workflow. Each entry says which session to run with which shard arguments,
and the artifact name its data travels under.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from typing import Any

from ..config.layout import Shard, service_file
from ..config.manifest import MAX_SHARDS, Manifest
from ..errors import ConfigError

SESSION_PREFIX = "coverage-"
COVERAGE_TAG = "coverage"
_SHARDS_TAG = re.compile(r"shards-(\d+)\Z")
ARTIFACT_PREFIX = "coverage-data-"  # the combine job downloads every artifact named so
MAX_JOBS = 256  # GitHub Actions refuses a matrix of more jobs


@dataclass(frozen=True, kw_only=True)
class Entry:
    name: str  # the job's title: "xp 1/3"
    session: str
    service: str
    shard: int
    shards: int
    data: str  # the data file the run writes, relative to the project: what its artifact holds
    artifact: str


def entries(listing: str, shown: str, manifest: Manifest) -> list[Entry]:
    """Matrix entries from nox's JSON listing, checked against the manifest."""
    sessions = _coverage_sessions(listing, shown)
    listed = [session["session"][len(SESSION_PREFIX) :] for session in sessions]
    if sorted(listed) != sorted(manifest.names):
        raise ConfigError(
            f"{shown}: nox lists coverage sessions for {', '.join(listed) or 'no service'}, but "
            f"{manifest.display(manifest.path)} declares {', '.join(manifest.names)}. Run the "
            "listing from the same checkout, with the kit's noxfile.py."
        )
    counts = [_shard_count(session, shown) for session in sessions]
    if sum(counts) > MAX_JOBS:
        raise ConfigError(
            f"{shown}: {sum(counts)} service shards, but GitHub Actions runs at most {MAX_JOBS} jobs "
            f"in one matrix. Lower services' shards in {manifest.display(manifest.path)}."
        )
    result = []
    for session, service, count in zip(sessions, listed, counts, strict=True):
        for index in range(1, count + 1):
            suffix = f"{index}-of-{count}"
            data = service_file(manifest, service, Shard(index, count) if count > 1 else None)
            result.append(
                Entry(
                    name=f"{service} {index}/{count}" if count > 1 else service,
                    session=session["session"],
                    service=service,
                    shard=index,
                    shards=count,
                    data=manifest.display(data),
                    artifact=f"{ARTIFACT_PREFIX}{service}-{suffix}",
                )
            )
    return result


def github_matrix(found: list[Entry]) -> dict[str, Any]:
    return {"include": [asdict(entry) for entry in found]}


def _coverage_sessions(listing: str, shown: str) -> list[dict[str, Any]]:
    try:
        parsed = json.loads(listing)
    except ValueError as exc:
        raise ConfigError(
            f"{shown}: not the JSON of `nox --json -l -t coverage` ({exc}). Pipe nox's listing in "
            "unchanged, with nothing else printed to stdout."
        ) from None
    if not isinstance(parsed, list) or not all(
        isinstance(item, dict) and isinstance(item.get("session"), str) for item in parsed
    ):
        raise ConfigError(f"{shown}: expected nox's JSON listing: a list of objects with a 'session' name.")
    sessions = [
        item
        for item in parsed
        if COVERAGE_TAG in (item.get("tags") or []) and item["session"].startswith(SESSION_PREFIX)
    ]
    if not sessions:
        raise ConfigError(
            f"{shown}: no session tagged '{COVERAGE_TAG}' in nox's listing; list them with "
            "nox --json -l -t coverage."
        )
    return sessions


def _shard_count(session: dict[str, Any], shown: str) -> int:
    counts = [int(m.group(1)) for tag in session.get("tags") or [] if (m := _SHARDS_TAG.match(str(tag)))]
    if len(counts) > 1 or (counts and not 1 <= counts[0] <= MAX_SHARDS):
        raise ConfigError(
            f"{shown}: session {session['session']} has shard tags {counts}; expected one "
            f"shards-N tag with N from 1 to {MAX_SHARDS}."
        )
    return counts[0] if counts else 1
