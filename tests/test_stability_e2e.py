"""`nox -s stability` finds a deliberately nondeterministic branch, and declaring it noisy
lets the gate's regression and changed-line policies pass (saying how much they ignored)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import flat, nox, tasks
from tests.test_gitdiff import commit_all, git

pytestmark = pytest.mark.e2e

MANIFEST = """
    [settings]
    root = "repo"

    [gate]
    base = "main"
    file = "off"
    total = "off"
    service = "off"
    tolerance = 2.0

    [services.coin]
    source = ["src/coin"]
    tests = ["tests/coin"]
"""

REPO = {
    "configs/services.toml": MANIFEST,
    ".gitignore": ".coverage-data/\n.coverage-history/\nreports/\nrepo/tests/coin/last-toss\n",
    "repo/pyproject.toml": """
        [tool.pytest.ini_options]
        pythonpath = ["src"]
    """,
    "repo/src/coin/__init__.py": "",
    # Lines 3-5 run only on heads, line 6 only on tails: which one alternates from run to run.
    "repo/src/coin/toss.py": """
        def call(heads):
            if heads:
                label = "heads"
                label = label.upper()
                return label
            return "tails"


        def steady(n):
            total = 0
            for i in range(n):
                total += i
            return total
    """,
    "repo/tests/coin/test_toss.py": """
        from pathlib import Path

        from coin.toss import call, steady

        LAST = Path(__file__).with_name("last-toss")


        def test_call_alternates_between_runs():
            heads = not LAST.exists() or LAST.read_text() == "tails"
            LAST.write_text("heads" if heads else "tails")
            assert call(heads) in ("HEADS", "tails")


        def test_steady():
            assert steady(4) == 6
    """,
}

FLAKY_FILE = "repo/src/coin/toss.py"


def measure(project: Path) -> None:
    result = nox(project, "-s", "coverage-coin", "combine")
    assert result.returncode == 0, result.output


@pytest.fixture
def flaky_project(make_project: Callable[[dict[str, str]], Path]) -> Path:
    """Main measured on heads with its baseline set; a feature branch that touches the
    heads-only lines, measured on tails."""
    project = make_project(REPO)
    git(project, "init", "-q", "-b", "main")
    commit_all(project, "coin service")
    measure(project)  # heads
    result = tasks(project, "baseline", "--set", "--branch", "main")
    assert result.returncode == 0, result.output
    git(project, "checkout", "-q", "-b", "feature")
    toss = project / FLAKY_FILE
    toss.write_text(toss.read_text().replace("label.upper()", "label.upper().strip()"))
    commit_all(project, "strip the label")
    measure(project)  # tails: the heads lines, one of them changed, are not run
    return project


def test_stability__finds_the_nondeterministic_branch_and_noisy_lets_the_gate_pass(
    flaky_project: Path,
) -> None:
    project = flaky_project
    before = tasks(project, "gate")
    assert before.returncode == 1, before.output
    # main's baseline ran heads (10 of 11 statements), this branch tails (8 of 11)
    assert re.search(r"regression\s+coin\s+line\s+baseline 90\.9%\s+72\.7% \(-18\.2\)\s+fail", before.stdout)
    assert re.search(r"changed\s+changed:coin\s+line", before.stdout)
    pr_comment = (project / "reports/comment.md").read_text()
    assert "| coin | 72.7% | 75.0% | 72.7% | +0.0 | -18.2 | 0 of 1 (0.0%) |" in pr_comment
    combined = (project / ".coverage-data/combined").read_bytes()

    found = nox(project, "-s", "stability", "--", "coin", "--runs", "3")
    assert found.returncode == 1, found.output  # flaky lines not yet declared
    report = found.stdout
    # Runs 1 and 3 toss heads, run 2 tails (the state file alternates): lines 3-5 ran in
    # runs 1 and 3, line 6 in run 2, and the branch on line 2 took different exits.
    rows = {
        int(m["line"]): (m["kind"], m["runs"])
        for m in re.finditer(
            r"repo/src/coin/toss\.py\s+(?P<line>\d+)\s+(?P<kind>line|branch)\s+(?P<runs>[^\n]*?)\s{2}", report
        )
    }
    assert rows == {
        2: ("branch", "exits differ"),
        3: ("line", "run 1, 3 of 3"),
        4: ("line", "run 1, 3 of 3"),
        5: ("line", "run 1, 3 of 3"),
        6: ("line", "run 2 of 3"),
    }, report
    assert "test_toss.test_call_alternates_between_runs" in report
    assert "test_steady" not in report.split("noisy =")[0].split("toss.py")[-1]
    suggestion = re.search(r"noisy = (\[.*\])", report)
    assert suggestion is not None, report
    entries = json.loads(suggestion.group(1))
    assert entries == ["src/coin/toss.py:2-6"]
    # stability's runs are its own: the combined data the gate reads is untouched
    assert (project / ".coverage-data/combined").read_bytes() == combined

    manifest = project / "configs/services.toml"
    manifest.write_text(
        manifest.read_text().replace("tolerance = 2.0", f"tolerance = 2.0\nnoisy = {json.dumps(entries)}")
    )
    after = tasks(project, "gate")
    assert after.returncode == 0, after.output
    # the three heads lines this run missed count as covered: 11 of 11 against 10 of 11
    assert re.search(r"regression\s+coin\s+line\s+baseline 90\.9%\s+100\.0% \(\+9\.1\)\s+pass", after.stdout)
    # The changed line (4) is noisy, so no changed statement is left to judge.
    assert "Noisy lines (gate.noisy): 1 line left out of the changed-line policy" in flat(after.stdout)
    assert "3 lines this run missed counted as covered by the regression policy" in flat(after.stdout)
    # The comment's delta is the figure the verdict judged (noisy lines forgiven).
    assert (
        "| coin | 72.7% | 75.0% | 72.7% | +0.0 | +9.1 | - |" in (project / "reports/comment.md").read_text()
    )
    verdict = json.loads((project / "reports/gate.json").read_text())
    assert verdict["status"] == "pass"
    assert [f["noisy"] for f in verdict["changed_files"]] == [1]

    again = nox(project, "-s", "stability", "--", "coin")
    assert again.returncode == 0, again.output  # the same lines, all declared now
    assert "declared noisy" in again.stdout
