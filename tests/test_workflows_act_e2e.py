"""coverage.yml and maintenance.yml run for real under act, on the bundled example: what a
team would see on GitHub (each job's result, the artifacts, the job summary, the comment,
the history branch). `nox -s workflows` runs them (docs/ci.md, "Running the workflows
locally"); elsewhere they are skipped, as they are where act or the pinned actions are absent.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tasks.gate.comment import MARKER
from tests.act import runner
from tests.conftest import copy_kit, git, nox_in_venvs, write_files
from tests.test_adopt_e2e import KIT_FOLDER, SRC_LAYOUT

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not os.environ.get("KIT_RUN_WORKFLOWS"), reason="run by nox -s workflows (docs/ci.md)"
    ),
]
EXAMPLE = "examples/monorepo"
COMMANDS = f"{EXAMPLE}/src/discord/commands.py"


def covered_statement(kit: Kit) -> str:
    """discord's commands.py with one more statement at its top, which its tests run."""
    text = (kit.work / COMMANDS).read_text(encoding="utf-8")
    return text.replace("MAX_TOP = 25\n", "MAX_TOP = 25\nTOP_RANGE = (1, MAX_TOP)\n")


@dataclass
class Kit:
    """The kit's repository after a push run of main: its work tree, its cache, that run."""

    work: Path
    cache: Path
    folder: Path
    push: runner.WorkflowRun
    main: str  # the commit that run measured

    def run(self, name: str, event_name: str, event: dict[str, object], **gh: str) -> runner.WorkflowRun:
        """Run coverage.yml (or maintenance.yml for a schedule) with a gh whose state is `gh`:
        "run_list" what `gh run list` answers, "comments" the comments already there."""
        state = self.folder / name / "gh"
        (state / "runs").mkdir(parents=True)
        shutil.copytree(self.push.artifacts, state / "runs" / "1")  # the push run is run 1
        (state / "run-list").write_text(gh.get("run_list", "1"))
        (state / "comments.json").write_text(gh.get("comments", "[]"))
        workflow = "maintenance.yml" if event_name == "schedule" else "coverage.yml"
        return runner.run_workflow(
            cache=self.cache,
            work=self.work,
            scratch=self.folder / name / "act",
            gh_state=state,
            workflow=workflow,
            event_name=event_name,
            event=event,
        )

    def pull_request(
        self, name: str, change: dict[str, str], base: str | None = None, **gh: str
    ) -> runner.WorkflowRun:
        """A pull request from a branch off `base` (the measured main) that writes `change`."""
        base = base or self.main
        git(self.work, "checkout", "-q", "-b", name, base)
        for path, text in change.items():
            (self.work / path).write_text(text, encoding="utf-8")
        runner.commit(self.work, name)
        event = {
            "pull_request": {
                "number": 7,
                "base": {"ref": "main", "sha": base},
                "head": {"ref": name, "repo": {"full_name": runner.REPOSITORY}},
            }
        }
        try:
            return self.run(name, "pull_request", event, **gh)
        finally:
            git(self.work, "checkout", "-q", "main")

    def push_to_main(self, name: str, change: dict[str, str | None]) -> tuple[str, runner.WorkflowRun]:
        """Commit `change` on main (None deletes a file), push it, run coverage.yml for it."""
        for path, text in change.items():
            if text is None:
                (self.work / path).unlink()
            else:
                (self.work / path).write_text(text, encoding="utf-8")
        sha = runner.commit(self.work, name)
        return sha, self.run(name, "push", {"ref": "refs/heads/main", "after": sha})

    def comments(self, name: str) -> list[dict[str, object]]:
        return list(json.loads((self.folder / name / "gh" / "comments.json").read_text()))

    def history_tip(self) -> str:
        """The commit the history branch is at on origin."""
        listed = git(self.work, *runner.local_origin(self.work), "ls-remote", "origin", "coverage-history")
        return listed.split()[0]

    def on_history_branch(self, path: str) -> str:
        """A file of the history branch, as the workflows pushed it to origin."""
        git(self.work, *runner.local_origin(self.work), "fetch", "-q", "origin", "coverage-history")
        return git(self.work, "show", f"FETCH_HEAD:{path}")

    def history(self) -> list[dict[str, Any]]:
        """The history branch's records (snapshots and baselines)."""
        lines = self.on_history_branch("history.jsonl").splitlines()
        return [json.loads(line) for line in lines if line.strip()]


@pytest.fixture(scope="session")
def act_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    why = runner.why_not_runnable()
    if why:
        pytest.skip(f"the workflows cannot run here: {why}")
    return runner.build_cache(tmp_path_factory.mktemp("act") / "cache")


