"""What the history keeps: a snapshot of every service's and file's figures at one commit,
and the records that say what became of one when it was written."""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from ..analyze.analysis import Figures, ServiceFigures, headline_figures
from ..measure.toolinfo import Environment

KINDS = ("isolated", "whole")
COUNTS = ("statements", "covered", "branches", "covered_branches")


@dataclass(frozen=True, kw_only=True)
class ServiceRecord:
    name: str
    isolated: Figures
    whole: Figures


@dataclass(frozen=True, kw_only=True)
class FileRecord:
    path: str  # relative to the project directory
    service: str
    isolated: Figures
    whole: Figures


@dataclass(frozen=True, kw_only=True)
class Snapshot:
    commit: str
    branch: str
    recorded_at: str  # ISO 8601 in UTC, to the second: 2026-11-21T09:30:00Z
    environment: Environment
    services: tuple[ServiceRecord, ...]
    files: tuple[FileRecord, ...] = ()  # loaded only when asked for
    id: int | None = None

    def headline(self) -> dict[str, Figures]:
        """Each scope's judged figure (see analysis.headline_figures)."""
        return headline_figures(self.services)

    @property
    def when(self) -> str:
        """recorded_at for people: 2026-11-21 09:30."""
        return self.recorded_at.replace("T", " ")[:16]

    @property
    def label(self) -> str:
        number = f"#{self.id} " if self.id is not None else ""
        return f"{number}({self.branch} @ {self.commit[:7]}, {self.when})"

    def key(self) -> tuple[str, str, str, str]:
        """What identifies a snapshot across databases: commit, branch, time, figures."""
        return (self.commit, self.branch, self.recorded_at, self.digest())

    def digest(self) -> str:
        """A fingerprint of the figures: equal digests, equal measurements."""
        payload = {
            "services": [[s.name, asdict(s.isolated), asdict(s.whole)] for s in self.services],
            "files": sorted([f.path, f.service, asdict(f.isolated), asdict(f.whole)] for f in self.files),
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True, kw_only=True)
class Recorded:
    snapshot: Snapshot
    reused: bool  # the same commit, branch and figures were already recorded
    was_baseline: bool  # with set_baseline: it already was its branch's baseline
    replaced: Snapshot | None  # the baseline this one replaced, with --force


@dataclass(frozen=True, kw_only=True)
class Baseline:
    branch: str
    snapshot: Snapshot
    set_at: str


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_measured(
    services: Sequence[ServiceFigures], *, commit: str, branch: str, environment: Environment, at: str
) -> Snapshot:
    """A snapshot of figures computed from the combined data."""
    return Snapshot(
        commit=commit,
        branch=branch,
        recorded_at=at,
        environment=environment,
        services=tuple(ServiceRecord(name=s.name, isolated=s.isolated, whole=s.whole) for s in services),
        files=tuple(
            FileRecord(path=f.path, service=s.name, isolated=f.isolated, whole=f.whole)
            for s in services
            for f in s.files
        ),
    )
