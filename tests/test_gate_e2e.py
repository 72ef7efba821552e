"""`nox -s gate` end to end on the example under git, with diff-cover as an oracle."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import commit_all, copy_kit, flat, git, in_process, nox, private_copy, run, tasks
from tests.oracle import no_config, strict_run

pytestmark = pytest.mark.e2e

SERVICES = ("coverage-xp", "coverage-auth", "coverage-discord", "combine")
AUTH = "examples/monorepo/src/auth/service.py"
UNTESTED = '''

def describe_lockout(failures: int, limit: int = 5) -> str:
    """How a user's failed logins stand against the lockout limit."""
    # Counted per account, reset on a successful login.
    if failures >= limit:
        return "locked"
    remaining = limit - failures
    return f"{remaining} attempts left"
'''
TEST = """
from auth.service import describe_lockout


def test_describe_lockout():
    assert describe_lockout(5) == "locked"
    assert describe_lockout(2) == "3 attempts left"
"""


def make_feature_branch(project: Path) -> Path:
    """The kit and example under git in `project`: main as the base, a feature branch
    adding an untested function to auth."""
    copy_kit(project, ".gitignore")
    git(project, "init", "-q", "-b", "main")
    commit_all(project, "base")
    git(project, "checkout", "-q", "-b", "feature")
    with (project / AUTH).open("a") as handle:
        handle.write(UNTESTED)
    commit_all(project, "feature: lockout description")
    return project


@pytest.fixture
def feature_branch(tmp_path: Path) -> Path:
    """The feature branch, not measured yet."""
    return make_feature_branch(tmp_path / "kit")


@pytest.fixture(scope="module")
def measured_feature(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The feature branch measured by the real sessions (read only: copied)."""
    project = make_feature_branch(tmp_path_factory.mktemp("feature") / "kit")
    result = nox(project, "-s", *SERVICES)
    assert result.returncode == 0, result.output
    return project


@pytest.fixture
def measured_feature_copy(measured_feature: Path, tmp_path: Path) -> Path:
    """A private copy of `measured_feature` that a test may change."""
    return private_copy(measured_feature, tmp_path)


def added_line_numbers(project: Path) -> tuple[int, int]:
    """Where the untested body landed: first and last statement lines of the function body."""
    lines = (project / AUTH).read_text().splitlines()
    start = lines.index("    if failures >= limit:") + 1
    end = lines.index('    return f"{remaining} attempts left"') + 1
    return start, end


def test_gate__untested_change_fails_naming_service_file_and_lines_then_passes(
    measured_feature_copy: Path,
) -> None:
    project = measured_feature_copy
    result = nox(project, "-s", "gate", "--", "--base", "main")
    assert result.returncode == 1, result.output
    start, end = added_line_numbers(project)
    assert f"auth: {AUTH}: lines {start}-{end}" in result.stdout
    assert "changed  changed:auth" in result.stdout
    verdict = json.loads((project / "reports" / "gate.json").read_text())
    assert verdict["status"] == "fail"
    by_scope = {(c["policy"], c["scope"], c["metric"]): c for c in verdict["checks"]}
    auth_changed = by_scope[("changed", "changed:auth", "line")]
    assert (auth_changed["covered"], auth_changed["total"], auth_changed["status"]) == (1, 5, "fail")
    assert all({"target", "actual", "status"} <= set(c) for c in verdict["checks"])

    (project / "examples/monorepo/tests/auth/test_auth_lockout.py").write_text(TEST)
    assert nox(project, "-s", *SERVICES).returncode == 0
    passing = nox(project, "-s", "gate", "--", "--base", "main")
    assert passing.returncode == 0, passing.output
    assert "gate: PASS" in passing.stdout


def test_gate__changed_lines_equal_diff_cover(feature_branch: Path, tmp_path: Path) -> None:
    """The changed-line figure, per file and in total, agrees with diff-cover fed by strict
    per-service runs (a line counts when its own service's tests run it)."""
    project = feature_branch
    example = project / "examples" / "monorepo"
    # Extra changes: a covered change in xp, and a file with a space in its name.
    levels = example / "src/xp/levels.py"
    levels.write_text(levels.read_text() + "\n\nLEVEL_CAP = 100\n")
    (example / "src/discord/slow mode.py").write_text(
        "def delay(n):\n    if n > 3:\n        return 10\n    return n\n"
    )
    commit_all(project, "more changes")
    assert nox(project, "-s", *SERVICES).returncode == 0
    gate = in_process(project, "gate", "--base", "main", "--policy", "changed")
    assert gate.returncode == 1, gate.output
    ours = json.loads((project / "reports" / "gate.json").read_text())

    reports = []
    for service in ("xp", "auth", "discord"):
        data = tmp_path / f"strict-{service}"
        strict_run(example, [example / "src" / service], [f"tests/{service}"], data)
        xml = tmp_path / f"{service}.xml"
        assert (
            run(
                [
                    sys.executable,
                    "-m",
                    "coverage",
                    "xml",
                    no_config(data),
                    f"--data-file={data}",
                    "-o",
                    str(xml),
                ],
                example,
            ).returncode
            == 0
        )
        reports.append(str(xml))
    out = tmp_path / "diff-cover.json"
    oracle = subprocess.run(
        ["diff-cover", *reports, "--compare-branch=main", f"--format=json:{out}"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.exists(), oracle.stdout + oracle.stderr
    truth = json.loads(out.read_text())

    total = next(c for c in ours["checks"] if c["scope"] == "changed:all" and c["metric"] == "line")
    assert total["total"] == truth["total_num_lines"]
    assert total["total"] - total["covered"] == truth["total_num_violations"]
    ours_by_file = {f["path"]: f for f in ours["changed_files"]}
    for path, stats in truth["src_stats"].items():
        mine = ours_by_file[path]
        assert sorted(mine["uncovered"]) == sorted(stats["violation_lines"]), path
    assert set(truth["src_stats"]) == {p for p, f in ours_by_file.items() if f["lines"]}
    assert "examples/monorepo/src/discord/slow mode.py" in ours_by_file


def test_gate__github_outputs(measured_feature_copy: Path, tmp_path: Path) -> None:
    project = measured_feature_copy
    summary = tmp_path / "summary.md"
    result = run(
        [sys.executable, "-m", "tasks", "gate", "--base", "main"],
        project,
        env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)},
    )
    assert result.returncode == 1
    start, end = added_line_numbers(project)
    assert f"::error file={AUTH},line={start},endLine={end},title=Uncovered changed lines::" in result.stdout
    text = summary.read_text()
    assert text.startswith("## Coverage gate: fail")
    assert "| Policy | Scope | Metric | Target | Actual | Status |" in text
    # The change's statements: the def line (run when the tests import the module) and the four
    # of its body that no test runs: 1 of 5.
    assert "| changed | changed:auth | line | 90% | 20.0% | **fail** |" in text
    assert f"examples/monorepo/src/auth/service\\.py: lines {start}-{end}" in text


def test_gate__shallow_clone_without_base_exits_2_with_the_fix(
    measured_feature: Path, tmp_path: Path
) -> None:
    project = measured_feature  # read only: the clone is the test's
    clone = tmp_path / "shallow"
    subprocess.run(
        [
            "git",
            "clone",
            "-q",
            "--depth",
            "1",
            "--branch",
            "feature",
            "--single-branch",
            f"file://{project}",
            str(clone),
        ],
        check=True,
    )
    shutil.copytree(project / ".coverage-data", clone / ".coverage-data")
    result = nox(clone, "-s", "gate", "--", "--base", "origin/main")
    assert result.returncode == 2, result.output
    assert "'origin/main' is not in this repository (this is a shallow clone)" in result.output
    assert "fetch-depth: 0" in result.output
    assert "Traceback" not in result.output


def test_gate__unowned_changed_file_is_reported(feature_branch: Path) -> None:
    project = feature_branch
    (project / "examples/monorepo/src/orphan.py").write_text("def lost():\n    return 1\n")
    git(project, "add", "-A")
    assert nox(project, "-s", *SERVICES).returncode == 0
    result = in_process(project, "gate", "--base", "main", "--policy", "changed")
    assert "Changed Python files that no service owns" in result.stdout
    assert "examples/monorepo/src/orphan.py" in result.stdout
    verdict = json.loads((project / "reports" / "gate.json").read_text())
    assert verdict["unowned_files"] == ["examples/monorepo/src/orphan.py"]


def test_gate__the_users_git_settings_change_nothing_and_untracked_files_count(
    measured_feature_copy: Path, tmp_path: Path
) -> None:
    project = measured_feature_copy
    gate = ("gate", "--base", "main", "--policy", "changed")

    def verdict(env: dict[str, str] | None = None, *extra: str) -> tuple[int, list[str], str]:
        result = in_process(project, *gate, *extra, env=env)
        listed = [line for line in result.stdout.splitlines() if ": lines " in line or ": line " in line]
        return result.returncode, listed, (project / "reports" / "gate.json").read_text()

    plain = verdict()
    start, end = added_line_numbers(project)
    assert plain[0] == 1 and any(f"auth: {AUTH}: lines {start}-{end}" in line for line in plain[1]), plain
    for setting in ("mnemonicPrefix", "noprefix", "relative"):
        user_config = tmp_path / f"{setting}.gitconfig"
        user_config.write_text(f"[diff]\n\t{setting} = true\n")
        assert verdict({"GIT_CONFIG_GLOBAL": str(user_config)}) == plain, setting

    extra = "examples/monorepo/src/auth/extra.py"
    (project / extra).write_text("def untested(x):\n    if x:\n        return 1\n    return 2\n")
    status, listed, _ = verdict()
    assert status == 1
    assert any(f"auth: {extra}: lines 1-4" in line for line in listed), listed  # not yet added to git
    _, left_out, _ = verdict(None, "--exclude-untracked")
    assert not [line for line in left_out if extra in line]


def test_gate__a_commit_as_base_gets_a_regression_note_about_branches(measured_feature_copy: Path) -> None:
    project = measured_feature_copy
    sha = git(project, "rev-parse", "main").strip()
    result = in_process(project, "gate", "--base", sha, "--policy", "regression")
    assert result.returncode == 0, result.output
    assert f"baselines belong to branches, and {sha!r} names none: pass --base BRANCH" in flat(result.stdout)
    assert f"record one on {sha}" not in result.stdout


def test_gate__the_kits_own_files_are_never_unowned(make_project) -> None:
    """The kit copied into the repository it measures (root "."): a change to its package
    or its noxfile is no service's code, and no unowned file either; a tool of the
    repository's own still is."""
    project = make_project(
        {
            "configs/services.toml": '[services.web]\nsource = ["src/web"]\ntests = ["tests/web"]\n',
            "pytest.ini": "[pytest]\npythonpath = src\n",
            "src/web/__init__.py": "",
            "src/web/core.py": "def f():\n    return 1\n",
            "tests/web/test_core.py": "from web.core import f\n\n\ndef test_f():\n    assert f() == 1\n",
        }
    )
    (project / ".gitignore").write_text(".coverage-data/\nreports/\n")
    git(project, "init", "-q", "-b", "main")
    commit_all(project, "base")
    git(project, "checkout", "-q", "-b", "change")
    for kit_file in ("tasks/errors.py", "noxfile.py"):
        with (project / kit_file).open("a") as handle:
            handle.write("\n\ndef _added_by_the_team():\n    return 1\n")
    (project / "tools").mkdir()
    (project / "tools/release.py").write_text("def release():\n    return 1\n")
    commit_all(project, "change the vendored kit, add a tool")
    assert tasks(project, "run", "web").returncode == 0
    assert in_process(project, "combine").returncode == 0
    result = in_process(project, "gate", "--base", "main", "--policy", "changed")
    assert "Traceback" not in result.output
    verdict = json.loads((project / "reports" / "gate.json").read_text())
    assert verdict["unowned_files"] == ["tools/release.py"], result.output
