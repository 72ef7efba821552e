"""The ratchet: floors rise to the figure minus the margin, never fall, and only numbers change."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tasks.analyze.analysis import Figures, ServiceFigures
from tasks.config import loader
from tasks.config import manifest as manifest_module
from tasks.history import ratchet
from tests.conftest import nox
from tests.oracle import EXAMPLE_SERVICES, example_isolated, example_whole

COMMENTED = """\
# Services of the shop.   Comments, spacing and order must survive.
[settings]
root = "repo"

[settings.thresholds]   # floors for the whole suite
line   = 70     # raised by hand in March
branch = 50.5
changed = 90

[services.api]
source = [ "src/api" ]
tests = ['tests/api']
thresholds = { line = 60, branch = 40 }   # inline table

[services.web]
source = ["src/web"]
tests = ["tests/web"]
thresholds.line = 95    # dotted key, above its figure: must not fall
"""

PYPROJECT = """\
[project]
name = "shop"

[tool.coverage.run]
parallel = true   # kept as is

[tool.coverage.report]
fail_under = 50   # ratcheted
show_missing = true
"""


def service(name: str, covered: int, taken: int) -> ServiceFigures:
    figures = Figures(statements=100, covered=covered, branches=20, covered_branches=taken)
    return ServiceFigures(name=name, isolated=figures, whole=figures, files=())


def project(tmp_path: Path, text: str = COMMENTED, newline: str = "\n") -> manifest_module.Manifest:
    for folder in ("repo/src/api", "repo/src/web", "repo/tests/api", "repo/tests/web", "configs"):
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
    (tmp_path / "configs/services.toml").write_bytes(text.replace("\n", newline).encode())
    (tmp_path / "repo/pyproject.toml").write_bytes(PYPROJECT.replace("\n", newline).encode())
    return loader.load(project_dir=tmp_path)


def masked(text: str) -> str:
    return re.sub(r"\d+(\.\d+)?", "N", text)


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_ratchet__changes_only_the_numbers_that_rise(tmp_path: Path, newline: str) -> None:
    loaded = project(tmp_path, newline=newline)
    measured = [service("api", covered=77, taken=13), service("web", covered=80, taken=20)]
    raises, diff = ratchet.run(loaded, measured, check=False)
    got = {(r.file.name, ".".join(r.keys)): r.new for r in raises}
    assert got == {
        # total: 157/200 = 78.5% line, 33/40 = 82.5% branch, minus the 1-point margin
        ("services.toml", "settings.thresholds.line"): 77.5,
        ("services.toml", "settings.thresholds.branch"): 81.5,
        ("services.toml", "services.api.thresholds.line"): 76.0,
        ("services.toml", "services.api.thresholds.branch"): 64.0,
        # coverage report's TOTAL counts branches too: (157 + 33) / (200 + 40) = 79.17%
        ("pyproject.toml", "tool.coverage.report.fail_under"): 78.1,
    }
    manifest_text = (tmp_path / "configs/services.toml").read_bytes().decode()
    pyproject_text = (tmp_path / "repo/pyproject.toml").read_bytes().decode()
    # byte for byte the same once numbers are masked: comments, spacing, quotes, line ends
    assert masked(manifest_text) == masked(COMMENTED.replace("\n", newline))
    assert masked(pyproject_text) == masked(PYPROJECT.replace("\n", newline))
    reread = tomllib.loads(manifest_text)
    assert reread["services"]["web"]["thresholds"]["line"] == 95  # above its 80%: never lowered
    assert reread["services"]["api"]["thresholds"] == {"line": 76, "branch": 64}
    assert reread["settings"]["thresholds"]["changed"] == 90  # not a figure the ratchet follows
    assert tomllib.loads(pyproject_text)["tool"]["coverage"]["report"]["fail_under"] == 78.1
    assert any(line.startswith("-line   = 70") for line in diff)
    assert ratchet.plan(loader.load(project_dir=tmp_path), measured) == []  # nothing left to raise


def test_ratchet__check_writes_nothing(tmp_path: Path) -> None:
    loaded = project(tmp_path)
    before = (tmp_path / "configs/services.toml").read_bytes()
    raises, diff = ratchet.run(loaded, [service("api", 90, 18), service("web", 90, 18)], check=True)
    assert raises and diff
    assert (tmp_path / "configs/services.toml").read_bytes() == before


def test_ratchet__figures_below_floors_raise_nothing(tmp_path: Path) -> None:
    loaded = project(tmp_path)
    assert ratchet.plan(loaded, [service("api", 10, 1), service("web", 10, 1)]) == []


@pytest.mark.parametrize(
    ("figure", "margin", "floor"), [(41.38, 1.0, 40.3), (80.0, 1.0, 79.0), (99.99, 0.0, 99.9)]
)
def test_floor_below__rounds_down_to_a_tenth(figure: float, margin: float, floor: float) -> None:
    assert ratchet.floor_below(figure, margin) == floor


def test_nox_ratchet__check_then_raise_on_the_example(measured_copy: Path, tmp_path: Path) -> None:
    manifest_path = measured_copy / "configs/services.toml"
    pyproject = measured_copy / "examples/monorepo/pyproject.toml"
    original = manifest_path.read_text(), pyproject.read_text()
    # What each floor should become, from strict coverage.py runs: the isolated figure of each
    # service, the whole-suite figure for the total, coverage.py's TOTAL for fail_under.
    margin = tomllib.loads(original[0])["ratchet"]["margin"]
    whole = example_whole(measured_copy, tmp_path)
    figures = {("settings",): whole} | {
        ("services", name): example_isolated(measured_copy, name, tmp_path) for name in EXAMPLE_SERVICES
    }
    floors = {}
    for keys, truth in figures.items():
        table = dig(tomllib.loads(original[0]), *keys, "thresholds")
        for metric, figure in (("line", truth.line_pct), ("branch", truth.branch_pct)):
            floors[(*keys, metric)] = (table[metric], max(table[metric], ratchet.floor_below(figure, margin)))
    fail_under = tomllib.loads(original[1])["tool"]["coverage"]["report"]["fail_under"]
    expected_fail_under = max(fail_under, ratchet.floor_below(whole.combined_pct, margin))
    rising = sum(new > old for old, new in floors.values()) + (expected_fail_under > fail_under)
    assert rising > 0  # the example has floors to raise, or the test proves nothing

    check = nox(measured_copy, "-s", "ratchet", "--", "--check")
    assert check.returncode == 1, check.output
    xp_line = floors[("services", "xp", "line")][1]
    assert "services.xp.thresholds.line" in check.stdout and f"+line = {xp_line}" in check.stdout
    assert (manifest_path.read_text(), pyproject.read_text()) == original
    raised = nox(measured_copy, "-s", "ratchet")
    assert raised.returncode == 0, raised.output
    assert f"raised {rising} floors" in raised.stdout
    assert masked(manifest_path.read_text()) == masked(original[0])
    assert masked(pyproject.read_text()) == masked(original[1])
    written = tomllib.loads(manifest_path.read_text())
    assert {keys: dig(written, *keys[:-1], "thresholds", keys[-1]) for keys in floors} == {
        keys: new for keys, (_, new) in floors.items()
    }
    assert (
        tomllib.loads(pyproject.read_text())["tool"]["coverage"]["report"]["fail_under"]
        == expected_fail_under
    )
    again = nox(measured_copy, "-s", "ratchet", "--", "--check")
    assert again.returncode == 0 and "no floor can rise" in again.stdout


def dig(document: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        document = document[key]
    return document
