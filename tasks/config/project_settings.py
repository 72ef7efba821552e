"""The project's own tool settings as its files declare them: coverage.py's sections and
pytest's addopts in pyproject.toml, .coveragerc, setup.cfg, tox.ini and pytest.ini."""

from __future__ import annotations

import configparser
import re
import shlex
import tomllib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

LIST_KEYS = ("source", "source_dirs", "omit", "include")

# The files each tool reads its settings from, in a folder, in the order it looks.
COVERAGE_CONFIG_FILES = (".coveragerc", ".coveragerc.toml", "setup.cfg", "tox.ini", "pyproject.toml")
PYTEST_CONFIG_FILES = (
    "pytest.toml",
    ".pytest.toml",
    "pytest.ini",
    ".pytest.ini",
    "pyproject.toml",
    "tox.ini",
    "setup.cfg",
)


def coverage_settings(root: Path, sections: Sequence[str]) -> Iterable[tuple[Path, str, dict[str, Any]]]:
    """(file, section name, settings) of each of `sections` ("run", "report") in every
    coverage.py config file in `root`; list settings of INI files split as coverage.py does."""
    pyproject = root / "pyproject.toml"
    document = read_toml(pyproject) if pyproject.is_file() else {}
    for section in sections:
        table = toml_table(document, "tool", "coverage", section)
        if table:
            yield pyproject, f"[tool.coverage.{section}]", table
    for name, prefix in ((".coveragerc", ""), ("setup.cfg", "coverage:"), ("tox.ini", "coverage:")):
        parser = read_ini(root / name)
        for section in sections:
            if parser is None or not parser.has_section(prefix + section):
                continue
            settings: dict[str, Any] = {}
            for key, value in parser.items(prefix + section):
                if key in LIST_KEYS:
                    settings[key] = [item.strip() for item in re.split(r"[,\n]", value) if item.strip()]
                else:
                    settings[key] = value
            yield root / name, f"[{prefix}{section}]", settings


def pytest_addopts(root: Path) -> Iterable[tuple[Path, str, list[str]]]:
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        addopts = toml_table(read_toml(pyproject), "tool", "pytest", "ini_options").get("addopts", [])
        words = [str(word) for word in addopts] if isinstance(addopts, list) else split_addopts(str(addopts))
        yield pyproject, "[tool.pytest.ini_options] addopts", words
    for name, section in (("pytest.ini", "pytest"), ("setup.cfg", "tool:pytest"), ("tox.ini", "pytest")):
        parser = read_ini(root / name)
        if parser is not None and parser.has_option(section, "addopts"):
            yield root / name, f"[{section}] addopts", split_addopts(parser.get(section, "addopts"))


def split_addopts(addopts: str) -> list[str]:
    """addopts as pytest splits it; unbalanced quotes (pytest will say so) split on spaces."""
    try:
        return shlex.split(addopts)
    except ValueError:
        return addopts.split()


def toml_table(document: dict[str, Any], *keys: str) -> dict[str, Any]:
    """The table at `keys`, or {} when any level is absent or not a table."""
    for key in keys:
        value = document.get(key, {})
        document = value if isinstance(value, dict) else {}
    return document


def read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}  # not ours to judge here; the tools that read it will say


def read_ini(path: Path) -> configparser.ConfigParser | None:
    if not path.is_file():
        return None
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError):
        return None
    return parser
