"""The CI matrix: derived from nox's own listing of the coverage sessions, checked against
the manifest, one entry per service shard."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import KIT, copy_kit, flat, in_process, nox, run, write_files


def listing(project: Path) -> str:
    result = nox(project, "--json", "-l", "-t", "coverage")
    assert result.returncode == 0, result.output
    return result.stdout


def matrix_of(
    project: Path, text: str, *extra: str, env: dict[str, str] | None = None
) -> tuple[int, str, str]:
    listing_file = project / "listing.json"
    listing_file.write_text(text, encoding="utf-8")
    result = run(
        [sys.executable, "-m", "tasks", "matrix", "--listing", str(listing_file), *extra], project, env=env
    )
    return result.returncode, result.stdout, result.stderr


def test_matrix__example_is_services_by_their_declared_shards(kit_copy: Path) -> None:
    code, stdout, stderr = matrix_of(kit_copy, listing(kit_copy))
    assert code == 0, stderr
    # A job per service shard (no [ci] runners, fewer than GitHub's 256): each runs one.
    assert json.loads(stdout) == {
        "include": [
            {
                "name": "xp 1/2",
                "runs": "coverage-xp 1 2",
                "data": ".coverage-data/xp.shard-1-of-2",
                "artifact": "coverage-data-xp-1-of-2",
                "service": "xp",
            },
            {
                "name": "xp 2/2",
                "runs": "coverage-xp 2 2",
                "data": ".coverage-data/xp.shard-2-of-2",
                "artifact": "coverage-data-xp-2-of-2",
                "service": "xp",
            },
            {
                "name": "auth",
                "runs": "coverage-auth 1 1",
                "data": ".coverage-data/auth",
                "artifact": "coverage-data-auth-1-of-1",
                "service": "auth",
            },
            {
                "name": "discord",
                "runs": "coverage-discord 1 1",
                "data": ".coverage-data/discord",
                "artifact": "coverage-data-discord-1-of-1",
                "service": "discord",
            },
        ]
    }


def test_matrix__follows_the_manifest_through_nox(kit_copy: Path) -> None:
    """A new service and a new shard count reach the matrix with no other edit."""
    manifest = kit_copy / "configs/services.toml"
    text = manifest.read_text().replace("shards = 2 ", "shards = 3 ")
    manifest.write_text(text + '\n[services.billing]\nsource = ["src/billing"]\ntests = ["tests/billing"]\n')
    write_files(
        kit_copy / "examples/monorepo",
        {"src/billing/__init__.py": "", "tests/billing/test_billing.py": "def test_nothing():\n    pass\n"},
    )
    code, stdout, stderr = matrix_of(kit_copy, listing(kit_copy))
    assert code == 0, stderr
    names = [entry["name"] for entry in json.loads(stdout)["include"]]
    assert names == ["xp 1/3", "xp 2/3", "xp 3/3", "auth", "discord", "billing"]


def test_matrix__github_output(kit_copy: Path) -> None:
    output = kit_copy / "github_output"
    code, _, stderr = matrix_of(
        kit_copy, listing(kit_copy), "--github-output", env={"GITHUB_OUTPUT": str(output)}
    )
    assert code == 0, stderr
    values = dict(line.split("=", 1) for line in output.read_text().splitlines())
    assert set(values) == {"matrix", "shards", "services", "data-dir"}
    assert len(json.loads(values["matrix"])["include"]) == 4 == int(values["shards"])
    assert json.loads(values["services"]) == ["xp", "auth", "discord"]
    assert values["data-dir"] == ".coverage-data"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nox > Running session", "not the JSON of `nox --json -l -t coverage`"),
        ('{"session": "x"}', "expected nox's JSON listing"),
        ('[{"session": "gate", "tags": ["ci"]}]', "no session tagged 'coverage'"),
        (
            '[{"session": "coverage-xp", "tags": ["coverage"]}]',
            "nox lists coverage sessions for xp, but configs/services.toml declares xp, auth, discord",
        ),
        (
            '[{"session": "coverage-xp", "tags": ["coverage", "shards-2", "shards-3"]},'
            ' {"session": "coverage-auth", "tags": ["coverage"]},'
            ' {"session": "coverage-discord", "tags": ["coverage"]}]',
            "session coverage-xp has shard tags [2, 3]",
        ),
    ],
)
def test_matrix__bad_listing_is_named(kit_copy: Path, text: str, message: str) -> None:
    code, _, stderr = matrix_of(kit_copy, text)
    assert code == 2
    assert flat(message) in flat(stderr) and "Traceback" not in stderr


def test_matrix__github_output_outside_actions(kit_copy: Path) -> None:
    listing_file = kit_copy / "listing.json"
    listing_file.write_text(listing(kit_copy))
    result = in_process(kit_copy, "matrix", "--listing", str(listing_file), "--github-output")
    assert result.returncode == 2
    assert "GITHUB_OUTPUT is not set" in result.stderr


def _many(project: Path, count: int, runners: int | None, shards: dict[int, int] | None = None) -> str:
    """A manifest of `count` services (src/svcN, tests/svcN), `[ci] runners` when given, and
    the JSON listing nox gives of their sessions (made here: nox lists 300 sessions slowly)."""
    shards = shards or {}
    files = {"configs/services.toml": '[settings]\nroot = "repo"\n'}
    if runners is not None:
        files["configs/services.toml"] += f"\n[ci]\nrunners = {runners}\n"
    listing = []
    for index in range(count):
        name = f"svc{index}"
        files["configs/services.toml"] += (
            f'\n[services.{name}]\nsource = ["src/{name}"]\ntests = ["tests/{name}"]\n'
            f"shards = {shards.get(index, 1)}\n"
        )
        files[f"repo/src/{name}/__init__.py"] = ""
        files[f"repo/tests/{name}/test_it.py"] = ""
        tags = ["coverage", *([f"shards-{shards[index]}"] if index in shards else [])]
        listing.append({"session": f"coverage-{name}", "tags": tags})
    write_files(project, files)
    return json.dumps(listing)


def test_matrix__runners_pack_every_service_shard_into_that_many_jobs_by_duration(kit_copy: Path) -> None:
    """300 services, one of them in 4 shards, `runners = 20`: 20 jobs; every run in exactly
    one; the recorded durations balance them (longest first, into the least loaded job)."""
    text = _many(kit_copy, 300, 20, shards={7: 4})
    durations = kit_copy / "configs/durations"
    durations.mkdir(parents=True, exist_ok=True)
    for index in range(300):  # svc7 takes 1000 s (250 s a shard), every other service 10 s
        seconds = 1000.0 if index == 7 else 10.0
        (durations / f"svc{index}.json").write_text(json.dumps({f"tests/svc{index}/test_it.py::t": seconds}))
    code, stdout, stderr = matrix_of(kit_copy, text)
    assert code == 0, stderr
    jobs = json.loads(stdout)["include"]
    assert len(jobs) == 20
    runs = [line for job in jobs for line in job["runs"].splitlines()]
    expected = [f"coverage-svc{i} 1 1" for i in range(300) if i != 7] + [
        f"coverage-svc7 {k} 4" for k in range(1, 5)
    ]
    assert sorted(runs) == sorted(expected)
    for number, job in enumerate(jobs, 1):
        assert job["artifact"] == f"coverage-data-job-{number}-of-20"
        assert len(job["data"].splitlines()) == len(job["runs"].splitlines())
        assert job["name"].startswith(f"{number} of 20: ")
    # svc7's four 250 s shards get a job each, alone; the 299 runs of 10 s fill the other 16
    # jobs evenly (about 190 s each), never past a shard of svc7.
    alone = [job for job in jobs if "coverage-svc7 " in job["runs"]]
    assert len(alone) == 4 and all(len(job["runs"].splitlines()) == 1 for job in alone), alone
    sizes = sorted(len(job["runs"].splitlines()) for job in jobs if job not in alone)
    assert sizes[-1] - sizes[0] <= 1, sizes


def test_matrix__1000_services_without_runners__packed_into_github_s_256_jobs(
    kit_copy: Path, tmp_path: Path
) -> None:
    code, stdout, stderr = matrix_of(kit_copy, _many(kit_copy, 1000, None))
    assert code == 0, stderr
    jobs = json.loads(stdout)["include"]
    assert len(jobs) == 256
    assert sum(len(job["runs"].splitlines()) for job in jobs) == 1000
    # Past 1,000 service shards: refused, naming the count (a typo, not a plan).
    more = copy_kit(tmp_path / "more")
    code, _, stderr = matrix_of(more, _many(more, 1001, None))
    assert code == 2 and "1001 service shards; the matrix packs at most 1000 into its jobs" in flat(stderr)


def test_matrix__the_workflow_s_step_runs_every_run_of_a_job_and_fails_when_one_fails(tmp_path: Path) -> None:
    """The measure job's shell step, run with a stand-in nox: each line of `runs` once, in
    order (nox must not read the lines meant for the next run), exit status the last failure's."""
    import yaml

    workflow = yaml.safe_load((KIT / ".github/workflows/coverage.yml").read_text(encoding="utf-8"))
    (step,) = [s for s in workflow["jobs"]["measure"]["steps"] if "RUNS" in (s.get("env") or {})]
    stand_in = tmp_path / "bin" / "nox"
    stand_in.parent.mkdir()
    stand_in.write_text('#!/bin/sh\ncat > /dev/null\necho "$@" >> "$LOG"\n[ "$2" != coverage-bad ]\n')
    stand_in.chmod(0o755)
    log = tmp_path / "log"
    env = {
        "PATH": f"{stand_in.parent}{os.pathsep}{os.environ['PATH']}",
        "RUNS": "coverage-a 1 1\ncoverage-bad 2 3\ncoverage-c 1 1",
        "LOG": str(log),
    }
    done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]], env=env)
    assert done.returncode == 1
    assert log.read_text().splitlines() == [
        "-s coverage-a -- --shards 1 --shard 1",
        "-s coverage-bad -- --shards 3 --shard 2",
        "-s coverage-c -- --shards 1 --shard 1",
    ]
