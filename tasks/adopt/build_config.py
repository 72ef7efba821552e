"""The packages a library folder's build configuration declares: setuptools' `packages`
(a list, or `packages.find` with its `where`, `include` and namespaces), hatch's wheel
`packages` and `only-include`, flit's module, pdm's `includes`, setup.cfg's `packages`.
None where the folder declares none: discovery then looks for them itself."""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any

from ..config import project_settings


def declared_packages(folder: Path) -> list[str] | None:
    """Top-level package folders, relative to `folder`, that the build would ship; None
    where no build configuration names them."""
    document = (
        project_settings.read_toml(folder / "pyproject.toml") if (folder / "pyproject.toml").is_file() else {}
    )
    tool = project_settings.toml_table(document, "tool")
    for reader in (_setuptools, _hatch, _flit, _pdm):
        found = reader(folder, tool, document)
        if found:
            return _existing(folder, found)
    return _setup_cfg(folder)


def _setuptools(folder: Path, tool: dict[str, Any], document: dict[str, Any]) -> list[str] | None:
    setuptools = project_settings.toml_table(tool, "setuptools")
    packages = setuptools.get("packages")
    if isinstance(packages, list) and all(isinstance(p, str) for p in packages):
        where = project_settings.toml_table(setuptools, "package-dir").get("", "")
        return _top_levels([f"{where}/{name.replace('.', '/')}".lstrip("/") for name in packages])
    find = project_settings.toml_table(setuptools, "packages", "find")
    if find:
        wheres = find.get("where", ["."])
        include = find.get("include", ["*"])
        exclude = find.get("exclude", [])
        found = []
        for where in wheres if isinstance(wheres, list) else []:
            for child in sorted((folder / where).iterdir()) if (folder / where).is_dir() else []:
                name = child.name
                if not child.is_dir() or not name.isidentifier():
                    continue
                if any(fnmatch.fnmatch(name, p) for p in include) and not any(
                    fnmatch.fnmatch(name, p) for p in exclude
                ):
                    plain = (child / "__init__.py").is_file()
                    if plain or (find.get("namespaces", True) and any(child.rglob("*.py"))):
                        found.append(child.relative_to(folder).as_posix())
        return found
    return None


def _hatch(folder: Path, tool: dict[str, Any], document: dict[str, Any]) -> list[str] | None:
    wheel = project_settings.toml_table(tool, "hatch", "build", "targets", "wheel")
    build = project_settings.toml_table(tool, "hatch", "build")
    for table in (wheel, build):
        for key in ("packages", "only-include"):
            listed = table.get(key)
            if isinstance(listed, list) and listed:
                return _top_levels(
                    [str(entry).strip("/") for entry in listed if not str(entry).endswith(".py")]
                )
    return None


def _flit(folder: Path, tool: dict[str, Any], document: dict[str, Any]) -> list[str] | None:
    module = project_settings.toml_table(tool, "flit", "module").get("name")
    if not isinstance(module, str):
        if "flit_core" not in str(
            project_settings.toml_table(document, "build-system").get("build-backend", "")
        ):
            return None
        module = str(project_settings.toml_table(document, "project").get("name", "")).replace("-", "_")
    top = module.split(".")[0]
    # flit looks for the module at the folder's top, then in src/
    return [top if (folder / top).is_dir() else f"src/{top}"] if top else None


def _pdm(folder: Path, tool: dict[str, Any], document: dict[str, Any]) -> list[str] | None:
    build = project_settings.toml_table(tool, "pdm", "build")
    includes = build.get("includes")
    if isinstance(includes, list) and includes:
        return _top_levels([str(entry).strip("/") for entry in includes if not str(entry).endswith(".py")])
    return None


def _setup_cfg(folder: Path) -> list[str] | None:
    parser = project_settings.read_ini(folder / "setup.cfg")
    if parser is None or not parser.has_option("options", "packages"):
        return None
    value = parser.get("options", "packages").strip()
    if value.startswith("find"):
        where = parser.get("options.packages.find", "where", fallback=".").strip()
        base = folder / where
        names = (
            [
                child.relative_to(folder).as_posix()
                for child in sorted(base.iterdir())
                if child.is_dir()
                and child.name.isidentifier()
                and any(child.rglob("*.py"))
                and child.name not in ("tests", "test")
            ]
            if base.is_dir()
            else []
        )
        return names or None
    return _existing(
        folder, _top_levels([name.strip().replace(".", "/") for name in value.split() if name.strip()])
    )


def _top_levels(paths: list[str]) -> list[str]:
    """The shallowest of `paths`: a package and its subpackages name one folder."""
    kept: list[str] = []
    for path in sorted(set(paths), key=lambda p: (p.count("/"), p)):
        if not any(path == k or path.startswith(f"{k}/") for k in kept):
            kept.append(path)
    return kept


def _existing(folder: Path, paths: list[str] | None) -> list[str] | None:
    found = [path for path in paths or [] if (folder / path).is_dir()]
    return found or None
