"""Session environments: services that run on the same Python and install the same share
one, built once by the session they all require; a service's variables reach its tests
with `{service}` expanded; a service on a Python nox cannot find is skipped, saying so.

Real nox, real virtualenvs (that see this environment's packages, so nothing downloads).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import inline_library, nox, nox_in_venvs, write_files

pytestmark = pytest.mark.e2e

SERVICES = ("xp", "auth", "discord")
ENV_CHECK = """
import os


def test_variables_are_the_services_own():
    assert os.environ["KIT_DATABASE"] == "test_{name}"
    assert os.environ["KIT_MODE"] == "{mode}"
"""


def environments(project: Path) -> list[str]:
    return sorted(p.name for p in (project / ".nox").iterdir() if p.is_dir() and not p.name.startswith("."))


def test_three_services_and_the_pipeline__one_environment_built_once(kit_copy: Path) -> None:
    sessions = [f"coverage-{name}" for name in SERVICES]
    result = nox_in_venvs(kit_copy, "-s", *sessions, "combine", "report")
    assert result.returncode == 0, result.output
    assert environments(kit_copy) == ["shared-env"]
    assert result.stderr.count("Creating virtual environment") == 1, result.stderr
    assert result.stderr.count("Running session shared-env") == 1, result.stderr
    # Again: the environment is reused, not rebuilt.
    again = nox_in_venvs(kit_copy, "-s", *sessions)
    assert again.returncode == 0, again.output
    assert "Creating virtual environment" not in again.stderr
    assert "Reusing existing virtual environment at .nox/shared-env" in again.stderr


PROGRAMS_CHECK = """
import os
import subprocess


def test_programs_the_tests_start_are_the_environments():
    prefix = subprocess.run(
        ["python", "-c", "import sys; print(sys.prefix)"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert os.path.realpath(prefix) == os.path.realpath(os.environ["VIRTUAL_ENV"])
    assert os.path.basename(prefix) == "shared-env"
"""


def test_side_by_side__each_service_gets_its_own_variables(kit_copy: Path) -> None:
    manifest = kit_copy / "configs/services.toml"
    text = manifest.read_text().replace(
        "[settings]\n", '[settings]\nenv = { KIT_DATABASE = "test_{service}", KIT_MODE = "shared" }\n', 1
    )
    text = text.replace("[services.auth]\n", '[services.auth]\nenv = { KIT_MODE = "auth-only" }\n', 1)
    manifest.write_text(text)
    for name in SERVICES:
        mode = "auth-only" if name == "auth" else "shared"
        test = kit_copy / f"examples/monorepo/tests/{name}/test_variables.py"
        test.write_text(ENV_CHECK.format(name=name, mode=mode))
        (test.parent / "test_programs.py").write_text(PROGRAMS_CHECK)
    result = nox_in_venvs(kit_copy, "--parallel", "3", "-s", *(f"coverage-{name}" for name in SERVICES))
    assert result.returncode == 0, result.output
    assert result.output.count("test_variables.py .") == len(SERVICES), result.output
    # `python` in a test's subprocess is the shared environment's (its bin first on PATH).
    assert result.output.count("test_programs.py .") == len(SERVICES), result.output


def test_a_python_nox_cannot_find__the_service_is_skipped_saying_which(kit_copy: Path) -> None:
    manifest = kit_copy / "configs/services.toml"
    manifest.write_text(
        manifest.read_text().replace("[services.discord]\n", '[services.discord]\npython = "3.99"\n', 1)
    )
    result = nox_in_venvs(kit_copy, "-s", "coverage-auth", "coverage-discord")
    assert result.returncode == 0, result.output  # skipped, not failed (nox's rule off CI)
    assert "coverage-auth: success" in result.stderr
    assert (
        "coverage-discord: skipped (Python 3.99 was not found, so its environment (shared-env-"
        in result.stderr
    )
    assert "Traceback" not in result.output
    assert environments(kit_copy) == ["shared-env"]


def test_conflicting_pins__every_command_gives_each_service_its_own(kit_copy: Path) -> None:
    """Three services pin three versions of one package; each one's tests check the version
    they see. coverage-all runs each in its own environment, as its session does: every
    service passes, with the same figures either way."""
    manifest = kit_copy / "configs/services.toml"
    text = manifest.read_text()
    for number, name in enumerate(SERVICES, start=1):
        folder = f"examples/monorepo/vendor/pinned-{number}"
        write_files(kit_copy, inline_library(folder, "pinned"))
        write_files(kit_copy, {f"{folder}/pinned/__init__.py": f"VERSION = {number}\n"})
        test = f"import pinned\n\n\ndef test_pin():\n    assert pinned.VERSION == {number}\n"
        write_files(kit_copy / "examples/monorepo", {f"tests/{name}/test_pin.py": test})
        text = text.replace(f"[services.{name}]\n", f'[services.{name}]\ninstall = ["-e", "{folder}"]\n', 1)
    manifest.write_text(text)
    # nox -l shows the environment builders as one line (one Python here), not four.
    listed = nox(kit_copy, "-l")
    assert listed.returncode == 0, listed.output
    builders = [line for line in listed.stdout.splitlines() if "[environment]" in line]
    assert len(builders) == 1 and "shared-env [environment] -> Build the 4 environments the" in builders[0], (
        listed.stdout
    )

    together = nox_in_venvs(kit_copy, "-s", "coverage-all", "combine", "report")
    assert together.returncode == 0, together.output
    assert len(environments(kit_copy)) == 4, environments(kit_copy)  # one per service's pin, and shared-env
    first = json.loads((kit_copy / "reports/services.json").read_text())["services"]
    alone = nox_in_venvs(kit_copy, "-s", *(f"coverage-{name}" for name in SERVICES), "combine", "report")
    assert alone.returncode == 0, alone.output
    second = json.loads((kit_copy / "reports/services.json").read_text())["services"]
    assert [(s["name"], s["isolated"], s["whole_suite"]) for s in first] == [
        (s["name"], s["isolated"], s["whole_suite"]) for s in second
    ]
