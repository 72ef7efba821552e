"""tox.ini's test environments as tox reads them: the base [testenv] and each
[testenv:NAME], with the keys a named one inherits from the base, its commands one a line
with tox's substitutions made. Read by the audit (what each command measures) and by adopt
(which environment runs a service's tests, and what it installs)."""

from __future__ import annotations

import configparser
import re
from dataclasses import dataclass
from pathlib import Path

from . import project_settings

# tox's substitutions for the folder of tox.ini; {posargs:DEFAULT} stands for its default.
TOX_ROOT = re.compile(r"\{(toxinidir|tox_root)\}")
TOX_POSARGS = re.compile(r"\{posargs(?::([^}]*))?\}")
BASE = "testenv"


@dataclass(frozen=True, kw_only=True)
class Environment:
    section: str  # "testenv" (the base every environment inherits from) or "testenv:NAME"
    commands: tuple[str, ...]  # as written, one a line: its own, or the base's where it has none
    own_commands: bool  # declared in its own section (the base's own count as its own)
    changedir: str  # substituted; "." for tox.ini's folder
    deps: tuple[str, ...]  # one requirement (or -r FILE) a line, as written
    extras: tuple[str, ...]
    dependency_groups: tuple[str, ...]

    @property
    def shown(self) -> str:
        return f"[{self.section}]"


def environments(root: Path) -> list[Environment]:
    """The test environments of `root`/tox.ini in file order, the base first; [] without one."""
    parser = project_settings.read_ini(root / "tox.ini")
    if parser is None:
        return []
    sections = [s for s in parser.sections() if s == BASE or s.startswith(f"{BASE}:")]
    sections.sort(key=lambda section: section != BASE)  # the base first, the rest as written
    return [_environment(parser, section) for section in sections]


def _environment(parser: configparser.ConfigParser, section: str) -> Environment:
    def value(key: str) -> str:
        own = parser.get(section, key, fallback=None)
        return own if own is not None else parser.get(BASE, key, fallback="")

    return Environment(
        section=section,
        commands=tuple(lines(value("commands"))),
        own_commands=parser.has_option(section, "commands"),
        changedir=substituted(value("changedir").strip() or "."),
        deps=tuple(line for line in _items(value("deps")) if not line.startswith("#")),
        extras=tuple(_items(value("extras"), commas=True)),
        dependency_groups=tuple(_items(value("dependency_groups"), commas=True)),
    )


def lines(commands: str) -> list[str]:
    """One command a line, continued lines joined; a leading `-` (ignore the exit status) or
    `!` (expect a failure) is tox's, not the command's."""
    text = commands.replace("\\\n", " ")
    return [line.strip().lstrip("-! ") for line in text.splitlines() if line.strip()]


def substituted(text: str) -> str:
    """`text` as tox runs it: tox.ini's folder for {toxinidir}, {posargs}'s default."""
    return TOX_POSARGS.sub(lambda m: m.group(1) or "", TOX_ROOT.sub(".", text))


def _items(text: str, *, commas: bool = False) -> list[str]:
    separated = re.split(r"[,\n]", text) if commas else text.splitlines()
    return [substituted(item.strip()) for item in separated if item.strip()]
