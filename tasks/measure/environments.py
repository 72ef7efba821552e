"""Each service's own environment, for the commands that run several services' tests from
one process (run-all, stability, the audit's and adopt's collection).

A `coverage-<service>` session runs the service in the environment built from its own
`install` list. The sessions that reach every service (coverage-all, stability, audit,
maintenance, collect) require each of those environments and pass their folders in a JSON
file named by COVERAGE_WORKFLOWS_ENVIRONMENTS: {"service": "/path/to/venv/bin", ...}. A
service the file does not name (or no file: `python -m tasks` run by hand) runs in this
process's environment, as before. Standard library only: the noxfile writes the file.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

from ..errors import ConfigError

VARIABLE = "COVERAGE_WORKFLOWS_ENVIRONMENTS"
# A service whose environment could not be built (no such Python here): the file holds this
# reason in place of a folder, and its runs report it.
UNBUILT_PREFIX = "unbuilt: "


def _recorded() -> dict[str, str]:
    return _read(os.environ.get(VARIABLE))


@functools.cache
def _read(named: str | None) -> dict[str, str]:
    """The file's services and folders, read once per process (keyed by its name)."""
    if not named:
        return {}
    try:
        found = json.loads(Path(named).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"{VARIABLE}={named}: cannot read the services' environments ({exc}). The nox sessions "
            f"write it; outside nox, unset {VARIABLE}."
        ) from None
    if not isinstance(found, dict) or not all(isinstance(v, str) for v in found.values()):
        raise ConfigError(f"{VARIABLE}={named}: not a JSON object of service names to folders.")
    return found


def unbuilt(service: str) -> str | None:
    """Why `service`'s environment is not there (None: it is, or none was named)."""
    recorded = _recorded().get(service, "")
    return recorded.removeprefix(UNBUILT_PREFIX) if recorded.startswith(UNBUILT_PREFIX) else None


def interpreter(service: str) -> str:
    """The Python that runs `service`'s tests: its own environment's, else this one."""
    bin_dir = _recorded().get(service)
    if not bin_dir or bin_dir.startswith(UNBUILT_PREFIX):
        return sys.executable
    return str(Path(bin_dir) / "python")


def variables(service: str) -> dict[str, str]:
    """What activating `service`'s environment sets: its bin first on PATH (the programs the
    tests start are its own) and VIRTUAL_ENV. Empty where it runs in this environment."""
    bin_dir = _recorded().get(service)
    if not bin_dir or bin_dir.startswith(UNBUILT_PREFIX):
        return {}
    return activation(bin_dir)


def activation(bin_dir: str) -> dict[str, str]:
    """The variables a virtualenv's activation sets for the environment whose bin folder is
    `bin_dir` (the noxfile gives the same to the sessions that run in one)."""
    path = os.pathsep.join(filter(None, [bin_dir, os.environ.get("PATH", "")]))
    return {"PATH": path, "VIRTUAL_ENV": str(Path(bin_dir).parent)}


def has_module(service: str, module: str) -> bool:
    """Whether `module` can be imported in `service`'s environment (pytest-cov, say)."""
    return _importable(interpreter(service), module)


@functools.cache
def _importable(python: str, module: str) -> bool:
    if python == sys.executable:
        return importlib.util.find_spec(module) is not None
    asked = f"import importlib.util, sys; sys.exit(importlib.util.find_spec({module!r}) is None)"
    return subprocess.run([python, "-c", asked], capture_output=True, check=False).returncode == 0