def pushed(cache: Path, folder: Path, work: Path, secrets: dict[str, str] | None = None) -> Kit:
    """`work`'s main measured by a push run of its coverage.yml."""
    main = git(work, "rev-parse", "HEAD").strip()
    push = runner.run_workflow(
        cache=cache,
        work=work,
        scratch=folder / "push" / "act",
        gh_state=folder / "push" / "gh",
        workflow="coverage.yml",
        event_name="push",
        event={"ref": "refs/heads/main", "after": main},
        secrets=secrets,
    )
    return Kit(work, cache, folder, push, main)


@pytest.fixture(scope="module")
def kit(act_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kit]:
    folder = tmp_path_factory.mktemp("kit")
    # With a Codecov token, so that the codecov jobs run (against the stub action).
    yield pushed(act_cache, folder, runner.repository(folder, runner.copy_kit), {"CODECOV_TOKEN": "stub"})


@pytest.fixture(scope="module")
def adopted(act_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kit]:
    """A repository of its own (src/ packages, its own noxfile and `tasks`, --cov in addopts)
    with the kit set up by `nox -s adopt`, committed as a team would, then pushed."""
    folder = tmp_path_factory.mktemp("adopted")
    work = runner.repository(folder, lambda root: write_files(root, SRC_LAYOUT))
    kit_copy = copy_kit(folder / "kit", ".github")
    adopting = nox_in_venvs(kit_copy, "-s", "adopt", "--", str(work))
    assert adopting.returncode == 0, adopting.output
    runner.commit(work, "coverage-workflows, set up by nox -s adopt")
    yield pushed(act_cache, folder, work)


def test_push_to_main__every_service_measured_combined_reported_gated_and_recorded(kit: Kit) -> None:
    push = kit.push
    assert push.returncode == 0, push.log[-3000:]
    assert push.jobs == {
        "services x shards": "succeeded",
        "coverage xp 1/2-1": "succeeded",
        "coverage xp 2/2-2": "succeeded",
        "coverage auth-3": "succeeded",
        "coverage discord-4": "succeeded",
        "combine, report and gate": "succeeded",
        "record the snapshot of main": "succeeded",
        "codecov xp-1": "succeeded",
        "codecov auth-2": "succeeded",
        "codecov discord-3": "succeeded",
    }
    # One Codecov upload per service: its own-tests report (under KIT_DIR, "."), flagged with its name.
    uploads = sorted(filter(None, (kit.folder / "push/act/codecov.log").read_text().split("\n")))
    assert uploads == [f"{name} ./reports/services/{name}.xml" for name in ("auth", "discord", "xp")]
    # Every job builds its environments with uv (nox[uv]), as the README's commands do.
    assert "Creating virtual environment (uv)" in push.log and "uv binary not found" not in push.log
    shards = ["coverage-data-auth-1-of-1", "coverage-data-discord-1-of-1", "coverage-data-xp-1-of-2"]
    assert push.artifact_names() == sorted(
        [*shards, "coverage-data-xp-2-of-2", "coverage-combined", "coverage-reports", "coverage-trend"]
    )
    reports = push.artifact("coverage-reports")
    assert {"index.html", "summary.md", "comment.md", ".made-from.json", "services.json"} <= set(reports)
    assert ".coverage-workflows-lock" not in reports  # the kit's lock while writing, no report
    assert set(json.loads(reports[".made-from.json"])["formats"]) >= {"html", "xml", "lcov"}
    # The job summary is the reports' summary.md, as the combine job appends it.
    assert reports["summary.md"].decode() in push.summary
    assert "| auth |" in push.summary and "| **Total** |" in push.summary
    # The history branch has main's snapshot, made its baseline (the gate passed), with the
    # figures the reports show.
    entries = kit.history()
    (snapshot,) = snapshots(entries)
    assert snapshot["commit"] == baseline_commit(entries) == kit.main
    # main's trend picture: an artifact of the run, and on the history branch for a README.
    trend = push.artifact("coverage-trend")["trend.svg"].decode()
    assert trend.startswith("<svg") and kit.on_history_branch("trend.svg") == trend
    reported = {item["name"]: item["isolated"] for item in json.loads(reports["services.json"])["services"]}
    recorded = {item["name"]: item["isolated"] for item in snapshot["services"]}
    for name, figures in recorded.items():
        assert (figures["statements"], figures["covered"]) == (
            reported[name]["statements"],
            reported[name]["covered"],
        )


