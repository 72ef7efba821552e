"""Data measured with another install list, coverage.py or Python (issue 30, item 4): stale.

Each run records its install list (the manifest's `install` and `python`, and the files they
name) and the coverage.py and Python versions that ran it; combine refuses data whose
environment no longer matches, naming what changed, as it refuses data of changed code.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import coverage
import pytest

from tasks.measure import freshness, measured_with
from tests.conftest import commit_all, flat, git, in_process, tasks

PROJECT = {
    "configs/services.toml": """
        [settings]
        root = "repo"

        [services.api]
        source = ["src/api"]
        tests = ["tests/api"]
        install = ["-r", "repo/requirements/api.txt"]

        [services.jobs]
        source = ["src/jobs"]
        tests = ["tests/jobs"]
    """,
    "repo/requirements/api.txt": "attrs\n",
    "repo/pyproject.toml": """
        [tool.pytest.ini_options]
        pythonpath = ["src"]
        addopts = "-p no:cacheprovider"
    """,
    "repo/src/api/__init__.py": "",
    "repo/src/api/core.py": "def answer():\n    return 42\n",
    "repo/src/jobs/__init__.py": "",
    "repo/src/jobs/core.py": "def run():\n    return 'ran'\n",
    "repo/tests/api/test_core.py": """
        from api.core import answer


        def test_answer():
            assert answer() == 42
    """,
    "repo/tests/jobs/test_core.py": """
        from jobs.core import run


        def test_run():
            assert run() == "ran"
    """,
}


@pytest.fixture
def measured(make_project: Callable[[dict[str, str]], Path]) -> Path:
    project = make_project(PROJECT)
    for service in ("api", "jobs"):
        result = tasks(project, "run", service)
        assert result.returncode == 0, result.output
    combined = in_process(project, "combine")
    assert combined.returncode == 0, combined.output
    return project


def test_a_requirement_file_of_the_install_list_changed__its_data_refused_until_measured_again(
    measured: Path,
) -> None:
    project = measured
    (project / "repo/requirements/api.txt").write_text("attrs==23.1\n")
    refused = in_process(project, "combine")
    assert refused.returncode == 3, refused.output
    said = flat(refused.output)
    assert "api: its environment changed since it was measured: its install list" in said, said
    assert "jobs" not in said.split("Refresh it")[0].split("cannot combine")[1], said  # jobs is as it was
    assert "Refresh it: nox -s coverage-api combine" in said
    allowed = in_process(project, "combine", "--allow-stale")
    assert allowed.returncode == 0 and "STALE DATA" in allowed.stdout, allowed.output
    again = tasks(project, "run", "api")
    assert again.returncode == 0, again.output
    assert in_process(project, "combine").returncode == 0


def test_data_measured_with_another_coverage_py__refused_naming_the_version_it_is_read_with(
    measured: Path,
) -> None:
    """As data carried from a run whose environment had another coverage.py: its record says
    so (rewritten here, as another version would have written it)."""
    project = measured
    data_file = project / ".coverage-data/jobs"
    digests = freshness.recorded(data_file)
    recorded = digests["jobs"][measured_with.TOOLS]
    now = measured_with.tools(coverage.__version__, "3.11")
    assert recorded.startswith(now.split(" on ")[0]), recorded  # what this run was measured with
    digests["jobs"][measured_with.TOOLS] = recorded.replace(now.split(" on ")[0], "coverage 6.5")
    freshness.record_all(data_file, digests)
    refused = in_process(project, "combine")
    assert refused.returncode == 3, refused.output
    said = flat(refused.output)
    assert "jobs: its environment changed since it was measured: the coverage.py or Python version" in said
    assert f"read with coverage {coverage.__version__.rsplit('.', 1)[0]} on Python" in said, said
    # affected does not carry it forward either: CI runs jobs again rather than fail at combine.
    git(project, "init", "-q", "-b", "main")
    commit_all(project, "base")
    affected = in_process(project, "affected", "--base", "main")
    assert affected.returncode == 0, affected.output
    said = flat(affected.stdout)
    assert "jobs: its data was measured with another install list, coverage.py or Python" in said, said
    assert (
        "1 of 2 services" in said
        and "Carried forward (combine checks their data still matches the code): api" in said
    )


def test_a_service_declared_on_another_python__its_data_from_this_one_is_stale(measured: Path) -> None:
    project = measured
    manifest = project / "configs/services.toml"
    text = manifest.read_text()
    manifest.write_text(text.replace('tests = ["tests/jobs"]', 'tests = ["tests/jobs"]\npython = "3.99"'))
    refused = in_process(project, "combine")
    assert refused.returncode == 3, refused.output
    said = flat(refused.output)
    assert "jobs: its environment changed since it was measured" in said, said
    assert "its data is read with coverage" in said and "on Python 3.99 now" in said, said
