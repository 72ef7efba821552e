"""The options the repository's own test command gives pytest, taken from the one
environment that runs a service's tests, never merged across environments: tox's base
[testenv], or the environment whose commands name the service's test paths; without tox,
the noxfile's test session. An option and its value stay together (`-W error`, `--ignore
x`), and the options the kit manages itself (coverage, xdist) are left out."""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..config import project_settings, tox
from .declared import Declared
from .discover import Found

# pytest's options (and common plugins') that take their value as the next word.
VALUED = {
    "-p",
    "-m",
    "-k",
    "-W",
    "-o",
    "-c",
    "-r",
    "--ignore",
    "--ignore-glob",
    "--deselect",
    "--rootdir",
    "--confcutdir",
    "--import-mode",
    "--tb",
    "--maxfail",
    "--durations",
    "--basetemp",
    "--override-ini",
    "--pythonwarnings",
    "--capture",
    "--log-level",
    "--log-cli-level",
    "--junitxml",
    "--cov",
    "--cov-report",
    "--cov-config",
    "--cov-fail-under",
    "--numprocesses",
    "-n",
    "--dist",
    "--maxprocesses",
}
# Options the kit manages itself: its own measurement, and xdist's workers (--workers).
KIT_OWNED = ("--cov", "--no-cov", "-n", "--numprocesses", "--dist", "--maxprocesses")
TEST_SESSIONS = ("tests", "test")  # the noxfile's session that runs the tests, by name


@dataclass(frozen=True)
class Command:
    """One pytest command of the repository's: its options and the paths it names."""

    options: list[str]
    paths: list[str]  # relative to the folder it runs in, as written
    folder: str  # where it runs, relative to the root
    where: str  # for the manifest's comment


@dataclass(frozen=True)
class Chosen:
    default: Declared | None  # [settings] pytest_args
    services: dict[str, Declared]  # a service's own, where another command runs its tests


def choose(root: Path, services: list[Found]) -> Chosen:
    """The options for every service (the default test command's) and, for a service whose
    tests another command runs, that command's."""
    commands = _tox_commands(root) or _nox_commands(root)
    if not commands:
        return Chosen(None, {})
    default = commands[0]  # tox's base [testenv], or the noxfile's test session
    own: dict[str, Declared] = {}
    for service in services:
        # The command that names the service's tests most closely (tests/smoke before tests);
        # of two as close, the first.
        closeness = [(_closeness(c, service), -index) for index, c in enumerate(commands)]
        best = max(range(len(commands)), key=lambda index: closeness[index])
        runs = commands[best] if closeness[best][0] > 0 else default
        if runs is not default and runs.options != default.options:
            own[service.name] = Declared(runs.options, runs.where)
    chosen = Declared(default.options, default.where) if default.options else None
    return Chosen(chosen, own)


def _closeness(command: Command, service: Found) -> int:
    """How closely `command` names `service`'s tests: the parts of the longest path it names
    that is, contains or lies inside one of them; 0 where it names none (the repository's
    top, which holds every test, says nothing)."""
    wanted = [_plain(PurePosixPath(service.working_dir, test)) for test in service.tests]
    named = [_plain(PurePosixPath(command.folder, path.split("::")[0])) for path in command.paths]
    return max(
        (
            len(path.parts)
            for path in named
            for test in wanted
            if test.is_relative_to(path) or path.is_relative_to(test)
        ),
        default=0,
    )


def _plain(path: PurePosixPath) -> PurePosixPath:
    return PurePosixPath(*[part for part in path.parts if part != "."])


def _tox_commands(root: Path) -> list[Command]:
    """The pytest command of each tox environment that runs one, the base's first."""
    found: list[Command] = []
    for environment in tox.environments(root):
        if not environment.own_commands:
            continue
        for line in environment.commands:
            words = _pytest_words(project_settings.split_addopts(tox.substituted(line)))
            if words is not None:
                options, paths = _split(words)
                where = f"tox.ini {environment.shown} commands"
                found.append(Command(options, paths, environment.changedir, where))
                break  # one pytest command an environment
    return found


def _nox_commands(root: Path) -> list[Command]:
    """The noxfile's session.run("pytest", ...) calls, its test session's first."""
    path = root / "noxfile.py"
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return []
    found: list[tuple[bool, Command]] = []
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef):
            continue
        for node in ast.walk(function):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            if node.func.attr == "run":
                words = _pytest_words([a.value for a in node.args if isinstance(a, ast.Constant)])
                if words is not None:
                    options, paths = _split(words)
                    where = f"noxfile.py's session {function.name!r}"
                    found.append((function.name in TEST_SESSIONS, Command(options, paths, ".", where)))
                    break
    found.sort(key=lambda pair: not pair[0])  # the test session first, the rest as written
    return [command for _, command in found]


def _pytest_words(words: Sequence[object]) -> list[str] | None:
    """The words after `pytest` (or `python -m pytest`, `py.test`); None where it runs no
    pytest (or one with words that are not plain strings)."""
    if not all(isinstance(word, str) for word in words):
        return None
    strings = [str(word) for word in words]
    for index, word in enumerate(strings):
        if word in ("pytest", "py.test") or (word == "-m" and strings[index + 1 : index + 2] == ["pytest"]):
            return strings[index + (2 if word == "-m" else 1) :]
    return None


def _split(words: list[str]) -> tuple[list[str], list[str]]:
    """(options, paths) of pytest's arguments: an option keeps its value; the kit's own
    options and tox's leftover placeholders are dropped."""
    options: list[str] = []
    paths: list[str] = []
    index = 0
    while index < len(words):
        word = words[index]
        name = word.split("=", 1)[0]
        takes_next = name in VALUED and "=" not in word and not _joined_short(word)
        pair = [word, words[index + 1]] if takes_next and index + 1 < len(words) else [word]
        index += len(pair)
        if "{" in word:
            continue  # a tox substitution the kit cannot make
        if not word.startswith("-"):
            paths.append(word)
        elif not name.startswith(KIT_OWNED):
            options += pair
    return options, paths


def _joined_short(word: str) -> bool:
    """A short option with its value joined to it: -Werror, -kslow, -pno:cacheprovider."""
    return len(word) > 2 and word[0] == "-" and word[1] != "-"
