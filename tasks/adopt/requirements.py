"""A service's test requirement file as its users run it, rewritten for pip run from the
kit's folder: which file of several variants, and every path in it (`-r`, `-c`, `-e`, a
local path) resolved against the folder that makes it exist (the file's own, the
repository's root where tox, nox or CI run pip, or the service's folder), nested files
read into the list."""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from ..config import tox

# The plain names, in the order they are looked for; then the variants (VARIANTS).
PLAIN = ("requirements-test.txt", "test-requirements.txt", "requirements-dev.txt", "requirements/test.txt")
VARIANTS = (
    "test-requirements*.txt",
    "requirements-test*.txt",
    "requirements*/test*.txt",
    "requirements/dev*.txt",
)
NUMBERED = re.compile(r"[-.](\d+)\.txt\Z")
NESTED = {"-r": "-r", "--requirement": "-r", "-c": "-c", "--constraint": "-c"}
EDITABLE = ("-e", "--editable")
FIND_LINKS = ("-f", "--find-links")
MAX_DEPTH = 10  # nested -r files: deeper is a loop


@dataclass(frozen=True)
class Picked:
    path: Path
    why: str  # for the manifest's comment: how this file was chosen among others


def pick(folder: Path, root: Path) -> Picked | None:
    """The test requirements of `folder`: the file a tox environment's deps name, else a
    plain name, else a variant (`.latest` first, then the lowest number, then by name)."""
    for environment in tox.environments(root):
        for line in environment.deps:
            words = _words(line)
            if len(words) == 2 and words[0] in NESTED and NESTED[words[0]] == "-r":
                named = (root / words[1]).resolve()
                if named.is_file() and named.parent == folder.resolve():
                    return Picked(named, f"named by tox.ini {environment.shown} deps")
    for name in PLAIN:
        if (folder / name).is_file():
            return Picked(folder / name, "")
    variants = sorted({path for pattern in VARIANTS for path in folder.glob(pattern) if path.is_file()})
    if not variants:
        return None
    chosen = min(variants, key=_variant_order)
    others = ", ".join(p.relative_to(folder).as_posix() for p in variants if p != chosen)
    return Picked(chosen, f"of {others} too: .latest first, then the lowest number" if others else "")


def _variant_order(path: Path) -> tuple[int, int, str]:
    number = NUMBERED.search(path.name)
    return (0 if ".latest." in path.name else 1, int(number.group(1)) if number else -1, path.name)


def resolved(path: Path, root: Path, service: Path, kit: Path) -> list[str]:
    """pip's arguments for the requirements in `path`, run from `kit`: each path resolved
    against the folder that makes the file's paths exist, nested -r files read in."""
    return _resolved(path, root, service, kit, depth=0)


def _resolved(path: Path, root: Path, service: Path, kit: Path, depth: int) -> list[str]:
    lines = _lines(path)
    base = _base(lines, [path.parent, root, service])
    words: list[str] = []
    for line in lines:
        parts = _words(line)
        if not parts:
            continue
        head = parts[0]
        if head in NESTED and len(parts) == 2:
            target = _existing(parts[1], [base, path.parent, root, service])
            if NESTED[head] == "-r" and target.is_file() and depth < MAX_DEPTH:
                words += _resolved(target, root, service, kit, depth + 1)
            else:
                words += [NESTED[head], _from(kit, target)]
        elif head in (*EDITABLE, *FIND_LINKS) and len(parts) == 2:
            value = parts[1]
            words += [
                head,
                _rewritten(value, kit, [base, path.parent, root, service]) if _local(value) else value,
            ]
        elif len(parts) == 1 and _local(head):
            words.append(_rewritten(head, kit, [base, path.parent, root, service]))
        else:
            words += parts
    return words


def _lines(path: Path) -> list[str]:
    """The file's requirement lines: comments dropped, continued lines joined."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    text = re.sub(r"\\\n", " ", text)
    return [re.sub(r"(^|\s)#.*", "", line).strip() for line in text.splitlines()]


def _words(line: str) -> list[str]:
    """A line's words: an option and its value apart (`-r x`, `-rx`, `--requirement=x`), a
    requirement whole (its markers may hold spaces)."""
    line = line.strip()
    if not line.startswith("-"):
        return [line] if line else []
    try:
        words = shlex.split(line)
    except ValueError:
        words = line.split()
    head = words[0]
    if "=" in head and head.startswith("--"):
        return [*head.split("=", 1), *words[1:]]
    if len(head) > 2 and head[:2] in ("-r", "-c", "-e", "-f") and not head.startswith("--"):
        return [head[:2], head[2:], *words[1:]]
    return words


def _local(value: str) -> bool:
    """Whether a requirement or option value is a path on disk rather than a name or a URL."""
    if "://" in value or value.startswith("git+"):
        return False
    return value.startswith((".", "/", "~")) or "/" in value.split(";")[0].split("[")[0]


def _base(lines: list[str], bases: list[Path]) -> Path:
    """The first of `bases` against which every path the lines name exists (the file's own
    folder where none does)."""
    paths = [
        parts[-1]
        for parts in map(_words, lines)
        if parts and (parts[0] in NESTED or (parts[0] in (*EDITABLE, *FIND_LINKS) and _local(parts[-1])))
    ]
    paths += [parts[0] for parts in map(_words, lines) if len(parts) == 1 and _local(parts[0])]
    for base in bases:
        if all((base / _plain(p)).exists() for p in paths):
            return base
    return bases[0]


def _existing(value: str, bases: list[Path]) -> Path:
    """`value` against the first base where it exists, else against the first base."""
    for base in bases:
        if (base / _plain(value)).exists():
            return (base / _plain(value)).resolve()
    return (bases[0] / _plain(value)).resolve()


def _plain(value: str) -> str:
    """A path without its extras (`./lib[test]`), markers or `file:` prefix."""
    value = value.split(";")[0].strip()
    value = value.removeprefix("file:")
    return re.sub(r"\[[^\]]*\]\Z", "", value)


def _rewritten(value: str, kit: Path, bases: list[Path]) -> str:
    """A local path of the file's, as pip run from `kit` finds it, its extras kept."""
    extras = re.search(r"\[[^\]]*\]\Z", value.split(";")[0].strip())
    return _from(kit, _existing(value, bases)) + (extras.group(0) if extras else "")


def _from(kit: Path, target: Path) -> str:
    """`target` as pip run from `kit` reads it: a relative path, never a bare name."""
    relative = Path(os.path.relpath(target, kit)).as_posix()
    return relative if relative.startswith(".") else f"./{relative}"
