"""Carry the history between machines: export to and import from JSON Lines.

One JSON object per line: a header, then one line per snapshot (with its per-file
figures), then one line per baseline. A line per record means an error can name the line
that is wrong, and files from several runs can be concatenated. Imports are validated in
full before anything is written, then merged in one transaction (History.merge).
"""

from __future__ import annotations

import datetime
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ..analyze.analysis import Figures
from ..errors import ConfigError
from ..measure.datafiles import atomic_path
from ..measure.toolinfo import Environment
from .snapshot import COUNTS, KINDS, FileRecord, ServiceRecord, Snapshot
from .store import MAX_INTEGER, History

FORMAT = "coverage-workflows-history"
VERSION = 1


def export(history: History, target: Path) -> tuple[int, int]:
    """Write every snapshot and baseline to `target` atomically; return their counts."""
    snapshots = history.snapshots(files=True)
    baselines = history.baselines()
    with atomic_path(target) as temporary, temporary.open("w", encoding="utf-8") as out:
        out.write(json.dumps({"format": FORMAT, "version": VERSION}) + "\n")
        for snapshot in snapshots:
            out.write(json.dumps({"type": "snapshot", **_snapshot_json(snapshot)}, sort_keys=True) + "\n")
        for baseline in baselines:
            record = {
                "type": "baseline",
                "branch": baseline.branch,
                "set_at": baseline.set_at,
                "snapshot": _key(baseline.snapshot),
            }
            out.write(json.dumps(record, sort_keys=True) + "\n")
    return len(snapshots), len(baselines)


def _snapshot_json(snapshot: Snapshot) -> dict[str, Any]:
    return {
        "commit": snapshot.commit,
        "branch": snapshot.branch,
        "recorded_at": snapshot.recorded_at,
        "environment": asdict(snapshot.environment),
        "services": [
            {"name": s.name, "isolated": asdict(s.isolated), "whole": asdict(s.whole)}
            for s in snapshot.services
        ],
        "files": [
            {"path": f.path, "service": f.service, "isolated": asdict(f.isolated), "whole": asdict(f.whole)}
            for f in snapshot.files
        ],
        "digest": snapshot.digest(),
    }


KEY_FIELDS = ("commit", "branch", "recorded_at", "digest")  # Snapshot.key(), in order


def _key(snapshot: Snapshot) -> dict[str, str]:
    return dict(zip(KEY_FIELDS, snapshot.key(), strict=True))


def parse(source: Path, shown: str) -> tuple[list[Snapshot], list[tuple[str, Snapshot, str]]]:
    """Every record of an export file, or a ConfigError naming the first line that is wrong."""
    try:
        lines = source.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise ConfigError(f"{shown}: no such file to import.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{shown}: cannot read it: {exc}.") from None
    snapshots: dict[tuple[str, str, str, str], Snapshot] = {}
    baselines: list[tuple[str, Snapshot, str]] = []
    for number, text in enumerate(lines, start=1):
        where = f"{shown}:{number}"
        if not text.strip() and number > 1:
            continue
        record = _object(text, where)
        if number == 1 or "format" in record:  # concatenated exports repeat the header
            _header(record, where)
            continue
        kind = record.get("type")
        if kind == "snapshot":
            snapshot = _Reader(where).snapshot(record)
            snapshots.setdefault(snapshot.key(), snapshot)
        elif kind == "baseline":
            reader = _Reader(where)
            key = reader.mapping(record, "snapshot")
            target = tuple(reader.text(key, field) for field in KEY_FIELDS)
            if target not in snapshots:
                raise ConfigError(
                    f"{where}: the baseline of {record.get('branch')!r} names a snapshot that no earlier "
                    "line holds. Nothing was imported; export the history again."
                )
            baselines.append(
                (reader.text(record, "branch"), snapshots[target], reader.timestamp(record, "set_at"))
            )
        else:
            raise ConfigError(
                f"{where}: type: expected 'snapshot' or 'baseline', got {kind!r}. Nothing was imported."
            )
    if not lines:
        raise ConfigError(
            f"{shown}:1: empty file; expected an export written by nox -s baseline -- --export."
        )
    return list(snapshots.values()), baselines


