"""What measured the figures: the Python and coverage.py versions and the measurement core.

Recorded with every snapshot, because a change of core (C tracer, sys.monitoring, Python
tracer) or of coverage.py version can shift figures without any change to the code.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass

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
