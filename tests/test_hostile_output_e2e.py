"""Every command's terminal output on a repository full of hostile file names: names with a
newline followed by a workflow command, a carriage return, an escape sequence. On GitHub
Actions a line that starts with `::` is run as a workflow command, and an escape sequence
rewrites the terminal; repository text must never produce either, whatever it is named."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import commit_all, git, init_repo, tasks
from tests.test_file_names_e2e import CHANGE, MODULE

pytestmark = pytest.mark.e2e

HOSTILE = (
    "nl\n::warning::injected.py",
    "cr\r::error::carriage.py",
    "esc\x1b[2Jclear.py",
    "bell\x07::notice::ring.py",
)
UNRUN = "un=run\n::warning::never.py"  # never imported, and a name coverage.py's search skips
TEST_WEB = """
import importlib.util
from pathlib import Path

SOURCES = Path(__file__).parent.parent.parent / "src" / "web"


def test_every_module():
    for path in sorted(SOURCES.glob("*.py")):
        if path.name == "__init__.py" or "never" in path.name:
            continue
        spec = importlib.util.spec_from_file_location("m", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        assert module.f(2) == 2
"""
FILES = {
    "configs/services.toml": """
        [gate]
        base = "main"

        [services.web]
        source = ["src/web"]
        tests = ["tests/web"]

        [services.api]
        source = ["src/api"]
        tests = ["tests/api"]
    """,
    "pytest.ini": "[pytest]\npythonpath = src\n",
    "src/web/__init__.py": "",
    **{f"src/web/{name}": MODULE for name in (*HOSTILE, UNRUN)},
    "src/api/__init__.py": "",
    "src/api/core.py": MODULE,
    "a_tools/tool\n::warning::unowned.py": MODULE,  # no service's, sorted first: the audit names it
    "tests/web/test_web.py": TEST_WEB,
    "tests/api/test_api.py": "from api.core import f\n\n\ndef test_f():\n    assert f(-1) == 1\n",
}
# (command, the exit statuses it may end with here): the gate fails on the uncovered change.
COMMANDS = (
    (("run", "web"), {0}),
    (("run", "api"), {0}),
    (("run-all", "--jobs", "2"), {0}),
    (("combine",), {0}),
    (("report",), {0}),
    (("masking",), {0}),
    (("recommend",), {0}),
    (("gate",), {1}),
    (("baseline", "--set"), {0}),
    (("baseline", "--status"), {0}),
    (("stability", "web"), {0}),
    (("ratchet", "--check"), {0, 1}),
    (("audit",), {0, 1}),
    (("maintenance",), {0, 1}),
    (("services",), {0}),
)
# What must never reach a terminal from repository text: a line that GitHub Actions runs as
# a workflow command, and the control characters that move the cursor or rewrite the screen
# (a carriage return reads as a line break here, so the first pattern catches it).
WORKFLOW_COMMAND = re.compile(r"^\s*::", re.MULTILINE)
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@pytest.fixture
def hostile_repo(make_project) -> Path:
    project = make_project(FILES)
    (project / ".gitignore").write_text(
        ".coverage-data/\nreports/\n.coverage-history.db*\n", encoding="utf-8"
    )
    init_repo(project)
    commit_all(project, "base")
    git(project, "checkout", "-q", "-b", "change")
    for name in (*HOSTILE, UNRUN):
        path = project / "src" / "web" / name
        path.write_text(path.read_text(encoding="utf-8") + CHANGE, encoding="utf-8")
    commit_all(project, "change")
    return project


def harmless(project: Path, argv: tuple[str, ...], allowed: set[int]) -> str:
    """The command's output, once it is known to hold nothing a terminal or a runner obeys."""
    result = tasks(project, *argv)
    shown = " ".join(argv)
    assert result.returncode in allowed, f"{shown}: exit {result.returncode}\n{result.output}"
    assert "Traceback" not in result.output, f"{shown}\n{result.output}"
    assert not WORKFLOW_COMMAND.search(result.output), f"{shown}\n{result.output}"
    assert not CONTROL.search(result.output), f"{shown}: {CONTROL.search(result.output)!r}\n{result.output}"
    return result.output


def test_every_command__no_output_line_a_hostile_name_can_command(hostile_repo: Path) -> None:
    printed = {" ".join(argv): harmless(hostile_repo, argv, allowed) for argv, allowed in COMMANDS}
    # A measured file changes after the runs: the commands that refuse stale data name it.
    changed = hostile_repo / "src" / "web" / HOSTILE[0]
    changed.write_text(changed.read_text(encoding="utf-8") + "\nX = 1\n", encoding="utf-8")
    for argv in (("report",), ("gate",), ("baseline",)):
        printed[f"stale {' '.join(argv)}"] = harmless(hostile_repo, argv, {1, 2, 3})
    # The scan saw the names (escaped) where commands print them, not a quiet repository.
    named = {shown for shown, output in printed.items() if "\\x0a::warning::" in output}
    assert {"recommend", "gate", "audit", "maintenance", "stale report", "stale gate"} <= named, named
