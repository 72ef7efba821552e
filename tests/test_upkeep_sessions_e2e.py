"""`nox -s audit` and `nox -s maintenance` as real sessions, each in a virtualenv of its own:
the services' `install` lists go into it, as they go into their own sessions, so a
repository whose tests need an extra package gets no false alarm.

The sessions' environments see this environment's packages through PYTHONPATH, with pip
kept off any index: nothing is downloaded, and the only package a session can install is
the wheel built here. That wheel is what the example's tests need to be collected.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Result, build_wheel, nox_in_venvs, tasks

pytestmark = pytest.mark.e2e

PACKAGE = "arcade_testkit"
SERVICES = ("xp", "auth", "discord")
NEEDS_PACKAGE = f"from {PACKAGE} import READY\n\n\ndef test_testkit_is_installed():\n    assert READY\n"


def needs_a_package(project: Path) -> None:
    """Every service of the example gets a test that imports the package, and the package
    in its `install` list (a path, as pip takes it, from the project directory)."""
    wheel = build_wheel(project / "wheels", PACKAGE)
    for service in SERVICES:
        (project / f"examples/monorepo/tests/{service}/test_testkit.py").write_text(NEEDS_PACKAGE)
    manifest = project / "configs/services.toml"
    text = manifest.read_text()
    for service in SERVICES:
        table = f"[services.{service}]\n"
        text = text.replace(table, f'{table}install = ["{wheel.relative_to(project).as_posix()}"]\n')
    manifest.write_text(text)


def session(project: Path, name: str) -> Result:
    """A real nox session in a new virtualenv that sees this environment's packages."""
    return nox_in_venvs(project, "-s", name)


def test_audit_and_maintenance_sessions__install_what_the_services_install(kit_copy: Path) -> None:
    needs_a_package(kit_copy)
    # Without the package (this environment has none), collecting every service fails:
    # the error the sessions would raise if they left the services' install lists out.
    bare = tasks(kit_copy, "audit")
    assert bare.returncode == 1, bare.output
    missing = f"ModuleNotFoundError: No module named '{PACKAGE}'"
    assert bare.stdout.count(missing) == len(SERVICES), bare.stdout

    audited = session(kit_copy, "audit")
    assert audited.returncode == 0, audited.output
    assert "Traceback" not in audited.output, audited.output
    assert "0 at error severity." in audited.stdout, audited.stdout
    # The three services share one install list: installed once.
    assert audited.stderr.count(f"pip install wheels/{PACKAGE}-0.1-py3-none-any.whl") == 1, audited.stderr

    maintained = session(kit_copy, "maintenance")
    assert maintained.returncode == 0, maintained.output
    assert "Traceback" not in maintained.output, maintained.output
    digest = (kit_copy / "reports/maintenance/digest.md").read_text()
    assert "## Audit: " in digest and "**error**" not in digest, digest
