"""Source files whose names hold spaces, unicode, and HTML or Markdown metacharacters,
measured end to end: run, combine, report in every format, gate on a change to them. Each
name must come out exactly (XML, JSON, LCOV) or escaped (HTML, Markdown, annotations),
and their figures must be what a strict coverage.py run gives."""

from __future__ import annotations

import html
import json
import re
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

from tests.conftest import commit_all, git, in_process, init_repo, run, tasks
from tests.oracle import strict_run

pytestmark = pytest.mark.e2e

HOSTILE = (
    "with space.py",
    "naïve_ünïcode.py",
    "<em>x&y<em>.py",
    "a|b*c_[d](e)`f`.py",
    "odd, name: %0A.py",
    "quote\"'.py",
)
MODULE = """
def f(n):
    if n > 0:
        return n
    return -n
"""
CHANGE = """

def added(n):
    return n * 2
"""
TEST = """
import importlib.util
from pathlib import Path

import pytest

SOURCES = Path(__file__).parent.parent.parent / "src" / "web"
NAMES = {names!r}


@pytest.mark.parametrize("name", NAMES)
def test_f(name):
    spec = importlib.util.spec_from_file_location("m", SOURCES / name)
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
    """,
    "pytest.ini": "[pytest]\n",
    "src/web/__init__.py": "",
    **{f"src/web/{name}": MODULE for name in HOSTILE},
    "tests/web/test_web.py": TEST.format(names=HOSTILE),
}


def unescaped_pipes(line: str) -> int:
    return len(re.findall(r"(?<!\\)\|", line))


def broken_rows(markdown: str) -> list[str]:
    """Table rows with more or fewer cells than their table's header: a name's pipe got out."""
    broken, header = [], None
    for line in markdown.splitlines():
        if not line.startswith("|"):
            header = None
        elif header is None:
            header = unescaped_pipes(line)
        elif unescaped_pipes(line) != header:
            broken.append(line)
    return broken


@pytest.fixture
def measured(make_project) -> Path:
    """Base on main; on `change`, an uncovered function added to every file; measured."""
    project = make_project(FILES)
    (project / ".gitignore").write_text(".coverage-data/\nreports/\n", encoding="utf-8")
    init_repo(project)
    commit_all(project, "base")
    git(project, "checkout", "-q", "-b", "change")
    for name in HOSTILE:
        path = project / "src" / "web" / name
        path.write_text(path.read_text(encoding="utf-8") + CHANGE, encoding="utf-8")
    commit_all(project, "change")
    for argv in (("run", "web"), ("combine",), ("report",)):
        result = (tasks if argv[0] == "run" else in_process)(project, *argv)
        assert result.returncode == 0, result.output
    return project


def test_reports__names_exact_where_data_and_escaped_where_markup(measured: Path, tmp_path: Path) -> None:
    project, reports = measured, measured / "reports"
    paths = [f"src/web/{name}" for name in HOSTILE]

    # The figures: each file's, as a strict coverage.py run of the service's tests has them.
    truth = strict_run(project, [project / "src" / "web"], ["tests/web"], tmp_path / "oracle" / ".coverage")
    services = json.loads((reports / "services.json").read_text(encoding="utf-8"))
    (web,) = services["services"]
    by_path = {file["path"]: file for file in web["files"]}
    for path in paths:
        expected = truth[(project / path).resolve()]
        assert by_path[path]["isolated"]["statements"] == len(expected.statements), path
        assert by_path[path]["isolated"]["covered"] == len(expected.statements - expected.missing), path

    # Data formats: the names exactly.
    xml_names = {c.get("filename") for c in ElementTree.parse(reports / "coverage.xml").iter("class")}
    assert set(HOSTILE) <= {Path(name).name for name in xml_names}
    assert set(paths) <= set(json.loads((reports / "coverage.json").read_text(encoding="utf-8"))["files"])
    lcov = (reports / "coverage.lcov").read_text(encoding="utf-8").splitlines()
    assert set(paths) <= {line[3:] for line in lcov if line.startswith("SF:")}

    # HTML: every page that names a file escapes it; no raw markup from a name anywhere.
    pages = [p for p in reports.rglob("*.html") if p.is_file()]
    text = "\n".join(p.read_text(encoding="utf-8") for p in pages)
    assert "<em>x&y<em>" not in text
    # coverage.py's own index names the file escaped, its way (which varies by version).
    assert "x&amp;" in (reports / "html" / "index.html").read_text(encoding="utf-8")
    assert html.escape("<em>x&y<em>.py", quote=False) in (reports / "index.html").read_text(encoding="utf-8")

    # Markdown: a name never breaks a table row (an unescaped pipe) nor adds markup.
    recommendations = (reports / "recommendations.md").read_text(encoding="utf-8")
    assert "src/web/&lt;em&gt;x&amp;y&lt;em&gt;\\.py" in recommendations
    assert "a\\|b\\*c\\_\\[d\\]\\(e\\)\\`f\\`" in recommendations
    for name in ("summary.md", "recommendations.md", "masking.md"):
        text = (reports / name).read_text(encoding="utf-8")
        assert broken_rows(text) == [], name
        assert "<em>" not in text, name


