"""Carry-forward on random edits to a generated repository: whatever the edit, the data
combined from the services `affected` names, run afresh, plus the others' carried forward,
equals a full re-run line for line and arc for arc."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import KIT, commit_everything, copy_package, in_process, write_files
from tests.test_affected_e2e import DATA, executed, git, measure, measure_the_rest

pytestmark = pytest.mark.e2e

SERVICES = ("core", "api", "jobs", "tools")
# api's tests run core's code; jobs stands alone; tools runs from a folder of its own, with
# its own pytest configuration and a requirements file its `install` list names.
REPO = {
    "configs/services.toml": """
        [settings]
        root = "repo"

        [services.core]
        source = ["src/core"]
        tests = ["tests/core"]

        [services.api]
        source = ["src/api"]
        tests = ["tests/api"]

        [services.jobs]
        source = ["src/jobs"]
        tests = ["tests/jobs"]

        [services.tools]
        working_dir = "tools"  # relative to the root
        source = ["src/tools"]
        tests = ["tests"]
        install = ["-r", "repo/tools/requirements.txt"]
    """,
    "repo/tools/pyproject.toml": """
        [tool.pytest.ini_options]
        pythonpath = ["src"]
    """,
    "repo/tools/requirements.txt": "",
    "repo/tools/src/tools/__init__.py": "",
    "repo/tools/src/tools/fmt.py": """
        def fmt(n):
            return f"#{n}"
    """,
    "repo/tools/tests/test_fmt.py": """
        from tools.fmt import fmt


        def test_fmt():
            assert fmt(1) == "#1"
    """,
    "repo/pyproject.toml": """
        [tool.pytest.ini_options]
        pythonpath = ["src"]
    """,
    "repo/src/core/__init__.py": "",
    "repo/src/core/maths.py": """
        def add(a, b):
            return a + b


        def unused(a):
            return -a
    """,
    "repo/src/api/__init__.py": "",
    "repo/src/api/views.py": """
        from core.maths import add


        def total(items):
            return add(sum(items), 0)
    """,
    "repo/src/jobs/__init__.py": "",
    "repo/src/jobs/tick.py": """
        def tick(n):
            if n > 3:
                return "late"
            return "soon"
    """,
    "repo/tests/core/test_maths.py": """
        from core.maths import add


        def test_add():
            assert add(1, 2) == 3
    """,
    "repo/tests/api/test_views.py": """
        from api.views import total


        def test_total():
            assert total([1, 2]) == 3
    """,
    "repo/tests/jobs/test_tick.py": """
        from jobs.tick import tick


        def test_tick():
            assert tick(1) == "soon"
    """,
}
FILES = sorted(name for name in REPO if name.endswith(".py"))
OWNER = {name: "tools" if name.startswith("repo/tools/") else name.split("/")[2] for name in FILES}
# What an edit appends: code run at import, a function never called, a test, a comment.
SNIPPETS = (
    "\nVALUE = 1\n",
    "\n\ndef later(x):\n    if x:\n        return 1\n    return 2\n",
    "\n\ndef test_extra():\n    assert 1 + 1 == 2\n",
    "\n# a note\n",
)


@pytest.fixture(scope="module")
def base_repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = tmp_path_factory.mktemp("generated") / "project"
    project.mkdir()
    for name in ("noxfile.py", "pyproject.toml"):
        shutil.copy2(KIT / name, project / name)
    copy_package(project)
    write_files(project, REPO)
    commit_everything(project, f"{DATA}/\nreports/\n")
    measure(project, SERVICES)
    return project


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(st.tuples(st.sampled_from(FILES), st.sampled_from(SNIPPETS)), min_size=1, max_size=2))
def test_carried_forward__equals_a_full_rerun(
    edits: list[tuple[str, str]], base_repository: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    project = tmp_path_factory.mktemp("edit") / "project"
    shutil.copytree(base_repository, project, symlinks=True)
    for name, snippet in edits:
        with (project / name).open("a", encoding="utf-8") as handle:
            handle.write(snippet)
    git(project, "commit", "-qam", "edit")
    listed = in_process(project, "affected", "--base", "HEAD~1", "--json")
    assert listed.returncode == 0, listed.output
    affected = json.loads(listed.stdout)["affected"]
    edited = {OWNER[name] for name, _ in edits}
    assert edited <= set(affected), (edits, affected)
    measure(project, affected)
    carried = executed(project / DATA / "combined")
    measure_the_rest(project, SERVICES, measured=affected)
    assert carried == executed(project / DATA / "combined"), (edits, affected)


@pytest.mark.parametrize(
    ("changed", "text", "expected"),
    [
        ("repo/tools/pyproject.toml", "\n# a comment\n", {"tools"}),  # its working_dir's configuration
        ("repo/tools/requirements.txt", "packaging\n", {"tools"}),  # named by its install list
        ("repo/pyproject.toml", "\n# a comment\n", set(SERVICES)),  # the root's configuration
        ("repo/requirements-dev.txt", "packaging\n", set(SERVICES)),  # a requirements file no one names
        ("repo/uv.lock", "version = 1\n", set(SERVICES)),  # a lock file
        ("tasks/errors.py", "\n# a comment\n", set(SERVICES)),  # the kit itself
        ("repo/scripts/seed.py", "print(1)\n", set(SERVICES)),  # Python no service owns
    ],
)
def test_affected__configuration_install_and_unowned_changes(
    changed: str, text: str, expected: set[str], base_repository: Path, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    shutil.copytree(base_repository, project, symlinks=True)
    target = project / changed
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("a", encoding="utf-8") as handle:
        handle.write(text)
    git(project, "add", "-A")
    git(project, "commit", "-qm", "edit")
    listed = in_process(project, "affected", "--base", "HEAD~1", "--json")
    assert listed.returncode == 0, listed.output
    found = json.loads(listed.stdout)
    assert set(found["affected"]) == expected, found
    measure(project, found["affected"])
    carried = executed(project / DATA / "combined")
    measure_the_rest(project, SERVICES, measured=found["affected"])
    assert carried == executed(project / DATA / "combined"), found


def test_affected__every_file_coverage_py_and_pytest_read_their_settings_from(
    base_repository: Path, tmp_path: Path
) -> None:
    """Each name coverage.py and pytest look for (tasks/config/project_settings.py, as their
    own sources list them), committed at the root: every service; in tools' working_dir: tools.
    A requirements file in a requirements/ folder pins what every environment installs."""
    from tasks.config.project_settings import COVERAGE_CONFIG_FILES, PYTEST_CONFIG_FILES

    project = tmp_path / "project"
    shutil.copytree(base_repository, project, symlinks=True)
    cases = [
        *((f"repo/{name}", set(SERVICES)) for name in sorted({*COVERAGE_CONFIG_FILES, *PYTEST_CONFIG_FILES})),
        *(
            (f"repo/tools/{name}", {"tools"})
            for name in sorted({*COVERAGE_CONFIG_FILES, *PYTEST_CONFIG_FILES})
        ),
        ("repo/requirements/dev.txt", set(SERVICES)),
        ("repo/tools/constraints/pins.txt", set(SERVICES)),
    ]
    assert {".coveragerc.toml", "pytest.toml", ".pytest.toml", ".pytest.ini"} <= {
        Path(path).name for path, _ in cases
    }
    for changed, expected in cases:
        target = project / changed
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("a", encoding="utf-8") as handle:
            handle.write("\n# a comment\n")
        git(project, "add", "-A")
        git(project, "commit", "-qm", f"edit {changed}")
        listed = in_process(project, "affected", "--base", "HEAD~1", "--json")
        assert listed.returncode == 0, listed.output
        assert set(json.loads(listed.stdout)["affected"]) == expected, (changed, listed.stdout)
        # Back to where the data was measured, for the next file (the data ignored, kept).
        git(project, "reset", "-q", "--hard", "HEAD~1")
        git(project, "clean", "-fdq")
