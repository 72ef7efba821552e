"""A service's tests that import a measured package from another copy (an installed one in
site-packages, where an editable install was meant) would lower the figures silently: the
run is refused, naming the package, where it came from and the fix."""

from __future__ import annotations

import pytest

from tests.conftest import flat, tasks

pytestmark = pytest.mark.e2e

CORE = """
def total(values):
    if not values:
        return 0
    return sum(values)
"""

# api's tests import core; api's environment finds core in installed/ first, as a plain
# (not editable) install in site-packages would give it.
PROJECT = {
    "configs/services.toml": """
        [settings]
        root = "repo"

        [services.core]
        source = ["src/core"]
        tests = ["tests/core"]
        env = { PYTHONPATH = "src" }

        [services.api]
        source = ["src/api"]
        tests = ["tests/api"]
        env = { PYTHONPATH = "installed:src" }
    """,
    "repo/pytest.ini": "[pytest]\n",
    "repo/src/core/__init__.py": CORE,
    "repo/installed/core/__init__.py": CORE,
    "repo/src/api/__init__.py": "from core import total\n\ndef checkout(prices):\n    return total(prices)\n",
    "repo/tests/core/test_core.py": "from core import total\n\ndef test_total():\n    assert total([1])\n",
    "repo/tests/api/test_api.py": (
        "from api import checkout\n\n\ndef test_checkout():\n    assert checkout([2]) == 2\n"
    ),
}


def test_run__measured_code_imported_from_another_copy_is_refused_by_name(make_project) -> None:
    project = make_project(PROJECT)
    core = tasks(project, "run", "core")
    assert core.returncode == 0, core.output  # core's own tests import the repository's core

    api = tasks(project, "run", "api")
    assert api.returncode == 2, api.output
    message = flat(api.stderr)
    assert "api: its tests imported code of core from another copy than the repository's sources" in message
    installed = (project / "repo/installed/core/__init__.py").resolve()
    assert f"core from {installed} (the repository's is repo/src/core/__init__.py)" in message, message
    assert "-e PATH) in services.api.install or [settings] extend_install" in message, message
    assert "Traceback" not in api.output
    # Nothing of the run was kept: no figure that the tests did not earn.
    assert not (project / ".coverage-data" / "api").exists()
    assert (project / ".coverage-data" / "core").is_file()
