"""The CI matrix of services x shards, derived from `nox --json -l -t coverage`.

The coverage-<service> sessions come from the manifest and carry their shard count as a
`shards-N` tag, so nox's own listing is the whole truth: no list of services is kept by
hand in the workflow. Each run says which session to run with which shard arguments.

A job runs one of them, or, where the manifest caps the jobs (`[ci] runners = N`) or there
are more runs than GitHub's 256 jobs, several: the runs are packed into the jobs by their
recorded durations, the longest first, each into the job with the least work so far. A job
lists its runs (a line each: session, shard, shards), its data files, and the artifact its
data travels under.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from typing import Any

from ..config.layout import Shard, durations_file, service_file
from ..config.manifest import MAX_CI_JOBS, MAX_SHARDS, Manifest
from ..errors import ConfigError
from ..text import first_few

SESSION_PREFIX = "coverage-"
COVERAGE_TAG = "coverage"
_SHARDS_TAG = re.compile(r"shards-(\d+)\Z")
ARTIFACT_PREFIX = "coverage-data-"  # the combine job downloads every artifact named so
MAX_RUNS = 1000  # service shards one matrix packs; more is a typo, not a plan


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
    if sum(counts) > MAX_RUNS:
        raise ConfigError(
            f"{shown}: {sum(counts)} service shards; the matrix packs at most {MAX_RUNS} into its "
            f"jobs. Lower services' shards in {manifest.display(manifest.path)}."
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


@dataclass(frozen=True, kw_only=True)
class Job:
    name: str  # the job's title: "xp 1/3", or "3 of 20: auth, xp 1/3 and 5 more"
    runs: str  # a line per run: "<session> <shard> <shards>"
    data: str  # a line per data file its runs write, relative to the project
    artifact: str
    service: str  # its one service ("" for a job of several): what Codecov's flags name


def pack(found: list[Entry], manifest: Manifest) -> list[Job]:
    """The jobs that run `found`: one each while they fit the jobs allowed (the manifest's
    `[ci] runners`, else GitHub's 256), else packed by duration into that many."""
    allowed = manifest.ci_runners or MAX_CI_JOBS
    if len(found) <= allowed and manifest.ci_runners is None:
        return [_job(entry.name, [entry], entry.artifact, entry.service) for entry in found]
    count = min(allowed, len(found))
    seconds = _durations(manifest, found)
    loads = [0.0] * count
    packed: list[list[Entry]] = [[] for _ in range(count)]
    # Longest first, each into the job with the least so far; ties go to the earlier job.
    for entry in sorted(found, key=lambda e: -seconds[e.name]):
        at = min(range(count), key=lambda index: (loads[index], index))
        packed[at].append(entry)
        loads[at] += seconds[entry.name]
    jobs = []
    for number, entries_here in enumerate(packed, 1):
        names = [entry.name for entry in entries_here]
        services = {entry.service for entry in entries_here}
        jobs.append(
            _job(
                f"{number} of {count}: {first_few(names, 2)}",
                entries_here,
                f"{ARTIFACT_PREFIX}job-{number}-of-{count}",
                services.pop() if len(services) == 1 else "",
            )
        )
    return jobs


def _job(name: str, runs: list[Entry], artifact: str, service: str) -> Job:
    return Job(
        name=name,
        runs="\n".join(f"{entry.session} {entry.shard} {entry.shards}" for entry in runs),
        data="\n".join(entry.data for entry in runs),
        artifact=artifact,
        service=service,
    )


def _durations(manifest: Manifest, found: list[Entry]) -> dict[str, float]:
    """Each run's seconds, from the test durations its service's runs recorded (pytest-split's
    file), split evenly between its shards; a service with none recorded counts as the mean
    of those that have, or 1 s when none has."""
    totals: dict[str, float] = {}
    for service in {entry.service for entry in found}:
        try:
            recorded = json.loads(durations_file(manifest, service).read_text(encoding="utf-8"))
            totals[service] = float(sum(v for v in recorded.values() if isinstance(v, int | float)))
        except (OSError, ValueError, AttributeError):
            continue
    known = [seconds for seconds in totals.values() if seconds > 0]
    fallback = sum(known) / len(known) if known else 1.0
    return {entry.name: (totals.get(entry.service) or fallback) / entry.shards for entry in found}


def github_matrix(jobs: list[Job]) -> dict[str, Any]:
    return {"include": [asdict(job) for job in jobs]}


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
