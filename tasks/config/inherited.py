"""What `[settings]` gives every service, and how a service's own keys combine with it.

The rule (docs/manifest.md): a service's own `install`, `pytest_args`, `python` or
`timeout` replaces the default; `extend_install` and `extend_pytest_args` add to whichever
list applies, and `[settings] extend_install` to every service's after that; `env` tables
merge, the service's own variables winning. `{service}` in an `env` value becomes the
service's name, so that services run side by side can use a database, a port or a folder
of their own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .manifest import MAX_TIMEOUT_S
from .values import TableReader, kind

# Keys [settings] passes on to every service.
INHERITED_KEYS = {"install", "pytest_args", "python", "env", "timeout"}
EXTENDING_KEYS = {"extend_install", "extend_pytest_args"}
# What nox's `python=` takes from the manifest: a CPython or PyPy version, no more.
PYTHON_VERSION = re.compile(r"(pypy)?3\.\d{1,2}\Z")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# Variables the kit sets, or through which coverage.py would read another configuration,
# write another data file, or measure with another core than the one the history records
# (COVERAGE_CORE belongs in the environment nox runs in, where every session sees it).
KIT_OWNED = re.compile(
    r"(COVERAGE_WORKFLOWS_\w*|COVERAGE_RCFILE|COVERAGE_FILE|COVERAGE_PROCESS_START|COVERAGE_PROCESS_CONFIG"
    r"|COVERAGE_CORE)\Z",
    re.IGNORECASE,  # the names of Windows's environment are
)


@dataclass(frozen=True, kw_only=True)
class Defaults:
    install: tuple[str, ...] = ()
    extend_install: tuple[str, ...] = ()  # after every service's own list, whichever it has
    pytest_args: tuple[str, ...] = ()
    python: str | None = None
    env: tuple[tuple[str, str], ...] = ()
    timeout: int | None = None


@dataclass(frozen=True, kw_only=True)
class Inherited:
    """One service's values once the defaults are applied."""

    install: tuple[str, ...]
    pytest_args: tuple[str, ...]
    python: str | None
    env: tuple[tuple[str, str], ...]
    timeout: int | None


def defaults(reader: TableReader, settings: Mapping[str, Any]) -> Defaults:
    keys = ("settings",)
    return Defaults(
        install=reader.strings(settings.get("install", []), (*keys, "install"), allow_empty=True),
        extend_install=reader.strings(
            settings.get("extend_install", []), (*keys, "extend_install"), allow_empty=True
        ),
        pytest_args=reader.strings(settings.get("pytest_args", []), (*keys, "pytest_args"), allow_empty=True),
        python=python(reader, settings, keys),
        env=tuple(environment(reader, settings, keys).items()),
        timeout=reader.count(settings["timeout"], (*keys, "timeout"), MAX_TIMEOUT_S)
        if "timeout" in settings
        else None,
    )


def inherit(
    reader: TableReader, table: Mapping[str, Any], keys: tuple[str, ...], given: Defaults
) -> Inherited:
    """The service's install, pytest arguments, Python, variables and time limit."""
    service = keys[-1]

    def listed(key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        own = reader.strings(table[key], (*keys, key), allow_empty=True) if key in table else default
        extra = f"extend_{key}"
        return own + reader.strings(table.get(extra, []), (*keys, extra), allow_empty=True)

    merged = dict(given.env)
    merged.update(environment(reader, table, keys))
    own_python = python(reader, table, keys)
    return Inherited(
        install=listed("install", given.install) + given.extend_install,
        pytest_args=listed("pytest_args", given.pytest_args),
        python=own_python if own_python is not None else given.python,
        env=tuple((name, value.replace("{service}", service)) for name, value in sorted(merged.items())),
        timeout=reader.count(table["timeout"], (*keys, "timeout"), MAX_TIMEOUT_S)
        if "timeout" in table
        else given.timeout,
    )


def python(reader: TableReader, table: Mapping[str, Any], keys: tuple[str, ...]) -> str | None:
    if "python" not in table:
        return None
    value = table["python"]
    if not isinstance(value, str) or not PYTHON_VERSION.match(value):
        raise reader.error(
            (*keys, "python"),
            f'expected a Python version such as "3.12" (or "pypy3.10"), got {value!r}: the session '
            "runs on the interpreter nox finds for it.",
        )
    return value


def environment(reader: TableReader, table: Mapping[str, Any], keys: tuple[str, ...]) -> dict[str, str]:
    if "env" not in table:
        return {}
    where = (*keys, "env")
    variables = reader.table(table["env"], where)
    for name, value in variables.items():
        if not ENV_NAME.match(name):
            raise reader.error((*where, name), "not a variable name: use letters, digits and '_'.")
        if KIT_OWNED.match(name):
            raise reader.error(
                (*where, name),
                "the kit sets the run's coverage.py configuration, data file and core itself; this "
                "variable would replace them. Put coverage.py settings in the project's configuration "
                "(COVERAGE_CORE in the environment nox runs in).",
            )
        if not isinstance(value, str):
            raise reader.error((*where, name), f"expected a string, got {kind(value)}.")
    return dict(variables)
