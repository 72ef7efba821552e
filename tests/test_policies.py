"""The policy engine, table-driven: figures and changed lines in, checks and statuses out."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tasks.analyze.analysis import Figures, FileFigures, ServiceFigures
from tasks.config import loader
from tasks.config import manifest as manifest_module
from tasks.gate import policies
from tasks.gate.policies import FAIL, PASS, WARN, ChangedFile


def load(tmp_path: Path, extra: str = "") -> manifest_module.Manifest:
    for folder in ("repo/src/api/legacy", "repo/src/web", "repo/tests"):
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
    (tmp_path / "configs").mkdir(exist_ok=True)
    text = textwrap.dedent(
        """
        [settings]
        root = "repo"
        [settings.thresholds]
        line = 80
        branch = 50
        file = 40

        [services.api]
        source = ["src/api"]
        tests = ["tests"]
        [services.api.thresholds]
        line = 60
        changed = 75

        [services.web]
        source = ["src/web"]
        tests = ["tests"]
        """
    )
    (tmp_path / "configs" / "services.toml").write_text(text + textwrap.dedent(extra))
    return loader.load(project_dir=tmp_path)


def figures(statements: int, covered: int, branches: int = 0, taken: int = 0) -> Figures:
    return Figures(statements=statements, covered=covered, branches=branches, covered_branches=taken)


def services() -> list[ServiceFigures]:
    api_files = (
        FileFigures(
            path="repo/src/api/core.py",
            service="api",
            isolated=figures(50, 30),
            whole=figures(50, 50),
            isolated_missing=(),
        ),
        FileFigures(
            path="repo/src/api/legacy/old.py",
            service="api",
            isolated=figures(50, 10),
            whole=figures(50, 40),
            isolated_missing=(),
        ),
    )
    web_files = (
        FileFigures(
            path="repo/src/web/app.py",
            service="web",
            isolated=figures(100, 95, 10, 9),
            whole=figures(100, 95, 10, 9),
            isolated_missing=(),
        ),
    )
    return [
        ServiceFigures(
            name="api", isolated=figures(100, 40, 10, 4), whole=figures(100, 90, 10, 8), files=api_files
        ),
        ServiceFigures(
            name="web", isolated=figures(100, 95, 10, 9), whole=figures(100, 95, 10, 9), files=web_files
        ),
    ]


def statuses(verdict: policies.Verdict) -> dict[tuple[str, str, str], str]:
    return {(c.policy, c.scope, c.metric): c.status for c in verdict.checks}


def test_evaluate__every_policy_with_target_and_actual(tmp_path: Path) -> None:
    manifest = load(tmp_path)
    changed = [
        ChangedFile(
            path="repo/src/api/core.py",
            service="api",
            lines=(1, 2, 3, 4),
            uncovered=(3, 4),
            branches=2,
            covered_branches=1,
        ),
        ChangedFile(
            path="repo/src/web/app.py",
            service="web",
            lines=(7, 8),
            uncovered=(),
            branches=0,
            covered_branches=0,
        ),
    ]
    verdict = policies.evaluate(manifest, services(), changed)
    assert statuses(verdict) == {
        ("total", "total", "line"): PASS,  # whole-suite 185/200 = 92.5% >= 80
        ("total", "total", "branch"): PASS,  # 17/20 = 85% >= 50
        ("service", "api", "line"): FAIL,  # isolated 40% < 60 (its whole-suite 90% does not count)
        ("file", "repo/src/api/core.py", "line"): PASS,  # 60% >= 40
        ("file", "repo/src/api/legacy/old.py", "line"): FAIL,  # 20% < 40
        ("file", "repo/src/web/app.py", "line"): PASS,
        ("changed", "changed:api", "line"): FAIL,  # 2/4 = 50% < 75 (the service's own floor)
        ("changed", "changed:web", "line"): PASS,  # 2/2 >= 90 (the default)
        ("changed", "changed:all", "line"): FAIL,  # 4/6 < 90
    }
    checks = {(c.policy, c.scope, c.metric): c for c in verdict.checks}
    assert ("service", "web", "line") not in checks  # web declares no floors
    assert checks[("service", "api", "line")].status == FAIL
    assert checks[("service", "api", "line")].actual == pytest.approx(40.0)
    assert checks[("total", "total", "line")].actual == pytest.approx(92.5)
    assert checks[("total", "total", "branch")].status == PASS
    assert checks[("file", "repo/src/api/legacy/old.py", "line")].status == FAIL
    assert checks[("file", "repo/src/api/core.py", "line")].status == PASS
    assert checks[("changed", "changed:api", "line")].target == 75.0
    assert checks[("changed", "changed:api", "line")].status == FAIL
    assert checks[("changed", "changed:web", "line")].target == 90.0
    assert checks[("changed", "changed:web", "line")].status == PASS
    assert checks[("changed", "changed:all", "line")].actual == pytest.approx(400 / 6)
    assert verdict.status == FAIL


@pytest.mark.parametrize(
    ("gate", "expected_status", "policies_present"),
    [
        ('[gate]\nservice = "warn"\nfile = "warn"\nchanged = "off"\n', WARN, {"total", "service", "file"}),
        ('[gate]\nservice = "off"\nfile = "off"\nchanged = "off"\n', PASS, {"total"}),
        ('[gate]\ntotal = "off"\nservice = "off"\nfile = "fail"\nchanged = "off"\n', FAIL, {"file"}),
    ],
)
def test_evaluate__modes_warn_and_off(
    tmp_path: Path, gate: str, expected_status: str, policies_present: set[str]
) -> None:
    manifest = load(tmp_path, gate)
    verdict = policies.evaluate(manifest, services(), [])
    assert verdict.status == expected_status
    assert {c.policy for c in verdict.checks} == policies_present


def test_evaluate__file_floor_overrides_by_longest_prefix(tmp_path: Path) -> None:
    manifest = load(tmp_path, '[gate.file_floors]\n"src/api" = 55\n"src/api/legacy" = 10\n')
    checks = {c.scope: c for c in policies.evaluate(manifest, services(), None).checks if c.policy == "file"}
    assert checks["repo/src/api/core.py"].target == 55 and checks["repo/src/api/core.py"].status == PASS
    assert (
        checks["repo/src/api/legacy/old.py"].target == 10
        and checks["repo/src/api/legacy/old.py"].status == PASS
    )
    assert checks["repo/src/web/app.py"].target == 40  # settings.thresholds.file


def test_evaluate__only_selected_policies_and_no_changed_lines(tmp_path: Path) -> None:
    manifest = load(tmp_path)
    verdict = policies.evaluate(manifest, services(), [], only=["changed"])
    assert [(c.scope, c.actual, c.status) for c in verdict.checks] == [("changed:all", None, PASS)]


def test_evaluate__changed_branch_floor(tmp_path: Path) -> None:
    load(tmp_path, '[gate]\ntotal = "off"\nservice = "off"\nfile = "off"\n')
    changed = [
        ChangedFile(
            path="repo/src/web/app.py",
            service="web",
            lines=(1,),
            uncovered=(),
            branches=4,
            covered_branches=1,
        )
    ]
    text = (
        (tmp_path / "configs" / "services.toml")
        .read_text()
        .replace("file = 40", "file = 40\nchanged_branch = 50")
    )
    (tmp_path / "configs" / "services.toml").write_text(text)
    manifest = loader.load(project_dir=tmp_path)
    checks = {(c.scope, c.metric): c for c in policies.evaluate(manifest, services(), changed).checks}
    assert checks[("changed:web", "branch")].status == FAIL
    assert checks[("changed:web", "branch")].actual == pytest.approx(25.0)
    assert checks[("changed:web", "line")].status == PASS


@pytest.mark.parametrize(
    ("uncovered", "statements", "added", "expected"),
    [
        ([3, 4, 5, 9], range(1, 20), [3, 4, 5, 9], "3-5, 9"),  # 6-8 unchanged: split
        ([10, 12], [10, 12], [10, 11, 12], "10-12"),  # 11 a changed comment: one range
        ([10, 12], [10, 11, 12], [10, 11, 12], "10, 12"),  # 11 a covered statement: split
        ([10, 12], [10, 12], [10, 12], "10, 12"),  # 11 unchanged: split
        ([], [1, 2], [1, 2], ""),
    ],
)
def test_ranges__grouped_over_the_change(
    uncovered: list[int], statements: list[int], added: list[int], expected: str
) -> None:
    assert policies.format_ranges(policies.ranges(uncovered, statements, added)) == expected


@pytest.mark.parametrize(
    ("now", "mode", "expected"),
    [
        (60.0, "fail", PASS),  # no change
        (59.95, "fail", PASS),  # within the 0.1 noise band
        (59.0, "fail", WARN),  # dropped, within the 2-point tolerance
        (58.0, "fail", WARN),  # exactly the tolerance is still tolerated
        (57.9, "fail", FAIL),  # beyond the tolerance
        (57.9, "warn", WARN),
        (70.0, "fail", PASS),  # a gain
    ],
)
def test_regression_checks__tolerance_and_noise_band(now: float, mode: str, expected: str) -> None:
    current = {"api": figures(10000, round(now * 100))}
    baseline = {"api": figures(100, 60)}
    (check,) = policies.regression_checks(current, baseline, tolerance=2.0, noise=0.1, mode=mode)
    assert check.status == expected
    assert check.baseline == 60.0 and check.target == 58.0
    assert check.delta == pytest.approx(now - 60.0)


def test_regression_checks__branch_too_and_only_scopes_on_both_sides() -> None:
    current = {"total": figures(100, 80, 10, 5), "api": figures(10, 5), "new": figures(10, 1)}
    baseline = {"total": figures(100, 80, 10, 9), "api": figures(10, 5), "gone": figures(10, 10)}
    checks = policies.regression_checks(current, baseline, tolerance=2.0, noise=0.1, mode="fail")
    assert [(c.scope, c.metric, c.status) for c in checks] == [
        ("total", "line", PASS),
        ("total", "branch", FAIL),  # 90% -> 50%
        ("api", "line", PASS),  # api has no branches on either side: not compared
    ]


def test_evaluate__regression_only_with_a_baseline(tmp_path: Path) -> None:
    manifest = load(tmp_path)
    without = policies.evaluate(manifest, services(), None, notes=["no baseline"])
    assert not [c for c in without.checks if c.policy == "regression"]
    assert without.notes == ("no baseline",)
    current = {s.name: s.isolated for s in services()}
    dropped = {name: figures(f.statements, f.statements) for name, f in current.items()}  # was 100%
    verdict = policies.evaluate(manifest, services(), None, baseline=dropped)
    failing = {(c.scope, c.metric) for c in verdict.failing("regression")}
    assert ("api", "line") in failing and verdict.status == FAIL


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        ((250, 11), (250, 6), WARN),  # -2.0000000000000004 in floats: exactly the tolerance
        ((1000, 874), (1000, 873), PASS),  # -0.10000000000000853: exactly the noise band
    ],
)
def test_regression_checks__boundaries_hold_for_inexact_fractions(
    before: tuple[int, int], after: tuple[int, int], expected: str
) -> None:
    (check,) = policies.regression_checks(
        {"api": figures(*after)}, {"api": figures(*before)}, tolerance=2.0, noise=0.1, mode="fail"
    )
    assert check.status == expected


@pytest.mark.parametrize(
    ("isolated", "expected"),
    [
        (figures(0, 0), {"line": FAIL, "branch": FAIL}),  # only an empty __init__.py: a broken setup
        (figures(10, 10), {"line": PASS, "branch": PASS}),  # code without branches: its branch floor holds
    ],
    ids=["no code at all", "code without branches"],
)
def test_evaluate__a_service_with_no_code_fails_line_and_branch_alike(
    tmp_path: Path, isolated: Figures, expected: dict[str, str]
) -> None:
    manifest = load(tmp_path, "[services.web.thresholds]\nline = 50\nbranch = 50\n")
    web = ServiceFigures(name="web", isolated=isolated, whole=isolated, files=())
    verdict = policies.evaluate(manifest, [web], None, only=["service"])
    assert {c.metric: c.status for c in verdict.checks if c.scope == "web"} == expected
