"""The manifest `adopt` writes: what it discovered and what the repository declared, each
with a comment saying where it came from, so that the user can check every line."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import tomlkit
from tomlkit.items import Table

from .declared import Declared
from .discover import Found


@dataclass(frozen=True)
class Service:
    found: Found
    install: Declared | None = None  # its own, when its folder declares one
    python: Declared | None = None
    floor: Declared | None = None
    pytest_args: Declared | None = None  # its own, when another command than the default runs it


@dataclass
class Plan:
    """Everything the manifest will say, gathered before a line of it is written."""

    repository: str  # its folder's name, for the header
    services: list[Service] = field(default_factory=list)
    install: Declared | None = None  # every service's, from the root
    python: Declared | None = None
    floor: Declared | None = None
    pytest_args: Declared | None = None
    base: Declared | None = None  # the gate's
    unplaced_tests: list[str] = field(default_factory=list)
    untested: list[str] = field(default_factory=list)
    passed_over: list[str] = field(default_factory=list)  # "folder: why"


HEADER = """\
The service manifest for {repository}, written by coverage-workflows' adopt: every
nox session of the kit comes from it (docs/manifest.md in the kit describes each key).
Paths are relative to the repository (root = ".."), install paths to this folder.
Check each service below, then run: nox -s coverage-all combine report"""


def render(plan: Plan) -> str:
    document = tomlkit.document()
    for line in HEADER.format(repository=plan.repository).splitlines():
        document.add(tomlkit.comment(line))
    for title, paths in (
        ("Test files no service claims (add them to a service's tests to count them):", plan.unplaced_tests),
        ("Packages without tests found for them (not measured; add a service by hand):", plan.untested),
        ("Folders with a project file and tests that are no service:", plan.passed_over),
    ):
        if paths:
            document.add(tomlkit.comment(title))
            for path in paths:
                document.add(tomlkit.comment(f"  {path}"))
    document.add(tomlkit.nl())
    settings = tomlkit.table()
    _set(settings, "root", "..", "the repository: the folder this one is in")
    _set(settings, "data_dir", ".coverage-data", "kept in this folder; git-ignored")
    _set(settings, "reports_dir", "reports", "HTML, XML, JSON, LCOV and Markdown, in this folder")
    _declared(settings, "install", plan.install)
    _declared(settings, "python", plan.python)
    _declared(settings, "pytest_args", plan.pytest_args)
    _one_key_table(settings, "thresholds", "line", plan.floor)
    document.add("settings", settings)
    _one_key_table(document, "gate", "base", plan.base)
    services = tomlkit.table(is_super_table=True)
    for service in plan.services:
        services.add(service.found.name, _service(service))
    document.add("services", services)
    return tomlkit.dumps(document)


def _service(service: Service) -> Table:
    table = tomlkit.table()
    table.add(tomlkit.comment(service.found.reason))
    if service.found.working_dir != ".":
        _set(table, "working_dir", service.found.working_dir, "source and tests are relative to it")
    table.add("source", _array(service.found.source))
    table.add("tests", _array(service.found.tests))
    _declared(table, "install", service.install)
    _declared(table, "pytest_args", service.pytest_args)
    _declared(table, "python", service.python)
    _one_key_table(table, "thresholds", "line", service.floor)
    return table


def _one_key_table(parent: Any, name: str, key: str, declared: Declared | None) -> None:
    """[name] holding `key` = the declared value, when there is one."""
    if declared is not None:
        table = tomlkit.table()
        _declared(table, key, declared)
        parent.add(name, table)


def _array(values: tuple[str, ...] | list[str]) -> Any:
    array = tomlkit.array()
    array.extend(values)
    return array.multiline(len(values) > 3)  # a long install list reads one package a line


def _set(table: Table, key: str, value: Any, comment: str) -> None:
    item = tomlkit.item(value)
    item.comment(comment)
    table.add(key, item)


def _declared(table: Table, key: str, declared: Declared | None) -> None:
    if declared is None:
        return
    value = _array(declared.value) if isinstance(declared.value, list) else declared.value
    item = tomlkit.item(value)
    item.comment(f"from {declared.where}")
    table.add(key, item)
