"""The repository's own libraries, by the distribution name their project files declare,
and what a service's install list becomes when it names one: the library's folder,
editable, never a copy from the package index. (Tests that import a sibling library from
site-packages run code the kit does not measure: the sibling's figures would fall silently.)"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from ..config import project_settings

MAX_DEPTH = 4  # folders below the root searched for project files
SKIPPED = {"node_modules", "build", "dist", "site-packages", "__pycache__", "venv", "env"}
PATH_OPTIONS = ("-r", "-c", "-e", "--editable", "--requirement", "--constraint", "-f", "--find-links")
SETUP_NAME = re.compile(r"""\bname\s*=\s*["']([A-Za-z0-9][A-Za-z0-9._-]*)["']""")


def canonical(name: str) -> str:
    """A distribution name as packaging compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def find(root: Path) -> dict[str, Path]:
    """Each library of the repository (its root's project included): canonical name -> folder."""
    found: dict[str, Path] = {}
    for folder in _folders(root):
        name = declared_name(folder)
        if name and canonical(name) not in found:
            found[canonical(name)] = folder.resolve()
    return found


def declared_name(folder: Path) -> str | None:
    """The distribution name `folder`'s project file declares: pyproject.toml's [project],
    setup.cfg's [metadata], or a literal name= in setup.py."""
    name = project_settings.toml_table(_pyproject(folder), "project").get("name")
    if isinstance(name, str):
        return name
    parser = project_settings.read_ini(folder / "setup.cfg")
    if parser is not None and parser.has_option("metadata", "name"):
        return parser.get("metadata", "name").strip() or None
    try:
        match = SETUP_NAME.search((folder / "setup.py").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return None
    return match.group(1) if match else None


def dependencies(folder: Path) -> list[str]:
    """The names of what `folder`'s project depends on ([project] dependencies), canonical."""
    listed = project_settings.toml_table(_pyproject(folder), "project").get("dependencies", [])
    return [
        canonical(name) for entry in listed if isinstance(entry, str) and (name := requirement_name(entry))
    ]


def uv_sources(folder: Path) -> dict[str, Path]:
    """[tool.uv.sources] entries that point at a folder of the repository (path = ...); a
    workspace = true entry is found by its name among the libraries."""
    sources = project_settings.toml_table(_pyproject(folder), "tool", "uv", "sources")
    found = {}
    for name, source in sources.items():
        if isinstance(source, dict) and isinstance(source.get("path"), str):
            found[canonical(name)] = (folder / source["path"]).resolve()
    return found


def requirement_name(entry: str) -> str | None:
    """The distribution name a requirement starts with; None for options, paths and URLs."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*([<>=!~;@ (]|\Z)", entry)
    if entry.lstrip().startswith("-") or match is None:
        return None
    return match.group(1)


def editable(
    words: Iterable[str], libraries: dict[str, Path], kit: Path, own: Path | None
) -> tuple[list[str], list[str]]:
    """`words` with each requirement naming a library replaced by its folder, editable, and
    the libraries that the service's own project (`own`, installed already) and the named
    ones depend on, theirs too, added; (the list, the libraries it installs from folders)."""
    out: list[str] = []
    named: list[str] = []
    previous = ""
    for word in words:
        name = None if previous in PATH_OPTIONS else requirement_name(word)
        previous = word
        folder = libraries.get(canonical(name)) if name else None
        if folder is None:
            out.append(word)
        elif folder != own:  # the service's own project is in the list already
            extras = re.search(r"\[[^\]]*\]", word.split(";")[0])
            out += ["-e", relative(kit, folder) + (extras.group(0) if extras else "")]
            named.append(canonical(word if name is None else name))
    installed = {libraries[key] for key in named} | ({own} if own is not None else set())
    wanted = [
        *(dependencies(own) if own is not None else []),
        *(d for k in named for d in dependencies(libraries[k])),
    ]
    added: list[str] = []
    while wanted:
        key = wanted.pop(0)
        folder = libraries.get(key)
        if folder is None or folder in installed:
            continue
        installed.add(folder)
        out += ["-e", relative(kit, folder)]
        added.append(key)
        wanted += dependencies(folder)
    return out, [*named, *added]


def relative(kit: Path, folder: Path) -> str:
    """`folder` as pip run from `kit` reads it: a relative path, never a bare name."""
    shown = Path(os.path.relpath(folder, kit)).as_posix()
    return shown if shown.startswith(".") else f"./{shown}"


def _folders(root: Path) -> list[Path]:
    found = [root]
    level = [root]
    for _ in range(MAX_DEPTH):
        below = []
        for folder in level:
            try:
                children = sorted(child for child in folder.iterdir() if child.is_dir())
            except OSError:
                continue
            for child in children:
                if child.name.startswith(".") or child.name in SKIPPED:
                    continue
                if any((child / name).is_file() for name in ("pyproject.toml", "setup.cfg", "setup.py")):
                    found.append(child)
                below.append(child)
        level = below
    return found


def _pyproject(folder: Path) -> dict[str, object]:
    path = folder / "pyproject.toml"
    return project_settings.read_toml(path) if path.is_file() else {}
