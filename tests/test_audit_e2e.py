"""The audit's layout checks, each on a fixture repository with exactly that flaw."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import tasks

pytestmark = pytest.mark.e2e

MANIFEST = """
    [settings]
    root = "repo"

    [services.api]
    source = ["src/api"]
    tests = ["tests/api"]
    [services.api.thresholds]
    line = 50

    [services.worker]
    source = ["src/worker"]
    tests = ["tests/worker"]
    [services.worker.thresholds]
    line = 50
"""

CLEAN = {
    "configs/services.toml": MANIFEST,
    "repo/pyproject.toml": """
        [tool.pytest.ini_options]
        pythonpath = ["src"]

        [tool.coverage.run]
        branch = true
    """,
    "repo/src/api/__init__.py": "",
    "repo/src/api/views.py": "def view():\n    return 1\n",
    "repo/src/worker/__init__.py": "",
    "repo/src/worker/jobs.py": "def job():\n    return 2\n",
    "repo/tests/api/test_views.py": "from api.views import view\n\n\ndef test_view():\n"
    "    assert view() == 1\n",
    "repo/tests/worker/test_jobs.py": "from worker.jobs import job\n\n\ndef test_job():\n"
    "    assert job() == 2\n",
}


def audit(make_project: Callable[[dict[str, str]], Path], changes: dict[str, str | None]) -> tuple[int, str]:
    files = {**CLEAN, **{k: v for k, v in changes.items() if v is not None}}
    project = make_project({k: v for k, v in files.items() if changes.get(k, "") is not None})
    result = tasks(project, "audit")
    assert "Traceback" not in result.output, result.output
    return result.returncode, result.stdout


def test_audit__clean_layout_has_no_findings(make_project: Callable[[dict[str, str]], Path]) -> None:
    code, out = audit(make_project, {})
    assert code == 0 and "0 findings" in out, out


@pytest.mark.parametrize(
    ("case", "changes", "exit_code", "expected"),
    [
        (
            "omit_a_whole_service",
            {"repo/.coveragerc": "[run]\nomit =\n    src/worker/*\n"},
            1,
            ["error", ".coveragerc [run] omit", "omit leaves out every file of worker (2 files)"],
        ),
        (
            "omit_part_of_a_service",
            {
                "repo/src/api/generated.py": "X = 1\n",
                "repo/pyproject.toml": CLEAN["repo/pyproject.toml"]
                + '\n[tool.coverage.report]\nomit = ["*/generated.py"]\n',
            },
            0,
            ["warning", "omit leaves out 1 of api's 3 files: repo/src/api/generated.py"],
        ),
        (
            "unowned_source",
            {"repo/src/shared/util.py": "def helper():\n    return 3\n"},
            0,
            ["warning", "Python files that belong to no service (1): repo/src/shared/util.py", "gate.ignore"],
        ),
        (
            "namespace_package",
            {"repo/src/worker/__init__.py": None},
            0,
            ["warning", "[tool.coverage.run]", "worker has namespace packages", "include_namespace_packages"],
        ),
        (
            "collects_no_tests",
            {"repo/tests/worker/test_jobs.py": None, "repo/tests/worker/helpers.py": "X = 1\n"},
            1,
            ["error", "[services.worker] tests = ['tests/worker']", "worker's test paths collect no tests"],
        ),
        (
            "imports_nothing_of_its_service",
            {
                "repo/tests/worker/test_jobs.py": "from api.views import view\n\n\n"
                "def test_job():\n    assert view() == 1\n"
            },
            0,
            ["warning", "worker's 1 tests import nothing of worker"],
        ),
        (
            "collection_fails",
            {"repo/tests/api/test_views.py": "def broken(:\n"},
            1,
            ["error", "collecting api's tests failed (pytest exit status 2)", "--collect-only"],
        ),
    ],
)
def test_audit__layout_flaw_is_found_with_where_why_and_fix(
    make_project: Callable[[dict[str, str]], Path],
    case: str,
    changes: dict[str, str | None],
    exit_code: int,
    expected: list[str],
) -> None:
    code, out = audit(make_project, changes)
    assert code == exit_code, (case, out)
    for fragment in expected:
        assert fragment in out, (case, fragment, out)
    assert "\n1 finding, " in out, (case, out)  # exactly the one flaw
