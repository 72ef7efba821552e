"""Audit checks of the repository's layout against the manifest: omit patterns that hide a
service, source files no service owns, namespace packages a plain coverage report skips,
and test paths that collect nothing or import nothing of their service.

Part of the audit (audit.py holds the checks of settings and data); each returns
findings, none fails on a repository it cannot read.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from coverage.files import GlobMatcher

from ..config.manifest import Manifest, Service
from ..config.project_settings import coverage_settings
from ..measure import environments, outcomes
from ..measure.pytest_output import pytest_error
from .findings import ERROR, WARNING, Finding

SKIPPED_DIRS = {".git", ".nox", ".tox", ".venv", "venv", "node_modules", "__pycache__", "build", "dist"}
SHOWN = 5  # file names listed in one finding
COLLECT_TIMEOUT = 300  # seconds for one service's test collection

# A pytest plugin, loaded by name in the collecting process: after collection it writes the
# number of tests and the files of every module imported so far.
PROBE = """
import json, os, sys

def pytest_collection_finish(session):
    files = sorted({getattr(m, "__file__", None) or "" for m in list(sys.modules.values())} - {""})
    with open(os.environ["COVERAGE_WORKFLOWS_PROBE"], "w", encoding="utf-8") as handle:
        json.dump({"tests": len(session.items), "modules": files}, handle)
"""
PROBE_MODULE = "_coverage_workflows_probe"


def python_files(folder: Path) -> Iterable[Path]:
    """Python files below `folder`, outside virtualenvs, caches and hidden folders."""
    for path in sorted(folder.rglob("*.py")):
        relative = path.relative_to(folder).parts[:-1]
        if not any(part in SKIPPED_DIRS or part.startswith(".") for part in relative):
            yield path.resolve()


def _sample(manifest: Manifest, paths: list[Path]) -> str:
    shown = ", ".join(manifest.display(p) for p in paths[:SHOWN])
    return shown + (f" and {len(paths) - SHOWN} more" if len(paths) > SHOWN else "")


# -- omit patterns -------------------------------------------------------------------------


def omitted_services(manifest: Manifest) -> list[Finding]:
    """`omit` patterns (run or report) that leave out all, or part, of a service's source."""
    findings = []
    files_of = {
        service.name: [f for src in service.source for f in python_files(src)]
        for service in manifest.services
    }
    # (where, patterns, whether leaving out part of a service is worth a warning): the
    # manifest's own omit is there to leave parts out, so only a whole service counts.
    declared = [
        (f"{manifest.display(path)} {section}", [str(p) for p in settings.get("omit", [])], True)
        for path, section, settings in coverage_settings(manifest.root, ("run", "report"))
    ]
    declared.append(
        (f"{manifest.display(manifest.path)} (settings and services)", list(manifest.omit), False)
    )
    for where, patterns, warn_partial in declared:
        if not patterns:
            continue
        # As coverage.py does from the directory it runs in (the root): a pattern that does
        # not start with a wildcard is relative to it (the manifest's are absolute already).
        matcher = GlobMatcher([p if p.startswith(("*", "?")) else str(manifest.root / p) for p in patterns])
        for service in manifest.services:
            files = files_of[service.name]
            hidden = [f for f in files if matcher.match(str(f))]
            whole = len(hidden) == len(files)
            if not hidden or (not whole and not warn_partial):
                continue
            findings.append(
                Finding(
                    severity=ERROR if whole else WARNING,
                    where=f"{where} omit = {patterns!r}",
                    what=(
                        f"omit leaves out every file of {service.name} ({len(files)} files)"
                        if whole
                        else f"omit leaves out {len(hidden)} of {service.name}'s {len(files)} files: "
                        + _sample(manifest, hidden)
                    ),
                    why="coverage runs and reports that read this configuration never count those "
                    "files, so their untested code cannot lower any figure",
                    fix="narrow the pattern to what is meant to be left out (generated code, "
                    "migrations), or remove it",
                )
            )
    return findings


# -- files no service owns ------------------------------------------------------------------------


def unowned_sources(manifest: Manifest) -> list[Finding]:
    nobodys = manifest.owned_by_nobody()
    unowned = [
        path
        for path in python_files(manifest.root)
        if manifest.owner(path) is None
        and not any(path.is_relative_to(folder) for folder in nobodys)
        and not path.name.startswith("test_")
        and path.name != "conftest.py"
    ]
    if not unowned:
        return []
    return [
        Finding(
            severity=WARNING,
            where=manifest.display(manifest.root),
            what=f"Python files that belong to no service ({len(unowned)}): {_sample(manifest, unowned)}",
            why="no session measures them, so their coverage is in no figure, and the gate lists "
            "changes to them as unowned",
            fix=f"add their folders to a service's source in {manifest.display(manifest.path)}, or to "
            "gate.ignore when they are tooling that needs no coverage",
        )
    ]


# -- namespace packages ---------------------------------------------------------------------------


def namespace_packages(manifest: Manifest) -> list[Finding]:
    """Source folders without __init__.py, where the project's own coverage configuration
    does not set include_namespace_packages (the kit's runs always do)."""
    configs = list(coverage_settings(manifest.root, ("run", "report")))
    if not configs or any(_true(settings.get("include_namespace_packages")) for _, _, settings in configs):
        return []
    findings = []
    for service in manifest.services:
        folders = sorted(
            {
                f.parent
                for src in service.source
                for f in python_files(src)
                if not (f.parent / "__init__.py").exists()
            }
        )
        if folders:
            path, section, _ = configs[0]
            findings.append(
                Finding(
                    severity=WARNING,
                    where=f"{manifest.display(path)} {section}",
                    what=f"{service.name} has namespace packages (folders without __init__.py): "
                    + _sample(manifest, folders),
                    why="a coverage report from this configuration leaves out the files in them that "
                    "no test imports, so its figure is higher than the truth",
                    fix="set include_namespace_packages = true under [report] (the kit's own runs "
                    "already do)",
                )
            )
    return findings


