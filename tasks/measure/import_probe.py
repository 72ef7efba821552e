"""Whether a run's tests imported a measured package from somewhere else than the repository.

A service's tests that import a sibling library's installed copy (a plain install in
site-packages, where an editable one was meant) run code the measurement does not count:
the sibling's whole-suite figure falls, silently. A small pytest plugin, loaded in every run,
lists at the end of the session each imported module that is a file of a service's source by
its name but was loaded from another file; the run is then refused, naming the package, the
path it came from and the fix.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from ..config.manifest import Manifest, Service
from ..errors import ConfigError

MODULE = "coverage_workflows_imports"  # the plugin's module name, on the run's PYTHONPATH
SOURCES_VARIABLE = "COVERAGE_WORKFLOWS_SOURCES"  # the services' source folders, JSON
REPORT_VARIABLE = "COVERAGE_WORKFLOWS_IMPORTS"  # the folder the plugin writes its findings to
SHOWN = 3  # modules named in the error

# Runs in the test process (and in each pytest-xdist worker): the standard library only.
PLUGIN = """
import json, os, sys
from pathlib import Path


def _elsewhere():
    by_name = {}
    for source in json.loads(os.environ["COVERAGE_WORKFLOWS_SOURCES"]):
        by_name.setdefault(Path(source).name, []).append(Path(source))
    found = {}
    for name, module in list(sys.modules.items()):
        loaded = getattr(module, "__file__", None)
        if not loaded:
            continue
        parts = name.split(".")
        for depth in range(1, len(parts) + 1):
            for source in by_name.get(parts[depth - 1], ()):
                if list(source.parts[-depth:]) != parts[:depth]:
                    continue
                base = source.joinpath(*parts[depth:])
                own = [base / "__init__.py"] + ([base.with_suffix(".py")] if parts[depth:] else [])
                mine = next((candidate for candidate in own if candidate.is_file()), None)
                if mine is not None and Path(loaded).resolve() != mine.resolve():
                    found[name] = [str(Path(loaded).resolve()), str(mine)]
    return found


def pytest_sessionfinish(session):
    found = _elsewhere()
    if found:
        target = Path(os.environ["COVERAGE_WORKFLOWS_IMPORTS"]) / f"imports-{os.getpid()}.json"
        target.write_text(json.dumps(found), encoding="utf-8")
"""


def prepare(manifest: Manifest, scratch: Path) -> dict[str, str]:
    """Write the plugin into `scratch`; the variables that load it in the run."""
    (scratch / f"{MODULE}.py").write_text(PLUGIN, encoding="utf-8")
    sources = [str(src) for service in manifest.services for src in service.source if src.is_dir()]
    return {SOURCES_VARIABLE: json.dumps(sources), REPORT_VARIABLE: str(scratch)}


def refuse_copies(manifest: Manifest, service: Service, scratch: Path) -> None:
    """Refuse the run (exit 2) if its tests imported measured code from another file."""
    found: dict[str, list[str]] = {}
    for report in sorted(scratch.glob("imports-*.json")):
        try:
            found.update(json.loads(report.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue  # a worker killed while writing: the others still say
    if not found:
        return
    owners = sorted({_owner(manifest, Path(own)) for _, own in found.values()})
    shown = [
        f"{name} from {loaded} (the repository's is {manifest.display(Path(own))})"
        for name, (loaded, own) in _first(found)
    ]
    more = f", and {len(found) - SHOWN} more" if len(found) > SHOWN else ""
    raise ConfigError(
        f"{service.name}: its tests imported code of {', '.join(owners)} from another copy than the "
        f"repository's sources: {'; '.join(shown)}{more}. That copy (an installed package, say) is not "
        "measured, so the figures would be lower than the tests earn; nothing of this run was kept. "
        "Install it from its folder, editable (-e PATH) in "
        f"services.{service.name}.install or [settings] extend_install in {manifest.display(manifest.path)}, "
        "in place of the package name that brings the installed copy.",
        why="measured code imported from elsewhere",
        detail=f"imported {'; '.join(shown)}{more}",
    )


def _first(found: dict[str, list[str]]) -> Iterable[tuple[str, list[str]]]:
    return sorted(found.items())[:SHOWN]


def _owner(manifest: Manifest, path: Path) -> str:
    owner = manifest.owner(path.resolve())
    return owner.name if owner is not None else manifest.display(path)
