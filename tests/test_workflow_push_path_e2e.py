"""The copied coverage.yml's matrix job on a push, run as the workflow runs it: its step's
script, in bash, in an adopted repository, with a Python that has only what the job installs
(nox and its dependencies; nothing of the kit's, no coverage.py).

uv, which the job installs too, is left out: no session environment is built here (nox's
`none` backend, from the variable nox reads), so the kit's matrix command itself runs in that
bare Python. That is the stronger case: what once failed on every push to main was the kit
imported where coverage.py was not installed.
"""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.conftest import KIT, commit_everything, run, tasks, write_files
from tests.test_workflows import load

pytestmark = pytest.mark.e2e

REPOSITORY = {
    "pyproject.toml": '[tool.pytest.ini_options]\npythonpath = ["src"]\n',
    "src/alpha/__init__.py": "def one():\n    return 1\n",
    "tests/alpha/test_alpha.py": "from alpha import one\n\n\ndef test_one():\n    assert one() == 1\n",
}


def only_nox(folder: Path) -> Path:
    """A virtual environment whose Python finds nox and its dependencies and nothing else (the
    files of this environment's copies, linked): its bin folder, with a `nox` command."""
    site = folder / "site"
    wanted, seen = ["nox"], set()
    while wanted:
        name = wanted.pop()
        if name.lower() in seen:
            continue
        seen.add(name.lower())
        dist = importlib.metadata.distribution(name)
        for requirement in map(Requirement, dist.requires or []):
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                wanted.append(requirement.name)
        for file in dist.files or []:
            source = Path(str(dist.locate_file(file))).resolve()
            if ".." not in file.parts and source.is_file():
                (site / file).parent.mkdir(parents=True, exist_ok=True)
                (site / file).symlink_to(source)
    venv = folder / "venv"
    subprocess.run([sys._base_executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    asked = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    purelib = subprocess.run([venv / "bin/python", "-c", asked], capture_output=True, text=True, check=True)
    (Path(purelib.stdout.strip()) / "only-nox.pth").write_text(f"{site}\n")
    command = venv / "bin/nox"
    command.write_text(f"#!{venv}/bin/python\nimport sys\nfrom nox.__main__ import main\nsys.exit(main())\n")
    command.chmod(0o755)
    return venv / "bin"


def test_push_path__the_matrix_step_runs_with_only_what_the_job_installs(tmp_path: Path) -> None:
    write_files(tmp_path / "repo", REPOSITORY)
    root = commit_everything(tmp_path / "repo")
    adopted = tasks(KIT, "adopt", "--no-check", str(root))  # adopt writes into the repository only
    assert adopted.returncode == 0, adopted.output
    job = load(root / ".github/workflows/coverage.yml")["jobs"]["matrix"]
    installs = [step["run"] for step in job["steps"] if "pip install" in step.get("run", "")]
    assert installs == ["python -m pip install 'nox[uv]'"], installs  # nothing else to give the Python
    (script,) = [step["run"] for step in job["steps"] if step.get("id") == "matrix"]

    bin_dir = only_nox(tmp_path / "only-nox")
    bare = run([bin_dir / "python", "-c", "import coverage"], tmp_path)
    assert "No module named 'coverage'" in bare.stderr, bare.output  # the Python the step has
    outputs = tmp_path / "github_output"
    environment = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "RUNNER_TEMP": str(tmp_path),
        "GITHUB_OUTPUT": str(outputs),
        "EVENT": "push",
        "BASE": "origin/main",
        "NOX_DEFAULT_VENV_BACKEND": "none",
        "PYTHONPATH": "",
    }
    step = run(["bash", "-eo", "pipefail", "-c", script], root, env=environment)
    assert step.returncode == 0, step.output
    written = dict(line.split("=", 1) for line in outputs.read_text().splitlines())
    (entry,) = json.loads(written["matrix"])["include"]
    assert (entry["runs"], entry["data"]) == (
        "coverage-alpha 1 1",
        ".coverage-workflows/.coverage-data/alpha",
    )
    assert json.loads(written["services"]) == ["alpha"]
