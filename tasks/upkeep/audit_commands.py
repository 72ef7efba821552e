"""The commands that tox and CI workflows run, read for the audit: each `commands` line of
tox.ini's test environments and each line of a GitHub workflow's `run:` steps, split into
the words the shell gives each command. Read as text: the kit depends on no YAML parser.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from ..config import tox
from ..config.manifest import Manifest

RUN_KEY = re.compile(r"^(?P<indent>\s*(?:-\s+)?)run:(?:\s+(?P<value>.*?))?\s*$")
SHOWN_COMMAND = 120  # characters of a command quoted in a finding


def tox_commands(manifest: Manifest) -> list[tuple[str, Path, str]]:
    """For each command of tox.ini's test environments: where it is (with the command as
    written), the folder it runs in, and the command with tox's substitutions made."""
    path = manifest.root / "tox.ini"
    found: list[tuple[str, Path, str]] = []
    for environment in tox.environments(manifest.root):
        if not environment.own_commands:
            continue  # the base's commands, listed with the base
        where = f"{manifest.display(path)} {environment.shown} commands"
        found += [
            (f"{where}: {_shown(line)}", manifest.root / environment.changedir, tox.substituted(line))
            for line in environment.commands
        ]
    return found


def workflow_commands(manifest: Manifest) -> list[tuple[str, Path, str]]:
    """For each line of a `run:` step in the GitHub workflows of the measured repository (and
    of the project, when the kit lives apart from it): where it is (with the line), the folder
    it runs in (the repository's top), and the line."""
    found: list[tuple[str, Path, str]] = []
    for folder in dict.fromkeys((manifest.root, manifest.project_dir)):
        workflows = folder / ".github" / "workflows"
        for path in sorted({*workflows.glob("*.yml"), *workflows.glob("*.yaml")}):
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            for number, line in _run_lines(text):
                found.append((f"{manifest.display(path)}:{number} run: {_shown(line)}", folder, line))
    return found


def _run_lines(text: str) -> list[tuple[int, str]]:
    """(line number, shell line) of each `run:` step's script, read as text: the kit depends on
    no YAML parser. An inline value is one line; a `|` block keeps its lines, a `>` block
    folds them into one; a line ending in a backslash goes on with the next."""
    lines = text.splitlines()
    found: list[tuple[int, str]] = []
    index = 0
    while index < len(lines):
        key = RUN_KEY.match(lines[index])
        value = (key["value"] or "") if key else ""
        index += 1
        if not key or not value:
            continue  # not a step's script (a bare `run:` is the `defaults: run:` mapping)
        if value[0] not in "|>":
            found.append((index, _unquoted(value)))
            continue
        body = _block(lines, index, len(key["indent"]))
        index = body[-1][0] if body else index  # the script's lines are not read as keys
        if value[0] == ">":
            body = [(body[0][0], " ".join(part for _, part in body))] if body else []
        found += _continued(body)
    return found


def _block(lines: list[str], start: int, key_column: int) -> list[tuple[int, str]]:
    """The lines of a block scalar: from `start`, every line indented past the key, or blank."""
    body = []
    for index in range(start, len(lines)):
        line = lines[index]
        if line.strip() and len(line) - len(line.lstrip()) <= key_column:
            break
        if line.strip():
            body.append((index + 1, line.strip()))
    return body


def _continued(body: list[tuple[int, str]]) -> list[tuple[int, str]]:
    joined: list[tuple[int, str]] = []
    for number, line in body:
        if joined and joined[-1][1].endswith("\\"):
            joined[-1] = (joined[-1][0], joined[-1][1][:-1] + " " + line)
        else:
            joined.append((number, line))
    return joined


def _unquoted(value: str) -> str:
    """An inline value's text: a quoted one without its quotes and any comment after them."""
    end = value.rfind(value[0])
    return value[1:end] if value[0] in "'\"" and end > 0 else value


def shell_commands(line: str) -> list[list[str]]:
    """The simple commands of one shell line (split at ;, &&, ||, | and the like), each as the
    words the shell gives it."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = ""  # shlex ends a word at `#`; the shell takes it for a comment only at a word's start
    try:
        tokens = list(lexer)
    except ValueError:  # unbalanced quotes: the shell would refuse it; words on spaces
        tokens = line.split()
    comment = next((i for i, token in enumerate(tokens) if token.startswith("#")), len(tokens))
    tokens = tokens[:comment]
    found: list[list[str]] = [[]]
    for token in tokens:
        if token and all(char in lexer.punctuation_chars for char in token):
            found.append([])
        else:
            found[-1].append(token)
    return [words for words in found if words]


def _shown(line: str) -> str:
    line = " ".join(line.split())  # a continued line's indentation says nothing
    return line if len(line) <= SHOWN_COMMAND else line[: SHOWN_COMMAND - 3] + "..."
