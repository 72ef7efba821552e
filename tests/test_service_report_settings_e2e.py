"""A service's own [report] omit/include (issue 30, item 5): honoured for its figures only.

billing keeps its coverage.py configuration in its working_dir, and leaves its legacy code
out of reports; jobs has a legacy folder too, which the root's configuration keeps. The
kit's figures for billing equal a strict coverage.py run in billing's folder reading that
file; jobs' figures do not change.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from coverage import Coverage

from tests.conftest import in_process, run, tasks

FILES = {
    "configs/services.toml": """
        [settings]
        root = "repo"

        [services.billing]
        working_dir = "billing"
        source = ["src/billing"]
        tests = ["tests"]

        [services.jobs]
        source = ["src/jobs"]
        tests = ["tests/jobs"]
    """,
    "repo/pyproject.toml": """
        [tool.pytest.ini_options]
        pythonpath = ["src"]
        addopts = "-p no:cacheprovider"
    """,
    "repo/billing/pyproject.toml": """
        [tool.pytest.ini_options]
        pythonpath = ["src"]
        addopts = "-p no:cacheprovider"

        [tool.coverage.report]
        omit = ["*/legacy/*"]
        include = ["src/*"]
    """,
    "repo/billing/src/billing/__init__.py": "",
    "repo/billing/src/billing/invoice.py": """
        def total(items):
            if not items:
                return 0
            return sum(items)
    """,
    "repo/billing/src/billing/legacy/__init__.py": "",
    "repo/billing/src/billing/legacy/old.py": """
        def old(x):
            if x:
                return 1
            return 2
    """,
    "repo/billing/tests/test_invoice.py": """
        from billing.invoice import total


        def test_total():
            assert total([1, 2]) == 3
    """,
    "repo/src/jobs/__init__.py": "",
    "repo/src/jobs/run.py": "def run():\n    return 'ran'\n",
    "repo/src/jobs/legacy/__init__.py": "",
    "repo/src/jobs/legacy/old.py": "def old():\n    return 1\n",
    "repo/tests/jobs/test_run.py": """
        from jobs.run import run


        def test_run():
            assert run() == "ran"
    """,
}


def _strict_totals(folder: Path, source: Path, tests: str, data_file: Path) -> dict[str, int]:
    """coverage.py run in `folder`, reading its configuration there, measuring `source`."""
    argv = [sys.executable, "-m", "coverage", "run", "--branch", f"--data-file={data_file}"]
    argv += [f"--source={source}", "-m", "pytest", "-q", tests]
    ran = run(argv, folder)
    assert ran.returncode == 0, ran.output
    with contextlib.chdir(folder):  # relative patterns are read from where coverage.py runs
        cov = Coverage(data_file=str(data_file))
        cov.set_option("report:include_namespace_packages", True)
        cov.load()
        cov.json_report(outfile=str(folder / "report.json"))
    totals = json.loads((folder / "report.json").read_text())["totals"]
    return {
        "statements": totals["num_statements"],
        "covered": totals["covered_lines"],
        "branches": totals["num_branches"],
        "covered_branches": totals["covered_branches"],
    }


def _measured_figures(project: Path) -> dict[str, dict[str, Any]]:
    """Both services run, combined and reported: services.json's entry of each."""
    for service in ("billing", "jobs"):
        ran = tasks(project, "run", service)
        assert ran.returncode == 0, ran.output
    assert in_process(project, "combine").returncode == 0
    report = in_process(project, "report")
    assert report.returncode == 0, report.output
    return {s["name"]: s for s in json.loads((project / "reports/services.json").read_text())["services"]}


@pytest.mark.parametrize("service_config", ["pyproject.toml", ".coveragerc"])
def test_a_service_s_own_report_omit_and_include__its_figure_equals_a_strict_run_reading_them(
    make_project: Callable[[dict[str, str]], Path], tmp_path: Path, service_config: str
) -> None:
    files = dict(FILES)
    if service_config == ".coveragerc":  # the same settings, in coverage.py's own file
        files["repo/billing/.coveragerc"] = "[report]\nomit = */legacy/*\ninclude = src/*\n"
        files["repo/billing/pyproject.toml"] = files["repo/billing/pyproject.toml"].split("[tool.coverage")[0]
    project = make_project(files)
    figures = _measured_figures(project)

    billing = project / "repo/billing"
    truth = _strict_totals(billing, billing / "src/billing", "tests", tmp_path / "strict-billing")
    own = {k: figures["billing"]["isolated"][k] for k in truth}
    assert own == truth
    assert truth["statements"] == 4  # invoice.py only: legacy/ omitted, __init__.py empty
    assert not any("legacy" in f["path"] for f in figures["billing"]["files"])
    # jobs' legacy folder is jobs' own: billing's pattern does not reach it.
    assert any(f["path"].endswith("jobs/legacy/old.py") for f in figures["jobs"]["files"])
    assert figures["jobs"]["isolated"]["statements"] == 4
    lcov = (project / "reports/coverage.lcov").read_text()
    assert "billing/legacy/old.py" not in lcov and "jobs/legacy/old.py" in lcov


def test_the_root_s_report_omit_without_a_wildcard__left_out_of_figures_and_reports_alike(
    make_project: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    """A pattern relative to the root, as most projects write one: coverage.py makes it
    absolute, and the data's paths are relative to the project, so it matched nothing."""
    files = dict(FILES)
    files["repo/pyproject.toml"] += '\n[tool.coverage.report]\nomit = ["src/jobs/legacy/*"]\n'
    project = make_project(files)
    figures = _measured_figures(project)
    repo = project / "repo"
    truth = _strict_totals(repo, repo / "src/jobs", "tests/jobs", tmp_path / "strict-jobs")
    assert {k: figures["jobs"]["isolated"][k] for k in truth} == truth
    assert truth["statements"] == 2  # run.py: legacy/ left out
    assert "jobs/legacy/old.py" not in (project / "reports/coverage.lcov").read_text()
    assert "jobs/legacy/old.py" not in (project / "reports/coverage.xml").read_text()
