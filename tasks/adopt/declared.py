"""What a repository already declares that the manifest should carry over: its coverage
floors (coverage.py's fail_under, pytest-cov's --cov-fail-under), the Python its
requires-python asks for, and what its tests need installed (the options its test
command gives pytest are pytest_options.py's). Each value comes with where it was found,
for the manifest's comments."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import project_settings, tox
from . import libraries as libraries_module
from . import requirements
from .vendor import KIT_FOLDER

TEST_EXTRAS = ("test", "tests", "testing")
TEST_GROUPS = ("test", "tests", "testing", "dev")
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


def install(folder: Path, root: Path, shown: str, libraries: dict[str, Path]) -> Declared | None:
    """What the tests in `folder` need installed, as one pip install run from the kit's
    folder (`shown`: `folder` as comments name it): the project itself (editable, with its
    test extra) when it can be built, the dependency group its tooling installs, its test
    requirements file with every path in it resolved, pytest-cov where its addopts use
    --cov; each of the repository's own `libraries` it names from its folder, editable."""
    kit = root / KIT_FOLDER
    document = _pyproject(folder)
    words: list[str] = []
    where: list[str] = []
    project = project_settings.toml_table(document, "project")
    own = None
    if project and "build-system" in document:
        extra = _test_extra(project, root)
        own = folder.resolve()
        words += ["-e", libraries_module.relative(kit, folder) + (f"[{extra}]" if extra else "")]
        where.append(f"[project] in {shown}pyproject.toml" + (f" with its {extra!r} extra" if extra else ""))
    groups, why = _test_groups(document, folder, root)
    if groups:
        from dependency_groups import resolve

        words += list(resolve(document["dependency-groups"], *groups))
        where.append(f"[dependency-groups] {', '.join(groups)} ({why})")
    uv_dev = project_settings.toml_table(document, "tool", "uv").get("dev-dependencies")
    if isinstance(uv_dev, list) and uv_dev:  # uv's older spelling of the dev group
        words += [str(requirement) for requirement in uv_dev]
        where.append("[tool.uv] dev-dependencies")
    picked = requirements.pick(folder, root)
    if picked is not None:
        words += requirements.resolved(picked.path, root, folder, kit)
        name = picked.path.relative_to(folder).as_posix()
        where.append(
            f"{shown}{name}" + (f" ({picked.why})" if picked.why else "") + " with its paths resolved"
        )
    for path, section, addopts in project_settings.pytest_addopts(folder):
        # pytest refuses --cov where pytest-cov is absent; with it, the kit makes --cov harmless.
        if any(word.startswith("--cov") for word in addopts) and "pytest-cov" not in words:
            words.append("pytest-cov")
            where.append(f"pytest-cov for the --cov in {path.name} {section}")
    known = {**libraries, **libraries_module.uv_sources(folder)}
    words, from_folders = libraries_module.editable(words, known, kit, own)
    if from_folders:
        folders = "its folder" if len(from_folders) == 1 else "their folders"
        where.append(f"the repository's own {', '.join(from_folders)} from {folders}, editable")
    words = _once(words)
    return Declared(words, ", ".join(where)) if words else None


def _once(words: list[str]) -> list[str]:
    """`words` with each editable folder once: the project itself and a requirements file's
    `-e` of it name one install (pip refuses a requirement given twice)."""
    kept: list[str] = []
    seen: set[str] = set()
    index = 0
    while index < len(words):
        if words[index] in ("-e", "--editable") and index + 1 < len(words):
            path = words[index + 1].split("[")[0].rstrip("/")
            if path not in seen:
                seen.add(path)
                kept += words[index : index + 2]
            index += 2
            continue
        kept.append(words[index])
        index += 1
    return kept


def _test_extra(project: dict[str, Any], root: Path) -> str | None:
    """The extra to install the project with: the one tox's environments name, else a test one."""
    extras = project.get("optional-dependencies", {})
    if not isinstance(extras, dict):
        return None
    for environment in tox.environments(root):
        named = next((extra for extra in environment.extras if extra in extras), None)
        if named:
            return named
    return next((name for name in TEST_EXTRAS if name in extras), None)


def _test_groups(document: dict[str, Any], folder: Path, root: Path) -> tuple[list[str], str]:
    """The dependency groups the repository's own tooling installs for its tests, and why:
    those a tox environment names; with uv, [tool.uv] default-groups, else dev; else the
    first of test, tests, testing, dev."""
    groups = document.get("dependency-groups", {})
    if not isinstance(groups, dict) or not groups:
        return [], ""
    for environment in tox.environments(root):
        named = [group for group in environment.dependency_groups if group in groups]
        if named:
            return named, f"named by tox.ini {environment.shown} dependency_groups"
    uv = project_settings.toml_table(document, "tool", "uv")
    if uv or (folder / "uv.lock").is_file() or (root / "uv.lock").is_file():
        default = uv.get("default-groups", ["dev"])
        chosen = list(groups) if default == "all" else default if isinstance(default, list) else []
        chosen = [group for group in chosen if group in groups]
        if chosen:
            return chosen, "what uv sync installs"
    first = [name for name in TEST_GROUPS if name in groups][:1]
    return first, "the first of test, tests, testing, dev"


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
