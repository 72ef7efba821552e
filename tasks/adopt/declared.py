"""What a repository already declares that the manifest should carry over: its coverage
floors (coverage.py's fail_under, pytest-cov's --cov-fail-under), the Python its
requires-python asks for, the options its own test command gives pytest, and what its
tests need installed. Each value comes with where it was found, for the manifest's comments."""

from __future__ import annotations

import ast
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import project_settings

# pytest's options that take a value as the next word, in the commands read here.
VALUED = {"-p", "-m", "-k", "-W", "-o", "-c", "--rootdir", "--confcutdir", "--import-mode", "--tb"}
# Options the kit manages itself: coverage (its own measurement) and xdist's worker count.
KIT_OWNED = ("--cov", "--no-cov", "-n", "--numprocesses", "--dist")
TEST_EXTRAS = ("test", "tests", "testing")
TEST_GROUPS = ("test", "tests", "testing", "dev")
REQUIREMENT_FILES = (
    "requirements-test.txt",
    "test-requirements.txt",
    "requirements-dev.txt",
    "requirements/test.txt",
)
PYTHONS = [f"3.{minor}" for minor in range(9, 16)]


@dataclass(frozen=True)
class Declared:
    value: Any
    where: str  # the file and setting it came from, as the manifest's comment says


def floor(folder: Path, shown: str) -> Declared | None:
    """The total floor the folder's own configuration sets: pytest-cov's --cov-fail-under
    (it replaces coverage.py's), else coverage.py's fail_under. `shown`: the folder as named."""
    for path, section, words in project_settings.pytest_addopts(folder):
        for index, word in enumerate(words):
            value = None
            if word.startswith("--cov-fail-under="):
                value = word.partition("=")[2]
            elif word == "--cov-fail-under" and index + 1 < len(words):
                value = words[index + 1]
            if value is not None and _number(value) is not None:
                return Declared(_number(value), f"--cov-fail-under in {shown}{path.name} {section}")
    for path, section, settings in project_settings.coverage_settings(folder, ["report"]):
        if "fail_under" in settings and _number(settings["fail_under"]) is not None:
            return Declared(_number(settings["fail_under"]), f"fail_under in {shown}{path.name} {section}")
    return None


def _number(value: object) -> float | int | None:
    try:
        number = float(str(value))
    except ValueError:
        return None
    if not 0 <= number <= 100:
        return None
    return int(number) if number.is_integer() else number


def python(folder: Path, shown: str) -> Declared | None:
    """The lowest Python requires-python allows, when the one running this does not satisfy
    it (otherwise the sessions run on nox's own, and nothing is written)."""
    spec = project_settings.toml_table(_pyproject(folder), "project").get("requires-python")
    if not isinstance(spec, str):
        return None
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        allowed = SpecifierSet(spec)
    except InvalidSpecifier:
        return None
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    if allowed.contains(running):
        return None
    chosen = next((version for version in PYTHONS if allowed.contains(version)), None)
    where = f'requires-python "{spec}" in {shown}pyproject.toml'
    return Declared(chosen, where) if chosen else None


def _pyproject(folder: Path) -> dict[str, Any]:
    path = folder / "pyproject.toml"
    return project_settings.read_toml(path) if path.is_file() else {}


def pytest_options(root: Path) -> Declared | None:
    """The options the repository's own test commands give pytest (tox.ini's, noxfile.py's),
    without those the kit sets itself."""
    found: list[str] = []
    where: list[str] = []
    parser = project_settings.read_ini(root / "tox.ini")
    if parser is not None:
        for section in parser.sections():
            if section.startswith("testenv") and parser.has_option(section, "commands"):
                commands = parser.get(section, "commands").replace("\\\n", " ")
                words = [
                    w
                    for line in commands.splitlines()
                    for w in _pytest_words(project_settings.split_addopts(line))
                ]
                if words:
                    found += words
                    where.append(f"tox.ini [{section}] commands")
    noxfile = _noxfile_words(root / "noxfile.py")
    if noxfile:
        found += noxfile
        where.append("noxfile.py's pytest call")
    options = list(dict.fromkeys(found))
    return Declared(options, " and ".join(where)) if options else None


