"""Export and import of the history as JSON Lines: round trip, merge, and refusals by line."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tasks.errors import ConfigError
from tasks.history import exchange
from tasks.history.store import History
from tests.test_history import snapshot


def filled(db: Path) -> None:
    with History.open(db, db.name, create=True) as store:
        store.record(snapshot(commit="1" * 40), set_baseline=True)
        store.record(snapshot(commit="2" * 40, covered=55))
        store.record(snapshot(commit="3" * 40, branch="feature", covered=30), set_baseline=True)


def test_export_import__round_trip_keeps_every_snapshot_file_and_baseline(tmp_path: Path) -> None:
    filled(tmp_path / "a.db")
    export = tmp_path / "history.jsonl"
    with History.open(tmp_path / "a.db", "a.db", create=False) as store:
        assert exchange.export(store, export) == (3, 2)
        originals = store.snapshots(files=True)
    lines = export.read_text().splitlines()
    assert json.loads(lines[0]) == {"format": exchange.FORMAT, "version": exchange.VERSION}
    assert [json.loads(line)["type"] for line in lines[1:]] == ["snapshot"] * 3 + ["baseline"] * 2
    snapshots, baselines = exchange.parse(export, "history.jsonl")
    with History.open(tmp_path / "b.db", "b.db", create=True) as store:
        assert store.merge(snapshots, baselines) == 3
        assert store.merge(snapshots, baselines) == 0  # importing twice adds nothing
        copies = store.snapshots(files=True)
        main, feature = store.baseline("main"), store.baseline("feature")
    assert [s.digest() for s in copies] == [s.digest() for s in originals]
    assert [len(s.files) for s in copies] == [3, 3, 3]
    assert main is not None and main.snapshot.commit == "1" * 40
    assert feature is not None and feature.snapshot.commit == "3" * 40


def write_export(tmp_path: Path, mutate_line: int, mutate: Callable[[str], str]) -> Path:
    filled(tmp_path / "a.db")
    export = tmp_path / "history.jsonl"
    with History.open(tmp_path / "a.db", "a.db", create=False) as store:
        exchange.export(store, export)
    lines = export.read_text().splitlines()
    lines[mutate_line - 1] = mutate(lines[mutate_line - 1])
    export.write_text("\n".join(lines) + "\n")
    return export


def edit(change: Callable[[dict[str, Any]], object]) -> Callable[[str], str]:
    def apply(line: str) -> str:
        record = json.loads(line)
        change(record)
        return json.dumps(record)

    return apply


@pytest.mark.parametrize(
    ("line", "mutate", "expected"),
    [
        (3, lambda line: line[:40], ["history.jsonl:3:", "not JSON"]),
        (1, lambda line: '{"format": "other"}', ["history.jsonl:1:", "not a history export"]),
        (
            2,
            edit(lambda r: r["services"][1]["isolated"].update(covered=-3)),
            ["history.jsonl:2:", "services[1]", "isolated.covered", "-3"],
        ),
        (
            3,
            edit(lambda r: r["services"][0]["whole"].update(covered=500)),
            ["history.jsonl:3:", "services[0]", "more covered than there are"],
        ),
        (
            4,
            edit(lambda r: r.update(recorded_at="yesterday")),
            ["history.jsonl:4:", "recorded_at", "UTC time"],
        ),
        (2, edit(lambda r: r.update(type="snap")), ["history.jsonl:2:", "type", "'snap'"]),
        (
            3,
            edit(lambda r: r.update(recorded_at="2026-99-99T99:99:99Z")),
            ["history.jsonl:3:", "recorded_at"],
        ),
        (
            2,
            edit(lambda r: r["services"][0]["isolated"].update(statements=10**20)),
            ["history.jsonl:2:", "isolated.statements"],
        ),
        (2, edit(lambda r: r["files"][0].update(covered=1)), []),  # unknown extra key: ignored
        (
            2,
            edit(lambda r: r["files"][0]["isolated"].update(covered=2)),
            ["history.jsonl:2:", "digest", "edited or damaged"],
        ),
        (5, edit(lambda r: r["snapshot"].update(commit="f" * 40)), ["history.jsonl:5:", "no earlier line"]),
        (4, edit(lambda r: r["environment"].pop("core")), ["history.jsonl:4:", "environment", "core"]),
    ],
)
def test_import__malformed_line_is_named_and_nothing_is_imported(
    tmp_path: Path,
    line: int,
    mutate: Callable[[str], str],
    expected: list[str],
) -> None:
    export = write_export(tmp_path, line, mutate)
    if not expected:
        snapshots, _ = exchange.parse(export, "history.jsonl")
        assert len(snapshots) == 3
        return
    with pytest.raises(ConfigError) as refused:
        exchange.parse(export, "history.jsonl")
    for fragment in expected:
        assert fragment in refused.value.message
    assert "Nothing was imported" in refused.value.message


def test_import__empty_file(tmp_path: Path) -> None:
    (tmp_path / "e.jsonl").write_text("")
    with pytest.raises(ConfigError) as refused:
        exchange.parse(tmp_path / "e.jsonl", "e.jsonl")
    assert "e.jsonl:1: empty file" in refused.value.message


def test_import__concatenated_exports(tmp_path: Path) -> None:
    filled(tmp_path / "a.db")
    export = tmp_path / "history.jsonl"
    with History.open(tmp_path / "a.db", "a.db", create=False) as store:
        exchange.export(store, export)
    both = tmp_path / "both.jsonl"
    both.write_text(export.read_text() * 2)
    snapshots, baselines = exchange.parse(both, "both.jsonl")
    assert len(snapshots) == 3 and len(baselines) == 4
    with History.open(tmp_path / "b.db", "b.db", create=True) as store:
        assert store.merge(snapshots, baselines) == 3
