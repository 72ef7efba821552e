"""Find the services of a repository the kit is being set up in, each with why: packages
under src/ with their tests, folders with a pyproject.toml of their own, top-level
packages with tests. What it cannot place (test files, packages without tests) is listed."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..config.manifest import RESERVED_NAMES, SERVICE_NAME

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


def discover(root: Path) -> Discovery:
    """The services of the repository at `root`, per-package folders first, then the
    packages of the root's src/, then its top-level packages."""
    found = Discovery()
    claimed: list[Path] = []  # test paths already given to a service
    folders = _service_folders(root)
    for folder in folders:
        service = _folder_service(root, folder, found.services)
        if service is None:
            continue
        found.services.append(service)
        claimed.append(folder)
    root_tests = [root / name for name in TEST_FOLDERS if (root / name).is_dir()]
    src = root / "src"
    src_packages = _packages(src) if src.is_dir() else []
    top_packages = [p for p in _packages(root, plain_only=True) if p.name not in (*TEST_FOLDERS, "src")]
    lone = len(src_packages) + len(top_packages) == 1  # one package: every root test is its
    for package in [*src_packages, *top_packages]:
        if any(package.is_relative_to(folder) for folder in folders):
            continue
        tests = _tests_of(package.name, root_tests, lone)
        if not tests:
            found.untested.append(package.relative_to(root).as_posix())
            continue
        claimed += tests
        where = "src/" if package.parent == src else "the repository root"
        shown = ", ".join(t.relative_to(root).as_posix() for t in tests)
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


def _service_folders(root: Path) -> list[Path]:
    """Folders below the root (not the root) with a project file of their own and tests."""
    found: list[Path] = []
    level = [root]
    for _ in range(PACKAGE_DEPTH):
        below: list[Path] = []
        for folder in level:
            for child in sorted(_children(folder)):
                if child.name in TEST_FOLDERS:
                    continue
                if any((child / name).is_file() for name in PROJECT_FILES) and _test_folder(child):
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


def _folder_service(root: Path, folder: Path, taken: list[Found]) -> Found | None:
    tests = _test_folder(folder)
    assert tests is not None  # _service_folders chose it for its tests
    src = folder / "src"
    packages = _packages(src) if src.is_dir() else _packages(folder, plain_only=True)
    packages = [p for p in packages if p.name not in TEST_FOLDERS]
    if not packages:
        return None
    relative = folder.relative_to(root).as_posix()
    names = ", ".join(p.name for p in packages)
    project = next(name for name in PROJECT_FILES if (folder / name).is_file())
    return Found(
        name=_service_name(folder.name, taken),
        working_dir=relative,
        source=tuple(p.relative_to(folder).as_posix() for p in packages),
        tests=(tests.name,),
        reason=f"{relative}/ has its own {project}, the package {names} and {tests.name}/",
    )


def _packages(folder: Path, *, plain_only: bool = False) -> list[Path]:
    """The importable packages directly in `folder`: with an __init__.py, or (namespace
    packages, unless `plain_only`) any folder of Python files with a name Python can import."""
    found = []
    for child in sorted(_children(folder)):
        if not child.name.isidentifier():
            continue
        if (child / "__init__.py").is_file() or (not plain_only and any(child.rglob("*.py"))):
            found.append(child)
    return found


def _tests_of(package: str, test_folders: list[Path], lone: bool) -> list[Path]:
    """The tests of `package` in the root's test folders: tests/<package>/, else the files
    tests/test_<package>*.py; the whole folder when the repository has one package only."""
    for folder in test_folders:
        if (folder / package).is_dir():
            return [folder / package]
    files = [f for folder in test_folders for f in sorted(folder.glob(f"test_{package}*.py"))]
    if files:
        return files
    return list(test_folders) if lone else []


def _service_name(raw: str, taken: list[Found]) -> str:
    """A session-safe service name from a package or folder name, unique among `taken`."""
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", raw).strip("-_") or "service"
    if not name[0].isalpha():
        name = f"svc-{name}"
    name = name[:40]
    if name.lower() in RESERVED_NAMES:
        name = f"{name}-service"
    base, number = name, 2
    while any(s.name.lower() == name.lower() for s in taken):
        name, number = f"{base[:36]}-{number}", number + 1
    assert SERVICE_NAME.match(name), name
    return name
