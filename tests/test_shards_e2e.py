"""Shards through real nox sessions: a sharded service combines to exactly the unsharded
figures, a missing shard is named, and shards from other checkouts combine anywhere."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from coverage import CoverageData

from tasks.analyze.analysis import ServiceFigures
from tests.conftest import in_process, nox, tasks
from tests.test_pipeline_e2e import figures_of

pytestmark = pytest.mark.e2e

DATA = ".coverage-data"


def run_shard(project: Path, index: int, count: int = 3) -> None:
    result = nox(project, "-s", "coverage-xp", "--", "--shards", str(count), "--shard", str(index))
    assert result.returncode == 0, result.output
    assert f"data written to {DATA}/xp.shard-{index}-of-{count}" in result.stdout


def measured_files(path: Path) -> set[str]:
    data = CoverageData(basename=str(path))
    data.read()
    return data.measured_files()


def per_file(figures: tuple[ServiceFigures, ...]) -> dict[str, tuple[object, ...]]:
    return {f.path: (f.isolated, f.whole, f.isolated_missing) for service in figures for f in service.files}


def test_shards__combine_to_exactly_the_unsharded_figures(
    measured_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = measured_copy
    monkeypatch.chdir(project)
    _, unsharded = figures_of(project)
    for index in (1, 2, 3):
        run_shard(project, index)
    assert (project / DATA / "stale" / "xp").exists()  # the unsharded data is kept aside, not combined
    combined = in_process(project, "combine")
    assert combined.returncode == 0, combined.output
    # One entry for xp's three shards: the files any of them measured, counted once.
    per_shard = [measured_files(project / DATA / f"xp.shard-{i}-of-3") for i in (1, 2, 3)]
    assert all(per_shard)
    xp_files = set().union(*per_shard)
    assert f"xp (3 shards, {len(xp_files)} files), auth (" in combined.stdout
    _, sharded = figures_of(project)
    assert per_file(sharded) == per_file(unsharded)
    assert [s.isolated for s in sharded] == [s.isolated for s in unsharded]

    # One shard's data gone: combine names it and refuses; --allow-missing marks every report.
    (project / DATA / "xp.shard-2-of-3").unlink()
    refused = in_process(project, "combine")
    assert refused.returncode == 3
    assert "xp: shard 2 of 3 has no data at .coverage-data/xp.shard-2-of-3" in refused.stderr
    assert "--shards 3 --shard 2" in refused.stderr
    assert in_process(project, "combine", "--allow-missing").returncode == 0
    report = in_process(project, "report", "--format", "markdown")
    assert report.returncode == 0, report.output
    assert report.stdout.startswith("INCOMPLETE DATA")
    assert "xp: shard 2 of 3" in (project / "reports/summary.md").read_text().replace("\\", "")
    gate = in_process(project, "gate", "--policy", "total")
    assert "INCOMPLETE DATA" in gate.stdout
    # No check passes on data that lacks a service: the gate fails until told to judge the rest.
    assert gate.returncode == 1, gate.output
    assert "gate: FAIL" in gate.stdout and "incomplete" in gate.stdout
    judged = in_process(project, "gate", "--policy", "total", "--allow-missing")
    assert judged.returncode == 0, judged.output
    assert "gate: PASS" in judged.stdout and "INCOMPLETE DATA" in judged.stdout


def test_shards__declared_in_the_manifest_are_expected(measured_copy: Path) -> None:
    """The example declares xp's 2 shards (for CI's matrix). A whole-suite run of xp is
    complete on its own; without it, combine expects both shards and names the absent one."""
    assert "shards = 2" in (measured_copy / "configs/services.toml").read_text()
    assert in_process(measured_copy, "combine").returncode == 0  # unsharded xp data: complete

    (measured_copy / DATA / "xp").unlink()
    refused = in_process(measured_copy, "combine")
    assert refused.returncode == 3
    for index in (1, 2):
        assert f"xp: shard {index} of 2 has no data" in refused.stderr

    run_shard(measured_copy, 1, count=2)
    refused = in_process(measured_copy, "combine")
    assert refused.returncode == 3
    assert "xp: shard 2 of 2 has no data at .coverage-data/xp.shard-2-of-2" in refused.stderr
    assert "shard 1 of 2" not in refused.stderr


def test_shards__from_two_checkouts_combine_in_a_third(measured_copy: Path, tmp_path: Path) -> None:
    """Runners check out at different paths; the data holds project-relative paths."""
    first, second, third = (tmp_path / name / "repo" for name in ("runner-a", "runner-b", "combiner"))
    for target in (first, second, third):
        shutil.copytree(measured_copy, target)
    durations = tasks(first, "run", "xp", "--store-durations")
    assert durations.returncode == 0, durations.output
    recorded = json.loads((first / "configs/durations/xp.json").read_text())
    assert len(recorded) == 6 and all(key.startswith("tests/xp/") for key in recorded)
    run_shard(first, 1, count=2)
    run_shard(second, 2, count=2)
    for source, index in ((first, 1), (second, 2)):
        shutil.copy2(source / DATA / f"xp.shard-{index}-of-2", third / DATA / f"xp.shard-{index}-of-2")
    (third / DATA / "xp").unlink()
    combined = in_process(third, "combine")
    assert combined.returncode == 0, combined.output
    report = in_process(third, "report", "--format", "json")
    assert report.returncode == 0, report.output
    unsharded = in_process(measured_copy, "report", "--format", "json")
    table = [line for line in report.stdout.splitlines() if line.startswith(("xp ", "Total "))]
    expected = [line for line in unsharded.stdout.splitlines() if line.startswith(("xp ", "Total "))]
    assert table == expected and len(table) == 3  # xp and Total rows, and the masking matrix's xp row


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--shards", "3"), "--shards N and --shard K go together"),
        (("--shards", "3", "--shard", "4"), "K must be from 1 to N"),
        (("--maxfail", "0"), "at least 1"),
        (("--shards", "2", "--shard", "1", "--store-durations"), "without --shards"),
    ],
)
def test_run__shard_option_mistakes(kit_copy: Path, argv: tuple[str, ...], message: str) -> None:
    result = tasks(kit_copy, "run", "xp", *argv)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_shards__a_failed_whole_run_is_not_hidden_by_older_shards(measured_copy: Path) -> None:
    """Shards of auth pass; then a whole-suite run of auth fails: combine must not fall back
    on the older shards' figures."""
    for index in (1, 2):
        result = tasks(measured_copy, "run", "auth", "--shards", "2", "--shard", str(index))
        assert result.returncode == 0, result.output
    broken = measured_copy / "examples/monorepo/tests/auth/test_broken.py"
    broken.write_text("def test_broken():\n    assert False\n")
    failed = tasks(measured_copy, "run", "auth")
    assert failed.returncode == 1
    data = measured_copy / DATA
    assert not list(data.glob("auth.shard-*"))  # set aside, with the run's own failure
    assert sorted(p.name for p in (data / "stale").glob("auth.shard-*")) == [
        "auth.shard-1-of-2",
        "auth.shard-2-of-2",
    ]
    # auth is left out, named with its failure: not combined from the older shards.
    combined = in_process(measured_copy, "combine")
    assert combined.returncode == 0, combined.output
    assert "auth: its last run failed (tests failed); FAILED tests/auth/test_broken.py::test_broken" in (
        combined.stdout
    )
    assert "auth (" not in combined.stdout.splitlines()[0], combined.stdout
    reported = in_process(measured_copy, "report", "--format", "services")
    auth_row = next(line for line in reported.stdout.splitlines() if line.startswith("auth "))
    assert "no data" in auth_row, reported.stdout
