"""What measured the figures: the Python and coverage.py versions and the measurement core.

Recorded with every snapshot, because a change of core (C tracer, sys.monitoring, Python
tracer) or of coverage.py version can shift figures without any change to the code.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass

import coverage


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
    try:
        from coverage.core import Core

        cov = coverage.Coverage(config_file=False, branch=True)
        core = Core(warn=lambda *args, **kwargs: None, debug=None, config=cov.config, dynamic_contexts=False)
        name = core.tracer_class.__name__
    except (ImportError, TypeError, AttributeError):  # coverage.py's internals moved
        return "unknown"
    return CORE_NAMES.get(name, name)


def current() -> Environment:
    return Environment(
        python=platform.python_version(), coverage=coverage.__version__, core=measurement_core()
    )
