"""Which services a change can alter, each with why, and which keep their data.

A change since the merge-base of a ref alters a service's figures when it touches what the
service's run depends on: its own source, a source file its tests ran (as its data
records, by the digest of every file it ran), its tests and their conftest.py files, its
working_dir's configuration, or what its `install` list names. A change the kit cannot
attribute (the manifest, the kit itself, the repository's own configuration, lock and
requirements files, a Python file no service owns, data files inside a source folder)
alters every service. The others' data is carried forward: `combine` takes it only while
every file it ran is unchanged, by those same digests.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..config.layout import service_file, shard_files
from ..config.manifest import KIT_PACKAGE, Manifest, Service
from ..config.project_settings import COVERAGE_CONFIG_FILES, PYTEST_CONFIG_FILES
from ..errors import plain
from ..measure import freshness, measured_with, provenance, run_inputs
from . import gitdiff

# Files whose change alters how pytest or coverage.py runs in the folder that holds them:
# every file either tool reads its settings from, and setup.py and conftest.py.
CONFIG_FILES = {*COVERAGE_CONFIG_FILES, *PYTEST_CONFIG_FILES, "setup.py", "conftest.py"}
PIN_FOLDERS = ("requirements", "constraints")  # requirements/dev.txt pins as requirements-dev.txt does
# Files that pin what the environments install.
LOCK_SUFFIXES = (".lock",)
INSTALL_OPTIONS = {"-r", "--requirement", "-c", "--constraint", "-e", "--editable"}


@dataclass
class Affected:
    base: str
    merge_base: str
    reasons: dict[str, list[str]] = field(default_factory=dict)  # service -> why, manifest order
    everything: list[str] = field(default_factory=list)  # why every service is affected

    def services(self, manifest: Manifest) -> list[str]:
        if self.everything:
            return list(manifest.names)
        return [name for name in manifest.names if self.reasons.get(name)]

    def carried(self, manifest: Manifest) -> list[str]:
        chosen = set(self.services(manifest))
        return [name for name in manifest.names if name not in chosen]


def find(manifest: Manifest, base: str) -> Affected:
    merge_base, toplevel, paths = gitdiff.changed_paths(manifest.project_dir, base)
    found = Affected(base=base, merge_base=merge_base, reasons={name: [] for name in manifest.names})
    ran = _ran_by(manifest)
    if not any(ran.values()):
        found.everything.append(
            f"no data in {manifest.display(manifest.data_dir)} to carry forward: every service runs"
        )
    for service in manifest.services:
        if not ran[service.name]:
            found.reasons[service.name].append("no data of its own to carry forward")
    for path in paths:
        _attribute(manifest, found, ran, (toplevel / path).resolve())
    _since_measured(manifest, found, ran, toplevel, set(paths))
    # Data older than the base (a local data folder) can be stale for files the change does
    # not touch: those runs cannot be carried either.
    in_change = {_relative(manifest, (toplevel / path).resolve()) for path in paths}
    measured = {name: files for name, files in ran.items() if files}
    for name, stale in freshness.changed(manifest.project_dir, measured).items():
        files = [entry.removeprefix(run_inputs.READ_PREFIX) for entry in stale]  # tests, configuration too
        older = [path for path in files if path not in in_change]
        if older:
            found.reasons[name].append(f"its data no longer matches {freshness.few(older)}")
    for name, digests in measured.items():
        # Measured with another install list, coverage.py or Python: combine would refuse it.
        if name in manifest.names and measured_with.differs(manifest, manifest.service(name), digests):
            found.reasons[name].append(
                "its data was measured with another install list, coverage.py or Python"
            )
    for reasons in found.reasons.values():
        reasons[:] = list(dict.fromkeys(reasons))
    return found


def _since_measured(
    manifest: Manifest, found: Affected, ran: dict[str, dict[str, str]], toplevel: Path, in_change: set[str]
) -> None:
    """Data measured at another commit than the merge-base (CI carries the base branch's last
    successful run, which may predate it): what changed since that commit, besides the
    change itself, counts for that service too; a commit the clone lacks makes it affected."""
    since: dict[str, list[str] | None] = {}  # commit -> the paths changed since (None: not here)
    for service in manifest.services:
        files = [service_file(manifest, service.name), *shard_files(manifest, service.name).values()]
        commits = provenance.merge(provenance.recorded(path) for path in files if path.is_file())
        commit = commits.get(service.name, provenance.UNKNOWN)
        if not ran[service.name] or commit in (provenance.UNKNOWN, found.merge_base):
            continue
        if commit not in since:
            since[commit] = gitdiff.paths_since(toplevel, commit)
        paths = since[commit]
        if paths is None:
            found.reasons[service.name].append(
                f"its data was measured at {commit[:12]}, a commit this clone does not have, so it cannot "
                "be checked against the code (fetch more history: fetch-depth: 0)"
            )
            continue
        alone = Affected(base=found.base, merge_base=commit, reasons={name: [] for name in manifest.names})
        for path in paths:
            if path not in in_change:
                _attribute(manifest, alone, ran, (toplevel / path).resolve())
        why = alone.reasons[service.name] + alone.everything
        found.reasons[service.name] += [
            f"since its data was measured ({commit[:12]}): {reason}" for reason in why
        ]


def _ran_by(manifest: Manifest) -> dict[str, dict[str, str]]:
    """Per service, the files its data says its tests ran, with their digests: from its
    data file or its shards' (those of a run still in progress are not read)."""
    found: dict[str, dict[str, str]] = {}
    for service in manifest.services:
        files = [service_file(manifest, service.name), *shard_files(manifest, service.name).values()]
        recorded = [freshness.recorded(path) for path in files if path.is_file()]
        found[service.name] = freshness.merge(recorded).get(service.name, {})
    return found


