"""`affected` and carry-forward on the bundled example, in a git repository built here:
for each kind of change, the services named are the expected ones, and the data combined
from the affected services run afresh plus the others carried forward equals a full
re-run exactly: every file, every service's lines and arcs, the isolated, whole-suite and
changed-line figures."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest
from coverage import CoverageData

from tests.conftest import GIT_IDENTITY, Result, commit_everything, flat, in_process, private_copy, run, tasks
from tests.oracle import EXAMPLE_ROOT, EXAMPLE_SERVICES

pytestmark = pytest.mark.e2e

DATA = ".coverage-data"


def git(project: Path, *args: str) -> Result:
    result = run(["git", *args], project, env=GIT_IDENTITY)
    assert result.returncode == 0, result.output
    return result


def measure(project: Path, services: Iterable[str]) -> None:
    """Run each of `services` (a real run: a process, as the user's), then combine."""
    for service in services:
        result = tasks(project, "run", service)
        assert result.returncode == 0, result.output
    combined = in_process(project, "combine")
    assert combined.returncode == 0, combined.output


def measure_the_rest(project: Path, services: Iterable[str], measured: Iterable[str]) -> None:
    """Make the data a full re-run on the code as it is now: run afresh every service but
    those just `measured` on this very tree and commit (running one of those again would
    only repeat its run), then combine."""
    done = set(measured)
    measure(project, [service for service in services if service not in done])


def executed(data_file: Path) -> dict[tuple[str, str], tuple[frozenset, frozenset]]:
    """(file, service) -> the lines and arcs that service's tests ran: all a figure is made of."""
    data = CoverageData(basename=str(data_file))
    data.read()
    found = {}
    for context in sorted(data.measured_contexts()):
        data.set_query_contexts([context])
        for name in data.measured_files():
            found[(name, context)] = (frozenset(data.lines(name) or ()), frozenset(data.arcs(name) or ()))
    return found


def figures(project: Path) -> tuple[dict, tuple[list, list]]:
    """The per-file report (isolated and whole-suite) and the gate's changed-line figures."""
    report = in_process(project, "report", "--format", "services")
    assert report.returncode == 0, report.output
    services = json.loads((project / "reports/services.json").read_text())["services"]
    gated = in_process(project, "gate", "--base", "main", "--policy", "changed")
    assert gated.returncode in (0, 1), gated.output
    verdict = json.loads((project / "reports/gate.json").read_text())
    # The changed lines of each file, with the owner's tests' coverage of them, and the
    # checks they give; not the notes, which say what was carried.
    return {s["name"]: s["files"] for s in services}, (verdict["changed_files"], verdict["checks"])


@pytest.fixture(scope="module")
def measured_repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example in a git repository, every service measured on main (read only: copied)."""
    from tests.conftest import copy_kit

    project = copy_kit(tmp_path_factory.mktemp("affected") / "kit")
    commit_everything(project, f"{DATA}/\nreports/\n.coverage-history/\n")
    measure(project, EXAMPLE_SERVICES)
    return project


def append(path: str, text: str) -> Callable[[Path], None]:
    def edit(project: Path) -> None:
        target = project / path
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("a", encoding="utf-8") as handle:
            handle.write(text)

    return edit


SRC = f"{EXAMPLE_ROOT}/src"
TESTS = f"{EXAMPLE_ROOT}/tests"
CHANGES = {
    # a source file of discord's, which only discord's tests run
    "discord source": (
        append(f"{SRC}/discord/models.py", "\n\ndef shout(text):\n    return text.upper()\n"),
        {"discord"},
    ),
    # xp's levels, which the other services' tests run too
    "xp levels": (append(f"{SRC}/xp/levels.py", "\n\ndef cap():\n    return 99\n"), None),
    "auth test": (
        append(f"{TESTS}/auth/test_auth_tokens.py", "\n\ndef test_more():\n    assert True\n"),
        {"auth"},
    ),
    "xp conftest": (append(f"{TESTS}/xp/conftest.py", "import os\n"), {"xp"}),
    "manifest": (append("configs/services.toml", "\n# a comment\n"), set(EXAMPLE_SERVICES)),
    "root pyproject": (append(f"{EXAMPLE_ROOT}/pyproject.toml", "\n# a comment\n"), set(EXAMPLE_SERVICES)),
    "data file in a source folder": (append(f"{SRC}/auth/words.txt", "secret\n"), set(EXAMPLE_SERVICES)),
    "docs only": (append(f"{EXAMPLE_ROOT}/README.md", "\nMore.\n"), set()),
}


@pytest.mark.parametrize("kind", sorted(CHANGES))
def test_affected__carried_and_fresh_data_equal_a_full_rerun(
    kind: str, measured_repository: Path, tmp_path: Path
) -> None:
    project = private_copy(measured_repository, tmp_path)
    edit, expected = CHANGES[kind]
    git(project, "checkout", "-qb", "change")
    edit(project)
    git(project, "add", "-A")
    git(project, "commit", "-qm", kind)

    listed = in_process(project, "affected", "--base", "main", "--json")
    assert listed.returncode == 0, listed.output
    found = json.loads(listed.stdout)
    if expected is None:  # xp and whoever's tests ran levels.py, by coverage.py's own reading of the data
        ran = {
            ctx
            for (name, ctx), (lines, _) in executed(project / DATA / "combined").items()
            if name.endswith("xp/levels.py") and lines
        }
        expected = {"xp"} | ran
        assert len(expected) > 1, ran  # the example's other services do run it
    assert set(found["affected"]) == expected, found
    assert set(found["carried"]) == set(EXAMPLE_SERVICES) - expected, found
    assert all(found["reasons"][name] for name in found["affected"]), found

    measure(project, [s for s in EXAMPLE_SERVICES if s in expected])
    carried = executed(project / DATA / "combined")
    carried_figures = figures(project)
    if kind in ("discord source", "xp levels"):
        assert carried_figures[1][0], carried_figures  # the change has changed lines to judge
    if set(expected) != set(EXAMPLE_SERVICES):
        # Every output says what was carried, from which commit, and what was measured afresh.
        formats = ["markdown", "html"] if kind == "discord source" else ["markdown"]
        report = in_process(project, "report", *(f"--format={f}" for f in formats))
        base = git(project, "rev-parse", "main").stdout.strip()[:12]
        carried_names = ", ".join(s for s in EXAMPLE_SERVICES if s not in expected)
        said = (
            f"CARRIED FORWARD (their data still matches the code, file by file): {carried_names} from {base}."
        )
        outputs = {
            "terminal": report.stdout,
            "summary.md": (project / "reports/summary.md").read_text().replace("\\", ""),
            "comment.md": (project / "reports/comment.md").read_text().replace("\\", ""),
            "gate.json": " ".join(json.loads((project / "reports/gate.json").read_text())["notes"]),
        }
        if kind == "discord source":
            outputs["dashboard"] = (project / "reports/index.html").read_text()
        for name, text in outputs.items():
            assert said in text, (name, text)
            assert "Measured afresh at" in text and ", ".join(sorted(expected)) in text, (name, text)

    measure_the_rest(project, EXAMPLE_SERVICES, measured=expected)
    assert carried == executed(project / DATA / "combined")
    assert carried_figures == figures(project)


def test_combine__refuses_carried_data_whose_files_changed(measured_repository: Path, tmp_path: Path) -> None:
    project = private_copy(measured_repository, tmp_path)
    append(f"{SRC}/xp/levels.py", "\n\ndef cap():\n    return 99\n")(project)
    tasks(project, "run", "xp")  # xp afresh; auth and discord, whose tests ran levels.py, not
    combined = in_process(project, "combine")
    assert combined.returncode == 3, combined.output
    said = flat(combined.stderr)
    assert "auth, discord: ran examples/monorepo/src/xp/levels.py, changed since it was measured" in said, (
        said
    )


def test_affected__bad_input_is_exit_2_naming_it(measured_repository: Path, tmp_path: Path) -> None:
    unknown = in_process(measured_repository, "affected", "--base", "no-such-branch")
    assert unknown.returncode == 2, unknown.output
    assert "base ref 'no-such-branch' is not in this repository" in unknown.stderr, unknown.stderr
    missing = in_process(
        measured_repository, "affected", "--base", "main", "--data", str(tmp_path / "nowhere")
    )
    assert missing.returncode == 2, missing.output
    assert "nowhere: no such folder" in missing.stderr, missing.stderr
    # No data at all (a fresh CI runner without the base's): every service, saying why.
    empty = tmp_path / "empty"
    empty.mkdir()
    listed = in_process(measured_repository, "affected", "--base", "main", "--data", str(empty), "--json")
    assert listed.returncode == 0, listed.output
    found = json.loads(listed.stdout)
    assert found["affected"] == list(EXAMPLE_SERVICES), found
    assert any("to carry forward" in reason for reason in found["everything"]), found


def test_allow_stale__stale_data_is_never_called_carried_forward_and_the_gate_says_stale(
    measured_repository: Path, tmp_path: Path
) -> None:
    """auth's and discord's data ran xp/levels.py, changed since on a commit of the branch:
    shown anyway with --allow-stale, it is stale, not carried forward, and a passing gate on
    it says so in its verdict line, its JSON and its comment."""
    project = private_copy(measured_repository, tmp_path)
    git(project, "checkout", "-qb", "change")
    append(f"{SRC}/xp/levels.py", "\n\ndef cap():\n    return 99\n")(project)
    git(project, "commit", "-qam", "levels")
    assert tasks(project, "run", "xp").returncode == 0
    assert in_process(project, "combine", "--allow-stale").returncode == 0
    report = in_process(project, "report", "--allow-stale", "--format", "markdown")
    assert report.returncode == 0, report.output
    for text in (report.stdout, (project / "reports/summary.md").read_text().replace("\\", "")):
        assert "STALE DATA" in text, text
        assert "CARRIED FORWARD" not in text and "still matches the code" not in text, text
    gate = in_process(project, "gate", "--allow-stale", "--policy", "total")
    assert gate.returncode == 0, gate.output
    assert "gate: PASS on STALE data (auth, discord: measured on code that has changed since)" in gate.stdout
    verdict = json.loads((project / "reports/gate.json").read_text())
    assert (verdict["status"], verdict["stale"], verdict["stale_services"]) == (
        "pass",
        True,
        ["auth", "discord"],
    )
    assert "CARRIED FORWARD" not in " ".join(verdict["notes"])
    assert "pass on STALE data" in (project / "reports/comment.md").read_text().replace("\\", "")
    fresh = in_process(project, "gate", "--policy", "total")  # without the option: refused, exit 3
    assert fresh.returncode == 3, fresh.output


def test_affected__data_older_than_the_base_is_checked_against_what_changed_since(
    measured_repository: Path, tmp_path: Path
) -> None:
    """Every service measured at main's first commit; then a commit on main deletes one of
    auth's tests; then a change on a branch touches discord only. auth's data predates the
    base: auth is affected, saying why, and combining its old data is refused; xp, whose
    tests and code nothing touched, is still carried."""
    project = private_copy(measured_repository, tmp_path)
    deleted = f"{TESTS}/auth/test_auth_tokens.py"
    git(project, "rm", "-q", deleted)
    git(project, "commit", "-qm", "a test of auth goes, on main")
    git(project, "checkout", "-qb", "change")
    append(f"{SRC}/discord/service.py", "\n\ndef extra():\n    return 1\n")(project)
    git(project, "commit", "-qam", "discord")
    listed = in_process(project, "affected", "--base", "main", "--json")
    assert listed.returncode == 0, listed.output
    found = json.loads(listed.stdout)
    assert found["affected"] == ["auth", "discord"], found
    assert found["carried"] == ["xp"], found
    assert any(deleted in reason for reason in found["reasons"]["auth"]), found["reasons"]["auth"]
    tasks(project, "run", "discord")
    refused = in_process(project, "combine")
    assert refused.returncode == 3, refused.output
    said = flat(refused.stderr)
    assert f"auth: its tests or their configuration changed since it was measured: {deleted}" in said, said
    assert "Refresh it: nox -s coverage-auth combine" in said, said
    assert tasks(project, "run", "auth").returncode == 0
    assert in_process(project, "combine").returncode == 0  # measured afresh: taken


def test_affected__data_measured_at_a_commit_the_clone_does_not_have(
    measured_repository: Path, tmp_path: Path
) -> None:
    """A shallow clone, say: the commit auth's data records is not in it."""
    from tasks.measure import provenance

    project = private_copy(measured_repository, tmp_path)
    data = project / DATA / "auth"
    provenance.record(data, {"auth": "0123456789abcdef0123456789abcdef01234567"})
    listed = in_process(project, "affected", "--base", "main", "--json")
    assert listed.returncode == 0, listed.output
    found = json.loads(listed.stdout)
    assert found["affected"] == ["auth"], found
    (reason,) = found["reasons"]["auth"]
    assert reason.startswith("its data was measured at 0123456789ab, a commit this clone does not have"), (
        reason
    )
