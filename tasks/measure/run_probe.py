"""Whether a run's tests imported a measured package from somewhere else than the repository,
and whether the run's measurement was live.

A service's tests that import a sibling library's installed copy (a plain install in
site-packages, where an editable one was meant) run code the measurement does not count:
the sibling's whole-suite figure falls, silently. A small pytest plugin, loaded in every run,
lists at the end of the session each imported module that is a file of a service's source by
its name but was loaded from another file; the run is then refused, naming the package, the
path it came from and the fix.

The same plugin proves the measurement live: one line of it, run as each test starts, must be
in the run's data (its folder is among the run's sources). A service whose tests run
none of its code is then a 0% figure, not an error; a run where something else took the
measurement over is refused.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from coverage import CoverageData
from coverage.files import GlobMatcher

from ..config.manifest import Manifest, Service
from ..errors import ConfigError, DataError
from . import coverage_internals, datafiles

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
    for source in json.loads(os.environ.get("COVERAGE_WORKFLOWS_SOURCES", "[]")):
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


def _alive():
    return True  # the sentinel: recorded only where the run's own measurement is live


def _measuring():
    try:
        from coverage import Coverage

        return Coverage.current()
    except Exception:
        return None


# The measurement live as pytest loads its -p plugins: the kit's, which `coverage run` (or, in
# a pytest-xdist worker, coverage's start-up in the process) started before pytest.
_KIT = _measuring()
_TAKEN = []


def pytest_runtest_logstart(nodeid, location):
    # As each test starts (a skipped one too), not at the end of the session: pytest-cov's
    # measurement ends with the tests, after which coverage.py resumes the kit's.
    _alive()
    now = _measuring()
    folder = os.environ.get("COVERAGE_WORKFLOWS_IMPORTS")
    if _KIT is not None and now is not _KIT and not _TAKEN and folder:
        # Another measurement started over the kit's (pytest-cov, or a conftest's own): its
        # settings, not the kit's, decide what is recorded. Said once, with the first test.
        _TAKEN.append(nodeid)
        taken = {"test": nodeid, "by": type(now).__module__ if now is not None else "nothing"}
        (Path(folder) / f"taken-{os.getpid()}.json").write_text(json.dumps(taken), encoding="utf-8")


def pytest_sessionfinish(session):
    folder = os.environ.get("COVERAGE_WORKFLOWS_IMPORTS")  # a test may have emptied os.environ
    try:
        found = _elsewhere()
    except Exception:  # the probe never fails a run; the measurement itself is unaffected
        return
    if found and folder:
        (Path(folder) / f"imports-{os.getpid()}.json").write_text(json.dumps(found), encoding="utf-8")
"""


def plugin_file(scratch: Path) -> Path:
    return scratch / f"{MODULE}.py"


NOT_LIVE = (
    "Something in the tests took the measurement over (a coverage.Coverage() started in "
    "conftest.py, another coverage plugin in addopts; pytest-cov's --cov is made harmless "
    "already), or the tests never ran under coverage. Nothing was kept; the last good data is "
    "unchanged; see the output above."
)


def require_live(
    manifest: Manifest, service: Service, raw: list[Path], scratch: Path, config: Any, *, passed: bool
) -> None:
    """Refuse (exit 3) a run whose measurement was not live: no data, or no sentinel. 0% of a
    service's own code is a figure; a measurement that something else took over is not."""
    if not raw:
        raise DataError(
            f"{service.name}: the test process wrote no coverage data. {NOT_LIVE}", why="no live measurement"
        )
    taken = sorted(scratch.glob("taken-*.json"))
    if taken:
        try:
            first = json.loads(taken[0].read_text(encoding="utf-8")).get("test", "?")
        except (OSError, ValueError, AttributeError):
            first = "?"
        raise DataError(
            f"{service.name}: another coverage measurement started over the kit's while the tests ran "
            f"(first seen as {first} started), so what it recorded follows its settings, not the run's. "
            f"{NOT_LIVE}",
            why="no live measurement",
        )
    if measured_live(raw, scratch, service.cwd):
        return
    if not _omitted(config, plugin_file(scratch)):
        raise DataError(
            f"{service.name}: the run's measurement was not live: coverage.py recorded nothing of the "
            f"kit's own pytest plugin, which runs in every run. {NOT_LIVE}",
            why="no live measurement",
        )
    if passed:  # the project's omit hides the sentinel: the older proof
        _require_own_lines(manifest, service, raw)


def _omitted(config: Any, path: Path) -> bool:
    """Whether the run's `omit` patterns leave `path` out."""
    return bool(config.run_omit) and GlobMatcher(config.run_omit, "omit").match(str(path.resolve()))


def _require_own_lines(manifest: Manifest, service: Service, written: list[Path]) -> None:
    """Where the sentinel cannot tell, a passing run that ran no line of its own service is
    refused (exit 3), the last good data untouched."""
    executed = datafiles.executed_files(written)
    if any(service.owns((service.cwd / recorded).resolve()) for recorded in executed):
        return
    sources = ", ".join(manifest.display(src) for src in service.source)
    what = "no line of any file" if not executed else f"no line of {service.name}'s own code ({sources})"
    raise DataError(
        f"{service.name}: the tests passed, but coverage recorded {what}. Nothing was kept; the last "
        f"good data is unchanged. Likely causes: the tests import none of {sources} (check "
        f"services.{service.name}.source in {manifest.display(manifest.path)}); the project's coverage "
        "settings or the manifest's omit leave those files out; or something in the tests starts a "
        "coverage measurement of its own (pytest-cov's --cov is already made harmless: look for "
        "coverage.Coverage() or another coverage plugin in conftest.py or addopts).",
        why="no own line recorded",
    )


def measured_live(raw: list[Path], scratch: Path, cwd: Path) -> bool:
    """Whether the run's own measurement recorded the plugin's sentinel (its folder is among
    the run's sources): it did unless something else took the measurement over (pytest-cov,
    a coverage.Coverage() a conftest.py starts) or it never started. The plugin's file is
    then taken out of the data: it is no code of the repository's."""
    plugin = plugin_file(scratch).resolve()
    live = False
    for path in raw:
        data = CoverageData(basename=str(path))
        data.read()
        recorded = [
            name
            for name in data.measured_files()
            if Path(name).name == plugin.name and (cwd / name).resolve() == plugin
        ]
        live = live or any(data.lines(name) or data.arcs(name) for name in recorded)
        data.close()
        coverage_internals.drop_files(path, recorded)
    return live


def prepare(manifest: Manifest, scratch: Path) -> dict[str, str]:
    """Write the plugin into `scratch`; the variables that load it in the run."""
    plugin_file(scratch).write_text(PLUGIN, encoding="utf-8")
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