def snapshots(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [entry for entry in entries if entry.get("type") == "snapshot"]


def baseline_commit(entries: list[dict[str, Any]]) -> str:
    """The commit of the one baseline in the history's records."""
    (baseline,) = [entry for entry in entries if entry.get("type") == "baseline"]
    return str(baseline["snapshot"]["commit"])


def test_pull_request_touching_one_service__only_it_measured_the_rest_carried(kit: Kit) -> None:
    # A statement discord's tests run (a module's top), and no other service's tests do.
    pr = kit.pull_request("touch-discord", {COMMANDS: covered_statement(kit)})
    assert pr.jobs == {
        "services x shards": "succeeded",
        "coverage discord": "succeeded",
        "combine, report and gate": "succeeded",
    }, pr.log[-3000:]
    assert pr.returncode == 0
    assert pr.artifact_names() == ["coverage-data-discord-1-of-1", "coverage-reports"]
    (comment,) = kit.comments("touch-discord")
    body = str(comment["body"])
    assert body.startswith(MARKER)
    assert "carried" in body.lower() and "xp" in body and "discord" in body, body


OLD_COMMENT = json.dumps(
    [{"id": 900, "user": {"login": "github-actions[bot]"}, "body": f"{MARKER}\n## Coverage: pass\n"}]
)


def test_pull_request_whose_shard_fails__combine_names_it_and_the_comment_says_why(kit: Kit) -> None:
    """discord's tests fail: its shard uploads nothing, combine fails naming it, and the
    comment an earlier push left ("Coverage: pass") is replaced by one that says why."""
    tests = f"{EXAMPLE}/tests/discord/test_discord_commands.py"
    broken = (kit.work / tests).read_text(encoding="utf-8") + "\n\ndef test_broken():\n    assert False\n"
    pr = kit.pull_request(
        "shard-fails", {COMMANDS: covered_statement(kit), tests: broken}, comments=OLD_COMMENT
    )
    assert pr.jobs == {
        "services x shards": "succeeded",
        "coverage discord": "failed",
        "combine, report and gate": "failed",
    }, pr.log[-3000:]
    assert pr.returncode != 0
    assert pr.artifact_names() == []  # no shard's data, no reports
    combine = [line for line in pr.log.splitlines() if line.startswith("[coverage/combine, report and gate]")]
    assert any("discord: no data at .coverage-data/discord" in line for line in combine), "\n".join(
        combine[-60:]
    )
    assert "**Coverage data is incomplete**" in pr.summary
    (comment,) = kit.comments("shard-fails")
    assert comment["id"] == 900  # the same comment, edited: no stale "pass" left standing
    body = str(comment["body"])
    assert body.startswith(f"{MARKER}\n## Coverage: not computed"), body
    assert "never arrived" in body


def test_gh_run_list_failing__every_service_runs_and_the_summary_says_why(kit: Kit) -> None:
    pr = kit.pull_request("gh-fails", {COMMANDS: covered_statement(kit)}, run_list="fail")
    measured = sorted(name for name in pr.jobs if name.startswith("coverage "))
    assert measured == ["coverage auth-3", "coverage discord-4", "coverage xp 1/2-1", "coverage xp 2/2-2"]
    assert set(pr.jobs.values()) == {"succeeded"}, pr.log[-3000:]
    assert "**Every service ran**" in pr.summary and "gh run list failed" in pr.summary, pr.summary
    (comment,) = kit.comments("gh-fails")
    assert "## Coverage: pass" in str(comment["body"])
    assert "carried" not in str(comment["body"]).lower()


def test_pull_request_breaking_the_manifest__the_matrix_job_says_nothing_was_measured(kit: Kit) -> None:
    manifest = kit.work / "configs/services.toml"
    broken = manifest.read_text(encoding="utf-8").replace("[settings]", "[settings", 1)
    pr = kit.pull_request("broken-manifest", {"configs/services.toml": broken})
    assert pr.jobs == {"services x shards": "failed"}, pr.log[-3000:]
    assert "**Coverage was not computed**: the services x shards job failed" in pr.summary, pr.summary
    assert "configs/services.toml" in pr.log  # the error names the file


def test_regression_on_main__main_says_how_to_proceed_a_docs_only_pr_passes_and_accepting_moves_the_baseline(
    kit: Kit,
) -> None:
    """A drop reaches main: main's run fails its gate, records the snapshot (not as the
    baseline) and says how to proceed; a later docs-only pull request is judged against main
    as it is, not failed for a drop it did not make; a run by hand with accept-baseline makes
    main as it is the baseline."""
    dropped = f"{EXAMPLE}/tests/auth/test_auth_passwords.py"
    sha, push = kit.push_to_main("drop-auth-tests", {dropped: None})
    assert push.jobs["combine, report and gate"] == "failed", push.log[-3000:]
    assert push.jobs["record the snapshot of main"] == "succeeded"
    gate = "\n".join(line for line in push.log.splitlines() if "combine, report and gate" in line)
    assert "regression" in gate and "auth" in gate and "fail" in gate
    assert "accept-baseline=true" in gate, gate[-3000:]  # how to proceed, in the gate's output
    entries = kit.history()
    assert [entry["commit"] for entry in snapshots(entries)] == [kit.main, sha]
    assert baseline_commit(entries) == kit.main  # a failed gate does not move the baseline

    readme = kit.work / "README.md"
    pr = kit.pull_request("docs-only", {"README.md": readme.read_text() + "\nA line of docs.\n"}, base=sha)
    assert pr.jobs["combine, report and gate"] == "succeeded", pr.log[-3000:]
    (comment,) = kit.comments("docs-only")
    body = str(comment["body"])
    assert "## Coverage: pass" in body
    assert "main as it is" in body and sha[:7] in body, body

    # The team accepts the drop: the workflow run by hand on main with accept-baseline.
    # (GitHub's workflow_dispatch payload gives every input as a string; act reads it there.)
    event = {"ref": "refs/heads/main", "inputs": {"accept-baseline": "true"}}
    accepted = kit.run("accept-baseline", "workflow_dispatch", event)
    assert accepted.jobs["combine, report and gate"] == "failed"  # its gate still judges the drop
    assert accepted.jobs["record the snapshot of main"] == "succeeded", accepted.log[-3000:]
    entries = kit.history()
    assert baseline_commit(entries) == sha == snapshots(entries)[-1]["commit"]


def test_maintenance_on_schedule__its_digest_and_the_thinned_history_pushed(kit: Kit) -> None:
    before = kit.history_tip()
    run = kit.run("maintenance", "schedule", {"schedule": "17 5 * * 1"})
    assert run.jobs == {"weekly maintenance": "succeeded"}, run.log[-3000:]
    assert "maintenance" in run.summary.lower() and "history" in run.summary.lower(), run.summary
    after = kit.history_tip()
    assert after != before
    git(kit.work, *runner.local_origin(kit.work), "fetch", "-q", "origin", "coverage-history")
    assert git(kit.work, "rev-parse", "FETCH_HEAD^").strip() == before  # on top of what was there
    assert snapshots(kit.history())  # the thinned history still holds main's snapshots


def test_adopted_repository__push_measures_every_service_through_kit_dir(adopted: Kit) -> None:
    push = adopted.push
    workflow = (adopted.work / ".github/workflows/coverage.yml").read_text()
    assert f'KIT_DIR: "{KIT_FOLDER}"' in workflow
    assert push.returncode == 0, push.log[-3000:]
    assert push.jobs == {
        "services x shards": "succeeded",
        "coverage alpha-1": "succeeded",
        "coverage beta-2": "succeeded",
        "combine, report and gate": "succeeded",
        "record the snapshot of main": "succeeded",
    }
    assert push.artifact_names() == [
        "coverage-combined", "coverage-data-alpha-1-of-1", "coverage-data-beta-1-of-1",
        "coverage-reports", "coverage-trend",
    ]  # fmt: skip
    assert set(push.artifact("coverage-data-alpha-1-of-1")) == {"alpha"}  # the data file, by service
    services = {
        item["name"] for item in json.loads(push.artifact("coverage-reports")["services.json"])["services"]
    }
    assert services == {"alpha", "beta"}
    assert "| alpha |" in push.summary and "| beta |" in push.summary
    assert [entry["commit"] for entry in snapshots(adopted.history())] == [adopted.main]


def test_adopted_repository__pull_request_touching_one_service_carries_the_other(adopted: Kit) -> None:
    beta = adopted.work / "src/beta/__init__.py"
    changed = beta.read_text().replace(
        "from alpha import double\n", "from alpha import double\n\nFACTOR = 4\n"
    )
    pr = adopted.pull_request("touch-beta", {"src/beta/__init__.py": changed})
    assert pr.jobs == {
        "services x shards": "succeeded",
        "coverage beta": "succeeded",
        "combine, report and gate": "succeeded",
    }, pr.log[-3000:]
    (comment,) = adopted.comments("touch-beta")
    body = str(comment["body"])
    assert "## Coverage: pass" in body and "alpha" in body and "carried" in body.lower(), body