def _object(text: str, where: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{where}: not JSON ({exc.msg}, column {exc.colno}). Nothing was imported."
        ) from None
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a JSON object per line. Nothing was imported.")
    return value


def _header(record: dict[str, Any], where: str) -> None:
    if record.get("format") != FORMAT:
        raise ConfigError(
            f"{where}: not a history export (the first line must be the header "
            f'{{"format": "{FORMAT}", ...}}). Nothing was imported.'
        )
    if record.get("version") != VERSION:
        raise ConfigError(
            f"{where}: export version {record.get('version')!r}; this kit reads version {VERSION}. "
            "Nothing was imported."
        )


class _Reader:
    """Typed access to one line's fields; every problem names the line and the field."""

    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, field: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.where}: {field}: {problem}. Nothing was imported.")

    def mapping(self, record: dict[str, Any], field: str) -> dict[str, Any]:
        value = record.get(field)
        if not isinstance(value, dict):
            raise self.fail(field, f"expected an object, got {json.dumps(value)}")
        return value

    def text(self, record: dict[str, Any], field: str) -> str:
        value = record.get(field)
        if not isinstance(value, str) or not value:
            raise self.fail(field, f"expected a non-empty string, got {json.dumps(value)}")
        return value

    def timestamp(self, record: dict[str, Any], field: str) -> str:
        value = self.text(record, field)
        try:
            datetime.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")
        except ValueError:
            raise self.fail(
                field, f"expected a UTC time like 2026-11-21T09:30:00Z, got {json.dumps(value)}"
            ) from None
        return value

    def figures(self, record: dict[str, Any], field: str) -> Figures:
        table = self.mapping(record, field)
        counts = {}
        for name in COUNTS:
            value = table.get(name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < MAX_INTEGER:
                raise self.fail(f"{field}.{name}", f"expected a whole number >= 0, got {json.dumps(value)}")
            counts[name] = value
        figures = Figures(**counts)
        if figures.covered > figures.statements or figures.covered_branches > figures.branches:
            raise self.fail(field, "more covered than there are statements or branches")
        return figures

    def items(self, record: dict[str, Any], field: str) -> list[dict[str, Any]]:
        value = record.get(field)
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise self.fail(field, "expected a list of objects")
        return value

    def snapshot(self, record: dict[str, Any]) -> Snapshot:
        environment = self.mapping(record, "environment")
        services = []
        for index, item in enumerate(self.items(record, "services")):
            reader = _Reader(f"{self.where}: services[{index}]")
            services.append(
                ServiceRecord(
                    name=reader.text(item, "name"), **{kind: reader.figures(item, kind) for kind in KINDS}
                )
            )
        if not services:
            raise self.fail("services", "a snapshot needs at least one service")
        files = []
        for index, item in enumerate(self.items(record, "files")):
            reader = _Reader(f"{self.where}: files[{index}]")
            files.append(
                FileRecord(
                    path=reader.text(item, "path"),
                    service=reader.text(item, "service"),
                    **{kind: reader.figures(item, kind) for kind in KINDS},
                )
            )
        snapshot = Snapshot(
            commit=self.text(record, "commit"),
            branch=self.text(record, "branch"),
            recorded_at=self.timestamp(record, "recorded_at"),
            environment=Environment(
                **{
                    name: _Reader(f"{self.where}: environment").text(environment, name)
                    for name in ("python", "coverage", "core")
                }
            ),
            services=tuple(services),
            files=tuple(files),
        )
        if "digest" in record and record["digest"] != snapshot.digest():
            raise self.fail("digest", "does not match the figures on this line (edited or damaged)")
        return snapshot
