"""`adopt PATH`: set the kit up in the repository at PATH, in a folder of its own, with a
manifest of the services it finds; `--upgrade` refreshes the kit's files from this checkout.
Each step changes only what is missing, so a second run changes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from ..config import loader
from ..config.manifest import DEFAULT_MANIFEST
from ..config.values import shown_path
from ..errors import ConfigError
from ..measure.datafiles import atomic_path
from . import check as check_module
from . import declared, host, pytest_options, vendor
from . import libraries as libraries_module
from .discover import Discovery, discover
from .manifest_text import Plan, Service, render

NEXT = """\
Next, in {root}:
  nox -l                                   # your sessions, and the kit's
  nox -s coverage-all combine report       # every service's own figure, and the masking gap
  nox -s gate                              # the floors in {manifest}
Commit {folder}/ (its configs/ is yours to edit), noxfile.py, .gitignore and the workflows."""


def adopt(path: Path, out: TextIO, *, upgrade: bool = False, force: bool = False, check: bool = True) -> int:
    root = path.resolve()
    if not root.is_dir():
        raise ConfigError(f"{path}: no such folder. Give the path of the repository to set the kit up in.")
    if root == vendor.KIT_HOME or root.is_relative_to(vendor.KIT_HOME / vendor.KIT_FOLDER):
        raise ConfigError(f"{path} is the kit's own checkout; give the path of another repository.")
    folder = root / vendor.KIT_FOLDER
    manifest = folder / DEFAULT_MANIFEST
    record = vendor.recorded(folder) if folder.exists() else None
    if folder.exists() and record is None:
        raise ConfigError(
            f"{folder}: exists, but adopt did not write it (no {vendor.RECORD}). "
            "Move it away, or set the kit up by hand (docs/adopting.md)."
        )
    found = None if manifest.exists() else discover(root)
    if found is not None and not found.services:
        raise ConfigError(
            f"{path}: found no service (a package in src/ or at the top with tests in tests/, or a folder "
            "with its own pyproject.toml and tests/). Nothing was written; write "
            f"{vendor.KIT_FOLDER}/{DEFAULT_MANIFEST} by hand (docs/manifest.md), then run adopt again."
        )
    notes: list[str] = []  # what was found and kept as it is
    done = _vendor(folder, record, notes, upgrade=upgrade, force=force)
    for note in notes:
        print(note, file=out)
    if found is not None:
        _report_discovery(found, out)
        with atomic_path(manifest) as written:
            written.write_text(render(_plan(root, found)), encoding="utf-8")
            # Only a manifest the kit reads takes the name: a second run would keep any other.
            loader.load(written.relative_to(folder), project_dir=folder)
        done.append(f"{vendor.KIT_FOLDER}/{DEFAULT_MANIFEST}: written, {_services(len(found.services))}")
    included = host.include_noxfile(root)
    if included:
        done.append(included)
        print(f"The include at the end of noxfile.py (docs/adopting.md):\n{host.INCLUDE}", file=out)
    ignored = host.ignore_outputs(root)
    if ignored:
        done.append(ignored)
    copied, kept = host.copy_workflows(root)
    done += [f"{name}: copied" for name in copied]
    unhidden = host.unhide(root, _to_commit(root, folder, copied))
    if unhidden:
        done.append(unhidden)
    if not done:
        print(f"Nothing {'else ' if notes else ''}to change in {path}.", file=out)
        return 0
    print("Changed:", file=out)
    for line in done:
        print(f"  {line}", file=out)
    for name in kept:
        print(
            f"  {name}: yours, kept; the kit's differs (compare them: it runs from {vendor.KIT_FOLDER}/)",
            file=out,
        )
    for warning in host.session_warnings(root):
        print(f"  {warning}", file=out)
    status = 0
    if found is not None and check:  # a manifest just written: does it run?
        status = check_module.check(root, loader.load(project_dir=folder).reports_dir, out)
    if found is not None or included:  # a first adoption: what to do next
        print(NEXT.format(root=path, manifest=shown_path(manifest, root), folder=vendor.KIT_FOLDER), file=out)
    return status


def _vendor(
    folder: Path, record: dict[str, str] | None, notes: list[str], *, upgrade: bool, force: bool
) -> list[str]:
    """Write the kit's files: all when the folder is new; with --upgrade, what this checkout
    changed, unless a file was edited since it was written (then nothing, naming them)."""
    files = vendor.kit_files()
    changes = vendor.differences(folder, files) if folder.exists() else vendor.Changes(sorted(files), [], [])
    edited = vendor.edited(folder, record) if record is not None else []
    if record is not None and not upgrade:
        if edited:
            notes.append(f"{vendor.KIT_FOLDER}/: edited since adopt wrote them, kept: {', '.join(edited)}")
        elif changes:
            notes.append(
                f"{vendor.KIT_FOLDER}/ holds another version of the kit ({_count(changes)}); kept as it is. "
                "Run adopt --upgrade to refresh it from this checkout."
            )
        return []
    if record is not None and edited and not force:
        raise ConfigError(
            f"{vendor.KIT_FOLDER}/: edited since adopt wrote them: {', '.join(edited)}. Nothing was "
            "changed. Keep your change elsewhere (the manifest is yours to edit), or pass --force to "
            "replace them with this checkout's."
        )
    if not changes:
        return []
    vendor.write(folder, files, changes)
    if record is None:
        return [f"{vendor.KIT_FOLDER}/: the kit ({len(files)} files; package {vendor.PACKAGE}, its noxfile)"]
    return [f"{vendor.KIT_FOLDER}/{name}: {how}" for name, how in _listed(changes)]


def _to_commit(root: Path, folder: Path, copied: list[str]) -> list[str]:
    """The files adopt tells the user to commit, relative to the root: the kit's folder but
    its data, history and reports, the noxfile, .gitignore and the workflows it copied."""
    kept_out = {".coverage-data", ".coverage-history", "reports", "__pycache__"}
    kit = [
        path.relative_to(root).as_posix()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not kept_out & set(path.relative_to(folder).parts)
    ]
    return [*kit, "noxfile.py", ".gitignore", *copied]


def _services(count: int) -> str:
    return f"{count} service{'s' if count != 1 else ''}"


def _count(changes: vendor.Changes) -> str:
    return f"{len(changes.added)} added, {len(changes.updated)} changed, {len(changes.removed)} gone"


def _listed(changes: vendor.Changes) -> list[tuple[str, str]]:
    return [
        *((name, "added") for name in changes.added),
        *((name, "updated") for name in changes.updated),
        *((name, "removed") for name in changes.removed),
    ]


def _report_discovery(found: Discovery, out: TextIO) -> None:
    print(f"Found {_services(len(found.services))}:", file=out)
    for service in found.services:
        print(f"  {service.name}: {service.reason}", file=out)
    if found.unplaced_tests:
        print("Test files no service claims (listed in the manifest; place them by hand):", file=out)
        for name in found.unplaced_tests:
            print(f"  {name}", file=out)
    if found.untested:
        print(f"Packages without tests (not measured): {', '.join(found.untested)}", file=out)
    if found.passed_over:
        print("Folders with a project file and tests that are no service (listed in the manifest):", file=out)
        for line in found.passed_over:
            print(f"  {line}", file=out)


def _plan(root: Path, found: Discovery) -> Plan:
    """The manifest's content: the services found, with what the repository declares."""
    options = pytest_options.choose(root, found.services)
    libraries = libraries_module.find(root)
    plan = Plan(
        repository=root.name,
        install=declared.install(root, root, "", libraries),
        python=declared.python(root, ""),
        floor=declared.floor(root, ""),
        pytest_args=options.default,
        base=declared.base(root),
        unplaced_tests=found.unplaced_tests,
        untested=found.untested,
        passed_over=found.passed_over,
    )
    for service in found.services:
        own_options = options.services.get(service.name)
        if service.working_dir == ".":
            plan.services.append(Service(service, pytest_args=own_options))
            continue
        folder = root / service.working_dir
        shown = f"{service.working_dir}/"
        plan.services.append(
            Service(
                service,
                install=declared.install(folder, root, shown, libraries),
                python=declared.python(folder, shown),
                floor=declared.floor(folder, shown),
                pytest_args=own_options,
            )
        )
    return plan