def _attribute(manifest: Manifest, found: Affected, ran: dict[str, dict[str, str]], path: Path) -> None:
    shown = plain(manifest.display(path))
    history = manifest.history
    if any(path.is_relative_to(folder) for folder in (manifest.data_dir, manifest.reports_dir)) or (
        path.parent == history.parent and path.name.startswith(history.name)  # with its -wal, -shm
    ):
        return  # the kit's own outputs, when nothing git-ignores them
    if _is_kit(manifest, path):
        found.everything.append(f"{shown}: the kit or its manifest changed")
        return
    if not path.is_relative_to(manifest.root):
        return  # outside the measured repository (the kit's own repository's docs, say)
    relative = _relative(manifest, path)
    owner = manifest.owner(path)
    if owner is not None:
        found.reasons[owner.name].append(f"owns {shown}")
        if path.suffix != ".py":
            found.everything.append(
                f"{shown}: not Python, in {owner.name}'s source (whose tests read it, no data says)"
            )
        for name, files in ran.items():
            if relative in files and name != owner.name:
                found.reasons[name].append(f"its tests ran {shown}")
        return
    testers = [s for s in manifest.services if _in_tests(s, path)]
    if path.name == "conftest.py":
        below = [s for s in manifest.services if _tests_below(s, path.parent)]
        if path.parent == manifest.root or not below:
            found.everything.append(f"{shown}: a conftest.py no single service's tests own")
        for service in below:
            found.reasons[service.name].append(f"{shown}: a conftest.py on its test paths")
        return
    for service in testers:
        found.reasons[service.name].append(f"its tests changed: {shown}")
    if testers:
        return
    named = [s for s in manifest.services if path in _installed_files(manifest, s)]
    for service in named:
        found.reasons[service.name].append(f"its install list names {shown}")
    if named:
        return
    configured = [s for s in manifest.services if s.cwd != manifest.root and path.parent == s.cwd]
    if path.name in CONFIG_FILES and configured:
        for service in configured:
            found.reasons[service.name].append(f"its working_dir configuration changed: {shown}")
        return
    if _unattributable(manifest, path):
        found.everything.append(f"{shown}: {_why_everyone(path)}")


