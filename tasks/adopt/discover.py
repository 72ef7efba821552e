"""Find the services of a repository the kit is being set up in, each with why: folders with
a project file of their own and tests (test folders searched too), packages under src/ or
at the top with the tests that import them. What it cannot place (test files, packages
without tests, library folders with no package) is listed, with why."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..config.manifest import RESERVED_NAMES, SERVICE_NAME, SERVICE_NAME_LENGTH
from ..text import natural_key
from .build_config import declared_packages

# Folders that hold no service: tools' caches, environments, builds, the kit's own folder.
SKIPPED = {
    "node_modules",
    "build",
    "dist",
    "site-packages",
    "__pycache__",
    "venv",
    "env",
    "docs",
    "doc",
}
TEST_FOLDERS = ("tests", "test")
PROJECT_FILES = ("pyproject.toml", "setup.cfg", "setup.py")
PACKAGE_DEPTH = 3  # packages/<name>, services/<group>/<name>: deeper is not a service folder
TEST_FILE = re.compile(r"(test_.*|.*_test)\.py\Z")
# Folders of Python files beside a library's package that are not a package of it.
NOT_PACKAGES = {*TEST_FOLDERS, "scripts", "bench", "benchmarks", "examples", "tools", "ci", "docs", "doc"}


@dataclass(frozen=True)
class Found:
    """One service as adopt will write it: paths relative to `working_dir` (the root's)."""

    name: str
    working_dir: str  # relative to the repository root; "." for the root itself
    source: tuple[str, ...]
    tests: tuple[str, ...]
    reason: str


@dataclass
class Discovery:
    services: list[Found] = field(default_factory=list)
    unplaced_tests: list[str] = field(default_factory=list)  # test files no service claims
    untested: list[str] = field(default_factory=list)  # packages no tests were found for
    passed_over: list[str] = field(default_factory=list)  # "folder: why", project folders not services


def discover(root: Path) -> Discovery:
    """The services of the repository at `root`, per-package folders first, then the
    packages of the root's src/, then its top-level packages."""
    found = Discovery()
    claimed: list[Path] = []  # test paths already given to a service
    folders = _service_folders(root)
    for folder in folders:
        service = _folder_service(root, folder, found)
        if service is not None:
            found.services.append(service)
        claimed.append(folder)  # a library folder inside tests/ holds no root test file
    root_tests = [root / name for name in TEST_FOLDERS if (root / name).is_dir()]
    src = root / "src"
    src_packages = _packages(src) if src.is_dir() else []
    top_packages = [p for p in _packages(root, plain_only=True) if p.name not in (*TEST_FOLDERS, "src")]
    packages = [p for p in [*src_packages, *top_packages] if not any(p.is_relative_to(f) for f in folders)]
    lone = len(packages) == 1  # one package: every root test is its
    folder_tests = {p.name: [t / p.name for t in root_tests if (t / p.name).is_dir()][:1] for p in packages}
    by_import = _tests_by_import(
        root_tests, [p.name for p in packages], [*claimed, *(t for ts in folder_tests.values() for t in ts)]
    )
    for package in packages:
        tests = (
            folder_tests[package.name] or by_import.get(package.name) or (list(root_tests) if lone else [])
        )
        if not tests:
            found.untested.append(package.relative_to(root).as_posix())
            continue
        claimed += tests
        where = "src/" if package.parent == src else "the repository root"
        shown = _shown_tests(root, tests)
        found.services.append(
            Found(
                name=_service_name(package.name, found.services),
                working_dir=".",
                source=(package.relative_to(root).as_posix(),),
                tests=tuple(t.relative_to(root).as_posix() for t in tests),
                reason=f"package {package.name} in {where}, tested by {shown}",
            )
        )
    for folder in root_tests:
        for test in sorted(folder.rglob("*.py")):
            if TEST_FILE.match(test.name) and not any(test.is_relative_to(c) for c in claimed):
                found.unplaced_tests.append(test.relative_to(root).as_posix())
    return found


def _shown_tests(root: Path, tests: list[Path]) -> str:
    names = [t.relative_to(root).as_posix() for t in tests]
    return ", ".join(names) if len(names) <= 3 else f"{', '.join(names[:3])} and {len(names) - 3} more files"


def _tests_by_import(folders: list[Path], packages: list[str], claimed: list[Path]) -> dict[str, list[Path]]:
    """The test files of the root's test folders that no folder of their own claims, given to
    each package they import (as written in their source: `import x`, `from x.y import z`);
    a file importing several packages goes to each."""
    found: dict[str, list[Path]] = {}
    for folder in folders:
        for test in sorted(folder.rglob("*.py")):
            if not TEST_FILE.match(test.name) or any(test.is_relative_to(c) for c in claimed):
                continue
            for package in sorted(_imported(test) & set(packages)):
                found.setdefault(package, []).append(test)
    return found


def _imported(path: Path) -> set[str]:
    """The top-level names a module imports, absolute imports only."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return set()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


def _service_folders(root: Path) -> list[Path]:
    """Folders below the root (not the root) with a project file of their own and tests;
    test folders are searched too (a shared test-utilities library lives there)."""
    found: list[Path] = []
    level = [root]
    for _ in range(PACKAGE_DEPTH):
        below: list[Path] = []
        for folder in level:
            for child in sorted(_children(folder), key=lambda path: natural_key(path.name)):
                project = any((child / name).is_file() for name in PROJECT_FILES)
                if child.name not in TEST_FOLDERS and project and _test_folder(child):
                    found.append(child)  # a service folder: what is inside it is its own
                else:
                    below.append(child)
        level = below
    return found


def _children(folder: Path) -> list[Path]:
    try:
        return [
            child
            for child in folder.iterdir()
            if child.is_dir() and not child.name.startswith((".", "_")) and child.name not in SKIPPED
        ]
    except OSError:
        return []


def _test_folder(folder: Path) -> Path | None:
    return next((folder / name for name in TEST_FOLDERS if (folder / name).is_dir()), None)


def _folder_service(root: Path, folder: Path, found: Discovery) -> Found | None:
    """The service of a folder with its own project file and tests: the packages its build
    configuration declares, else those in its src/, else its top-level ones (namespace
    packages where it has no plain one); listed as passed over where it has none."""
    tests = _test_folder(folder)
    assert tests is not None  # _service_folders chose it for its tests
    relative = folder.relative_to(root).as_posix()
    project = next(name for name in PROJECT_FILES if (folder / name).is_file())
    declared = declared_packages(folder)
    if declared:
        source = declared
        how = f"the package{'s' if len(source) > 1 else ''} {', '.join(source)} its {project} declares"
    else:
        src = folder / "src"
        packages = _packages(src) if src.is_dir() else _packages(folder, plain_only=True)
        if not packages and not src.is_dir():
            packages = [p for p in _packages(folder) if p.name not in NOT_PACKAGES]  # namespace ones
        packages = [p for p in packages if p.name not in TEST_FOLDERS]
        source = [p.relative_to(folder).as_posix() for p in packages]
        how = f"the package {', '.join(p.name for p in packages)}"
    if not source:
        found.passed_over.append(
            f"{relative}/: its {project} and {tests.name}/, but no package (none declared, none found "
            "in src/ or at its top): add a service by hand"
        )
        return None
    return Found(
        name=_service_name(folder.name, found.services),
        working_dir=relative,
        source=tuple(source),
        tests=(tests.name,),
        reason=f"{relative}/ has its own {project}, {how} and {tests.name}/",
    )


def _packages(folder: Path, *, plain_only: bool = False) -> list[Path]:
    """The importable packages directly in `folder`: with an __init__.py, or (namespace
    packages, unless `plain_only`) any folder of Python files with a name Python can import."""
    found = []
    for child in sorted(_children(folder), key=lambda path: natural_key(path.name)):
        if not child.name.isidentifier():
            continue
        if (child / "__init__.py").is_file() or (not plain_only and any(child.rglob("*.py"))):
            found.append(child)
    return found


def _service_name(raw: str, taken: list[Found]) -> str:
    """A session-safe service name from a package or folder name, unique among `taken`."""
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", raw).strip("-_") or "service"
    if not name[0].isalpha():
        name = f"svc-{name}"
    name = name[:SERVICE_NAME_LENGTH]  # longer than any real package's name: kept whole
    if name.lower() in RESERVED_NAMES:
        name = f"{name}-service"
    base, number = name, 2
    while any(s.name.lower() == name.lower() for s in taken):
        name, number = f"{base[: SERVICE_NAME_LENGTH - 4]}-{number}", number + 1
    assert SERVICE_NAME.match(name), name
    return name