def _true(value: object) -> bool:
    if isinstance(value, list):
        value = " ".join(str(v) for v in value)
    return value is True or str(value).strip().lower() in ("true", "1", "yes", "on")


# -- test paths that collect nothing ----------------------------------------------------------------


def test_collection(manifest: Manifest) -> list[Finding]:
    """Collect each service's tests as its session runs them: in its own environment, which
    `nox -s audit` and `nox -s maintenance` name (measure/environments.py), else in this one."""
    findings = []
    for service, found in collections(manifest, manifest.names).items():
        where = f"{manifest.display(manifest.path)} [services.{service.name}] tests = {list(service.tests)!r}"
        if isinstance(found, str):
            findings.append(_collection_failed(manifest, service, where, found))
        else:
            findings += _collected(manifest, service, where, found)
    return findings


def collections(manifest: Manifest, names: Iterable[str]) -> dict[Service, dict[str, Any] | str]:
    """What collecting each named service's tests found (the number of tests, the files
    imported), or why it found nothing: pytest's own error."""
    with tempfile.TemporaryDirectory(prefix="audit-collect-") as scratch:
        (Path(scratch) / f"{PROBE_MODULE}.py").write_text(PROBE, encoding="utf-8")
        return {
            manifest.service(name): _run_collection(manifest.service(name), Path(scratch)) for name in names
        }


def _collect_argv(service: Service) -> list[str]:
    """pytest collecting `service`'s tests with the arguments its session's run gives them."""
    argv = [
        environments.interpreter(service.name),
        "-m",
        "pytest",
        "--collect-only",
        "-q",
        "-p",
        PROBE_MODULE,
        "-p",
        "no:cacheprovider",
    ]
    # pytest-cov's --cov in the project's addopts would measure the collection and leave a
    # data file in the repository: made harmless as the kit's runs make it.
    harmless = ["--no-cov"] if environments.has_module(service.name, "pytest_cov") else []
    return [*argv, *service.pytest_args, *harmless, *service.tests]


def _probe_environment(service: Service, scratch: Path, report: Path) -> dict[str, str]:
    # The service's environment and variables, as its run has them.
    environment = {**os.environ, **environments.variables(service.name), **dict(service.env)}
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(scratch), environment.get("PYTHONPATH")]))
    environment["COVERAGE_WORKFLOWS_PROBE"] = str(report)
    return environment


def _probe_result(report: Path) -> dict[str, Any] | None:
    try:
        found = json.loads(report.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # the plugin never got to write: collection stopped before it ended
    return found if isinstance(found, dict) else None


def _run_collection(service: Service, scratch: Path) -> dict[str, Any] | str:
    """What the probe saw (the number of tests, the files imported), or why there is nothing."""
    report = scratch / f"{service.name}.json"
    unbuilt = environments.unbuilt(service.name)
    if unbuilt is not None:
        return f"its environment was not built: {unbuilt}"
    try:
        completed = subprocess.run(
            _collect_argv(service),
            cwd=service.cwd,
            env=_probe_environment(service, scratch, report),
            capture_output=True,
            text=True,
            errors="replace",
            timeout=COLLECT_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"still collecting after {COLLECT_TIMEOUT} s"
    except OSError as exc:
        return str(exc)
    found = _probe_result(report)
    if found is None or completed.returncode not in (0, 5):
        quoted = pytest_error(completed.stdout, completed.stderr, service.cwd)
        return f"pytest exit status {completed.returncode}: {quoted}"
    return found


def _collected(manifest: Manifest, service: Service, where: str, found: dict[str, Any]) -> list[Finding]:
    if found["tests"] == 0:
        return [
            Finding(
                severity=ERROR,
                where=where,
                what=f"{service.name}'s test paths collect no tests",
                why="its session fails with nothing measured; tests that moved leave the service "
                "without a figure",
                fix=f"point services.{service.name}.tests at the folders that hold its tests",
            )
        ]
    own = [m for m in found["modules"] if service.owns(Path(m).resolve())]
    if not own:
        return [
            Finding(
                severity=WARNING,
                where=where,
                what=f"{service.name}'s {found['tests']} tests import nothing of {service.name} when "
                "collected",
                why="its own tests may exercise another service's code (or the wrong package on "
                "sys.path), so its isolated figure says little",
                fix=f"check that these are {service.name}'s tests and that its source "
                f"({', '.join(manifest.display(s) for s in service.source)}) is what they import",
            )
        ]
    return []


def _collection_failed(manifest: Manifest, service: Service, where: str, detail: str) -> Finding:
    command = shlex.join(["python", "-m", "pytest", "--collect-only", *service.pytest_args, *service.tests])
    if service.cwd != manifest.project_dir:
        command = f"cd {shlex.quote(manifest.display(service.cwd))} && {command}"
    fix = f"pytest's whole report: {command}"
    key = outcomes.key_behind(manifest.path, service.name, detail)
    setting = outcomes.setting_behind(detail)
    if setting == "install":
        fix = (
            f"a package the tests import belongs in {key} in {manifest.display(manifest.path)}: the "
            f"service's own environment installs that list; {fix}"
        )
    elif setting == "pytest_args":
        fix = f"pytest refuses its options: {key} in {manifest.display(manifest.path)}; {fix}"
    return Finding(
        severity=ERROR,
        where=where,
        what=f"collecting {service.name}'s tests failed ({detail})",
        why="its session cannot run, so the service has no figure",
        fix=fix,
    )
