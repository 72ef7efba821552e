"""What measured the figures: the Python and coverage.py versions and the measurement core.

Recorded with every snapshot, because a change of core (C tracer, sys.monitoring, Python
tracer) or of coverage.py version can shift figures without any change to the code. Each
run also records, inside its data file, the versions of the tools that ran the tests: the
service sessions install their own, which the maintenance session cannot see otherwise.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import coverage

from . import coverage_internals


@dataclass(frozen=True, kw_only=True)
class Environment:
    python: str
    coverage: str
    core: str  # "ctrace", "sysmon" or "pytrace"; "unknown" if coverage.py would not say


CORE_NAMES = {"CTracer": "ctrace", "SysMonitor": "sysmon", "PyTracer": "pytrace"}


def measurement_core() -> str:
    """The core coverage.py picks here for a branch-measuring run like the kit's.

    The `baseline` session installs the same dependency group as the `coverage-<service>`
    sessions and runs on the same interpreter, so the core it would pick is the core those
    runs used (COVERAGE_CORE in the environment is honoured the same way by both).
    """
    name = coverage_internals.measurement_core()
    return CORE_NAMES.get(name, name)


def current() -> Environment:
    return Environment(
        python=platform.python_version(), coverage=coverage.__version__, core=measurement_core()
    )


# The tools in a service session's environment that take part in its runs (nox runs the
# sessions from outside them, so it is not among these).
RUN_TOOLS = ("coverage", "pytest", "pytest-cov", "pytest-xdist", "pytest-split")
# The kit's entry for them in a data file's `meta` table: {tool: version, or null if absent}.
TOOLS_KEY = "coverage_workflows:tools"


def installed(name: str) -> str | None:
    """The version of the distribution `name` installed in this environment, or None."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def record_tools(data_file: Path) -> None:
    """Write the versions of RUN_TOOLS here (the run's own environment) into `data_file`."""
    versions = {name: installed(name) for name in RUN_TOOLS}
    coverage_internals.write_meta_json(data_file, TOOLS_KEY, versions)


def recorded_tools(data_file: Path) -> dict[str, str | None] | None:
    """The tool versions the run that wrote `data_file` recorded; None for data from before
    the kit recorded them, or that is not coverage.py's."""
    found = coverage_internals.read_meta_json(data_file, TOOLS_KEY)
    if not isinstance(found, dict):
        return None
    return {str(name): version if isinstance(version, str) else None for name, version in found.items()}