def _relative(manifest: Manifest, path: Path) -> str:
    """A path as data files name it: relative to the project ("" outside it)."""
    return (
        path.relative_to(manifest.project_dir).as_posix() if path.is_relative_to(manifest.project_dir) else ""
    )


def _is_kit(manifest: Manifest, path: Path) -> bool:
    kit = [*manifest.kit_paths(), KIT_PACKAGE.parent / "pyproject.toml"]  # and its dependency groups
    return path == manifest.path or any(path == part or path.is_relative_to(part) for part in kit)


def _in_tests(service: Service, path: Path) -> bool:
    return any(path.is_relative_to((service.cwd / test).resolve()) for test in service.tests)


def _tests_below(service: Service, folder: Path) -> bool:
    """Whether the service's tests run below `folder`, so that a conftest.py there applies."""
    return any((service.cwd / test).resolve().is_relative_to(folder) for test in service.tests)


def _installed_files(manifest: Manifest, service: Service) -> set[Path]:
    """The files a service's `install` list names (requirements, constraints, projects)."""
    found = set()
    words = list(service.install)
    for index, word in enumerate(words):
        value = words[index + 1] if word in INSTALL_OPTIONS and index + 1 < len(words) else None
        if value is None and word.startswith(("-r", "-c", "-e")) and len(word) > 2:
            value = word[2:]
        if value is None and not word.startswith("-") and ("/" in word or word.startswith(".")):
            value = word
        if value is None:
            continue
        target = (KIT_PACKAGE.parent / value.split("[")[0]).resolve()  # install runs in the kit's folder
        found |= {target, *(target / name for name in ("pyproject.toml", "setup.cfg", "setup.py"))}
    return found


def _unattributable(manifest: Manifest, path: Path) -> bool:
    """Whether a change outside every service's source and tests can alter them all."""
    if path in manifest.owned_by_nobody() or any(path.is_relative_to(p) for p in manifest.gate.ignore):
        return False
    top = path.parent == manifest.root
    return path.suffix == ".py" or (top and path.name in CONFIG_FILES) or _pins(path)


def _pins(path: Path) -> bool:
    """A lock file, or a requirements or constraints file (by its name or its folder's)."""
    named = path.name.startswith(PIN_FOLDERS) or any(part in PIN_FOLDERS for part in path.parent.parts)
    return path.suffix in LOCK_SUFFIXES or (named and path.suffix in (".txt", ".in"))


def _why_everyone(path: Path) -> str:
    if path.suffix == ".py":
        return "Python no service owns (not measured, so whose tests run it is not known)"
    if _pins(path):
        return "pins what every environment installs"
    return "the repository's configuration, read by every service's run"


def as_json(manifest: Manifest, found: Affected) -> str:
    document = {
        "base": found.base,
        "merge_base": found.merge_base,
        "affected": found.services(manifest),
        "carried": found.carried(manifest),
        "everything": found.everything,
        "reasons": {name: found.everything or found.reasons[name] for name in found.services(manifest)},
    }
    return json.dumps(document, indent=2)


def as_text(manifest: Manifest, found: Affected) -> list[str]:
    chosen = found.services(manifest)
    lines = [
        f"Affected by the change since {plain(found.base)} (merge-base {found.merge_base[:12]}): "
        f"{len(chosen)} of {len(manifest.names)} services"
    ]
    if found.everything:
        lines.append("  every service, because:")
        lines += [f"    {reason}" for reason in found.everything]
    else:
        for name in chosen:
            lines.append(f"  {name}: {'; '.join(found.reasons[name])}")
    carried = found.carried(manifest)
    if carried:
        lines.append(
            f"Carried forward (combine checks their data still matches the code): {', '.join(carried)}"
        )
    return lines
