"""The files a service's run reads that coverage does not measure: its tests, the
conftest.py files pytest loads for them, and pytest's settings in the configuration files of
the repository's root and of the service's working_dir.

They decide the figures as much as the measured code does (a test deleted on the base
branch lowers them), so each run records their digests with its data (freshness.py), as
entries named `(read) <path>`, and one entry for the list of its test files, so that a
test file added or removed since makes the data stale too. Of a configuration file only
pytest's settings count: coverage.py's are the run settings recorded beside them
(settings.figure_settings), and the rest of a pyproject.toml (a version, the ratchet's
fail_under) changes no figure.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ..config.manifest import Manifest, Service
from ..config.project_settings import PYTEST_CONFIG_FILES, read_ini, read_toml

READ_PREFIX = "(read) "
LISTING = "(tests) the list of its test files"  # the entry for which test files there are
# Where pytest reads its settings in each of its configuration files.
INI_SECTIONS = {
    "pytest.ini": "pytest",
    ".pytest.ini": "pytest",
    "tox.ini": "pytest",
    "setup.cfg": "tool:pytest",
}


def test_files(service: Service) -> list[Path]:
    """The Python files under the service's test paths (a test path may be one file)."""
    found: set[Path] = set()
    for test in service.tests:
        path = (service.cwd / test.split("::")[0]).resolve()
        if path.is_file():
            found.add(path)
        elif path.is_dir():
            found |= {file for file in path.rglob("*.py") if "__pycache__" not in file.parts}
    return sorted(found)


def read_files(manifest: Manifest, service: Service) -> list[Path]:
    """Its test files, the conftest.py files on the way from the root down to its test
    paths, and the configuration files pytest reads in the root and in its working_dir."""
    found = set(test_files(service))
    root = manifest.root.resolve()
    for test in service.tests:
        folder = (service.cwd / test.split("::")[0]).resolve()
        for above in (folder, *folder.parents):
            if not above.is_relative_to(root):
                break
            if (above / "conftest.py").is_file():
                found.add(above / "conftest.py")
    for folder in {root, service.cwd.resolve()}:
        found |= {folder / name for name in PYTEST_CONFIG_FILES if (folder / name).is_file()}
    return sorted(path for path in found if path.is_relative_to(manifest.project_dir))


def digest(path: Path) -> str:
    """A file's digest as recorded: its content, or for a configuration file pytest's
    settings in it; "" for a file that is not there."""
    try:
        if path.name in PYTEST_CONFIG_FILES:
            return _digest_of(json.dumps(_pytest_settings(path), sort_keys=True).encode())
        return _digest_of(path.read_bytes())
    except OSError:
        return ""


def entries(manifest: Manifest, service: Service) -> dict[str, str]:
    """The digest entries of what the run read, as recorded with its data."""
    project = manifest.project_dir
    found = {
        READ_PREFIX + path.relative_to(project).as_posix(): digest(path)
        for path in read_files(manifest, service)
    }
    return {**found, **listing_entry(manifest, service)}


def listing_entry(manifest: Manifest, service: Service) -> dict[str, str]:
    """The entry for which test files the service has (not their contents)."""
    project = manifest.project_dir
    listing = sorted(
        path.relative_to(project).as_posix() for path in test_files(service) if path.is_relative_to(project)
    )
    return {LISTING: _digest_of(json.dumps(listing).encode())}


def _pytest_settings(path: Path) -> object:
    """pytest's settings in one of its configuration files, as it reads them."""
    if path.suffix == ".toml":
        document = read_toml(path)
        if path.name == "pyproject.toml":
            tool = document.get("tool", {})
            return tool.get("pytest", {}) if isinstance(tool, dict) else {}
        return document  # pytest.toml, .pytest.toml: the whole file is pytest's
    parser = read_ini(path)
    section = INI_SECTIONS.get(path.name, "pytest")
    if parser is None or not parser.has_section(section):
        return {}
    return dict(parser.items(section))


def _digest_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()
