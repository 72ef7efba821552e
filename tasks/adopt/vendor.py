"""The kit's own files in a repository it was adopted into: copied into one folder of
their own under a package name no repository uses, with a record of each file's digest,
so that an upgrade can tell a newer kit from a local edit."""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import tomlkit

from ..config.manifest import KIT_PACKAGE
from ..errors import ConfigError
from ..measure.datafiles import atomic_path

KIT_FOLDER = ".coverage-workflows"  # in the adopting repository, beside its own files
PACKAGE = "coverage_workflows"  # the noxfile finds the package under this name
RECORD = "vendored.json"
KIT_HOME = KIT_PACKAGE.parent  # the kit checkout adopt runs from
GROUPS = ("coverage", "upkeep", "ratchet")  # the dependency groups the sessions install


@dataclass(frozen=True)
class Changes:
    added: list[str]
    updated: list[str]
    removed: list[str]

    def __bool__(self) -> bool:
        return bool(self.added or self.updated or self.removed)


def kit_files() -> dict[str, bytes]:
    """The vendored folder's files, as this checkout would write them: its package under
    the vendored name, its noxfile, and a pyproject.toml with only its dependency groups."""
    files: dict[str, bytes] = {}
    for path in sorted(KIT_PACKAGE.rglob("*.py")):
        if "__pycache__" not in path.parts:
            files[f"{PACKAGE}/{path.relative_to(KIT_PACKAGE).as_posix()}"] = path.read_bytes()
    files["noxfile.py"] = (KIT_HOME / "noxfile.py").read_bytes()
    files["pyproject.toml"] = _groups_only(KIT_HOME / "pyproject.toml").encode()
    return files


def _groups_only(pyproject: Path) -> str:
    """The kit's dependency groups, and nothing that pytest or coverage.py would read."""
    groups = tomlkit.parse(pyproject.read_text(encoding="utf-8"))["dependency-groups"]
    document = tomlkit.document()
    document.add(
        tomlkit.comment("What coverage-workflows' sessions install (from the kit's own pyproject.toml).")
    )
    table = tomlkit.table()
    for name in GROUPS:
        table.add(name, groups[name])
    document.add("dependency-groups", table)
    return tomlkit.dumps(document)


def kit_version() -> str:
    """The kit's version, as its pyproject.toml declares it (no local path: the record is
    committed in the repository the kit was adopted into)."""
    project = tomlkit.parse((KIT_HOME / "pyproject.toml").read_text(encoding="utf-8")).get("project", {})
    return str(project.get("version", "unknown"))


def digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def recorded(folder: Path) -> dict[str, str] | None:
    """The digests `adopt` recorded for the folder's files; None where there is no record."""
    try:
        found = json.loads((folder / RECORD).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{folder / RECORD}: unreadable ({exc}); restore it from git.") from None
    files = found.get("files") if isinstance(found, dict) else None
    if not isinstance(files, dict):
        raise ConfigError(f"{folder / RECORD}: not a record adopt wrote; restore it from git.")
    return {str(k): str(v) for k, v in files.items()}


def edited(folder: Path, record: dict[str, str]) -> list[str]:
    """The vendored files that differ from what adopt wrote (edited, or deleted)."""
    changed = []
    for name, wanted in sorted(record.items()):
        path = folder / name
        if not path.is_file() or digest(path.read_bytes()) != wanted:
            changed.append(name)
    return changed


def differences(folder: Path, files: dict[str, bytes]) -> Changes:
    present = {
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix in (".py", ".toml")
    } - {"configs/services.toml"}
    present &= set(recorded(folder) or {}) | set(files)
    added = sorted(name for name in files if not (folder / name).is_file())
    updated = sorted(
        name for name in files if (folder / name).is_file() and (folder / name).read_bytes() != files[name]
    )
    removed = sorted(name for name in present if name not in files)
    return Changes(added, updated, removed)


def write(folder: Path, files: dict[str, bytes], changes: Changes) -> None:
    """Write the kit's files (each by a rename, so none is ever half-written), remove the
    ones the newer kit no longer has, and record every file's digest."""
    for name in [*changes.added, *changes.updated]:
        _write_file(folder / name, files[name])
    for name in changes.removed:
        (folder / name).unlink(missing_ok=True)
    record = {
        "kit": kit_version(),
        "files": {name: digest(content) for name, content in sorted(files.items())},
    }
    _write_file(folder / RECORD, (json.dumps(record, indent=2) + "\n").encode())


def _write_file(path: Path, content: bytes) -> None:
    with atomic_path(path) as temporary:
        temporary.write_bytes(content)


def copy_file(source: Path, target: Path) -> None:
    """A file the host gets once (a workflow, a script), with its permission bits."""
    _write_file(target, source.read_bytes())
    shutil.copymode(source, target)