def test_gate__changed_lines_of_hostile_names_in_markdown_and_annotations(
    measured: Path, tmp_path: Path
) -> None:
    summary = tmp_path / "step-summary.md"
    result = run(
        [sys.executable, "-m", "tasks", "gate", "--policy", "changed"],
        measured,
        env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)},
    )
    assert result.returncode == 1, result.output  # the added functions are never run
    # The terminal names every file exactly (a person reads it).
    for name in HOSTILE:
        assert f"src/web/{name}" in result.stdout, name
    # Annotations: the file property escaped as GitHub's workflow commands require.
    annotations = [line for line in result.stdout.splitlines() if line.startswith("::error file=")]
    assert len(annotations) == len(HOSTILE)
    files = {line.split("file=", 1)[1].split(",line=", 1)[0] for line in annotations}
    assert "src/web/odd%2C name%3A %250A.py" in files
    assert "src/web/<em>x&y<em>.py" in files  # plain text to GitHub, which escapes it itself
    # Markdown (the step summary, gate.md, the comment): no name breaks a row or adds markup.
    for text in (
        summary.read_text(encoding="utf-8"),
        (measured / "reports" / "comment.md").read_text(encoding="utf-8"),
    ):
        assert "<em>x&y<em>" not in text
        assert "&lt;em&gt;x&amp;y&lt;em&gt;" in text or "\\<em\\>" in text
        assert broken_rows(text) == []


# Names coverage.py's search for never-imported files passes over (it takes them for editor
# side files), and the identifier each has in the oracle's copy, where coverage.py finds it.
FINDER_SKIPS = {
    "do=it.py": "do_it.py",
    "a,b.py": "a_b.py",
    "f(1).py": "f_1_.py",
    "p%.py": "p_pct.py",
    "settings.local.py": "settings_local.py",
}
UNIMPORTED = {
    "configs/services.toml": """
        [services.web]
        source = ["src/web"]
        tests = ["tests/web"]
    """,
    "pytest.ini": "[pytest]\npythonpath = src\n",
    ".coveragerc": "[run]\nomit = */skip=me.py\n",
    "src/web/__init__.py": "",
    "src/web/core.py": MODULE,
    **{f"src/web/{name}": MODULE for name in FINDER_SKIPS},
    "src/web/skip=me.py": MODULE,  # the project's own omit keeps it out
    "src/web/.#core.py": MODULE,  # an editor's lock file: hidden, not the service's code
    "tests/web/test_core.py": "from web.core import f\n\n\ndef test_f():\n    assert f(2) == 2\n",
}


def test_names_the_finder_skips__count_at_0_percent_like_any_unimported_file(
    make_project, tmp_path: Path
) -> None:
    project = make_project(UNIMPORTED)
    for argv in (("run", "web"), ("combine",), ("report", "--format", "json")):
        result = (tasks if argv[0] == "run" else in_process)(project, *argv)
        assert result.returncode == 0, result.output
        assert "Traceback" not in result.output
    services = json.loads((project / "reports" / "services.json").read_text(encoding="utf-8"))
    (web,) = services["services"]
    reported = {Path(file["path"]).name: file["isolated"] for file in web["files"]}

    # The oracle: the same files under names coverage.py's search finds, a strict run.
    oracle = tmp_path / "oracle"
    oracle.mkdir()
    for relative in ("src/web/__init__.py", "src/web/core.py", "tests/web/test_core.py", "pytest.ini"):
        (oracle / relative).parent.mkdir(parents=True, exist_ok=True)
        (oracle / relative).write_bytes((project / relative).read_bytes())
    for name, renamed in FINDER_SKIPS.items():
        (oracle / "src" / "web" / renamed).write_bytes((project / "src" / "web" / name).read_bytes())
    truth = strict_run(
        oracle, [oracle / "src" / "web"], ["tests/web"], tmp_path / "oracle-data" / ".coverage"
    )
    expected = {
        name: truth[(oracle / "src" / "web" / FINDER_SKIPS.get(name, name)).resolve()]
        for name in ("__init__.py", "core.py", *FINDER_SKIPS)
    }
    assert set(reported) == set(expected)  # neither the omitted file nor the lock file
    for name, figures in expected.items():
        assert reported[name]["statements"] == len(figures.statements), name
        assert reported[name]["covered"] == len(figures.statements - figures.missing), name
    assert all(reported[name]["covered"] == 0 for name in FINDER_SKIPS)