def _pytest_words(words: list[str]) -> list[str]:
    """The options after `pytest` (or `python -m pytest`, `py.test`) in a command's words."""
    for index, word in enumerate(words):
        if word in ("pytest", "py.test") or (word == "-m" and words[index + 1 : index + 2] == ["pytest"]):
            start = index + (2 if word == "-m" else 1)
            return _options(words[start:])
    return []


def _options(words: list[str]) -> list[str]:
    kept: list[str] = []
    skip_next = False
    for index, word in enumerate(words):
        if skip_next:
            skip_next = False
            continue
        if not word.startswith("-") or "{" in word:
            continue  # test paths and tox's {posargs}: the kit chooses the paths
        valued = word in VALUED
        if word.split("=")[0].startswith(KIT_OWNED):
            skip_next = valued or word in ("-n", "--numprocesses", "--dist", "--cov-fail-under")
            continue
        kept.append(word)
        if valued and index + 1 < len(words):
            kept.append(words[index + 1])
            skip_next = True
    return kept


def _noxfile_words(path: Path) -> list[str]:
    """The literal arguments of the noxfile's session.run("pytest", ...) calls."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return []
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "run":
            words = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            found += _pytest_words(words)
    return found


def install(folder: Path, relative: str, shown: str) -> Declared | None:
    """What the tests in `folder` need installed, as one pip install run from the kit's
    folder (`relative`: `folder` from there; `shown`: as comments name it): the project
    itself (editable, with its test extra) when it can be built, its test dependency group,
    its test requirements file, and pytest-cov where its addopts use --cov."""
    document = _pyproject(folder)
    words: list[str] = []
    where: list[str] = []
    project = project_settings.toml_table(document, "project")
    if project and "build-system" in document:
        extras = project.get("optional-dependencies", {})
        extra = next((name for name in TEST_EXTRAS if isinstance(extras, dict) and name in extras), None)
        words += ["-e", f"{relative}[{extra}]" if extra else relative]
        where.append(f"[project] in {shown}pyproject.toml" + (f" with its {extra!r} extra" if extra else ""))
    groups = document.get("dependency-groups", {})
    group = next((name for name in TEST_GROUPS if isinstance(groups, dict) and name in groups), None)
    if group:
        from dependency_groups import resolve

        words += list(resolve(groups, group))
        where.append(f"[dependency-groups] {group}")
    uv_dev = project_settings.toml_table(document, "tool", "uv").get("dev-dependencies")
    if isinstance(uv_dev, list) and uv_dev:  # uv's older spelling of the dev group
        words += [str(requirement) for requirement in uv_dev]
        where.append("[tool.uv] dev-dependencies")
    for name in REQUIREMENT_FILES:
        if (folder / name).is_file():
            words += ["-r", f"{relative}/{name}"]
            where.append(name)
            break
    for path, section, addopts in project_settings.pytest_addopts(folder):
        # pytest refuses --cov where pytest-cov is absent; with it, the kit makes --cov harmless.
        if any(word.startswith("--cov") for word in addopts) and "pytest-cov" not in words:
            words.append("pytest-cov")
            where.append(f"pytest-cov for the --cov in {path.name} {section}")
    return Declared(words, ", ".join(where)) if words else None


def base(root: Path) -> Declared | None:
    """The branch the gate compares with: origin's default branch, else (no remote) the
    branch checked out now; None outside a git checkout (the kit's default then)."""
    for argv, where in (
        (["git", "symbolic-ref", "--short", "refs/remotes/origin/HEAD"], "origin's default branch"),
        (["git", "symbolic-ref", "--short", "HEAD"], "the branch checked out when adopt ran (no origin)"),
    ):
        try:
            result = subprocess.run(argv, cwd=root, capture_output=True, text=True, check=False)
        except OSError:
            return None  # no git here: the gate's default stands
        if result.returncode == 0 and result.stdout.strip():
            return Declared(result.stdout.strip(), where)
    return None
