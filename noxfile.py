"""Nox sessions for per-service coverage: generated from configs/services.toml.

Thin on purpose: each session installs what it needs and delegates to `python -m tasks`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nox

sys.path.insert(0, str(Path(__file__).parent))  # nox imports this file without its folder

from tasks import manifest as manifest_module  # noqa: E402
from tasks.errors import KitError  # noqa: E402

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.error_on_missing_interpreters = False

PYPROJECT = nox.project.load_toml("pyproject.toml")
COVERAGE_DEPS = nox.project.dependency_groups(PYPROJECT, "coverage")

try:
    MANIFEST = manifest_module.load()
except KitError as exc:
    # A broken manifest must read as one clear line, not a traceback from nox's loader.
    sys.stderr.write(f"nox: error: {exc.message}\n")
    raise SystemExit(exc.exit_code) from None


def _register_service(service: manifest_module.Service) -> None:
    def session_func(session: nox.Session) -> None:
        session.install(*COVERAGE_DEPS)
        if service.install:
            session.install(*service.install)
        session.run("python", "-m", "tasks", "run", service.name, *session.posargs)

    session_func.__doc__ = (
        f"Measure {service.name} with its own tests in their own process (args after -- go to pytest)."
    )
    nox.session(name=f"coverage-{service.name}", tags=["coverage"], default=True)(session_func)


for _service in MANIFEST.services:
    _register_service(_service)


@nox.session(default=True, tags=["pipeline"])
def combine(session: nox.Session) -> None:
    """Merge every service's coverage data into one file, failing on any missing service."""
    session.install(*COVERAGE_DEPS)
    session.run("python", "-m", "tasks", "combine", *session.posargs)


@nox.session(default=True, tags=["pipeline"])
def report(session: nox.Session) -> None:
    """Print isolated vs whole-suite coverage per service; write HTML, XML, JSON, LCOV, Markdown."""
    session.install(*COVERAGE_DEPS)
    session.run("python", "-m", "tasks", "report", *session.posargs)


@nox.session(default=False)
def tests(session: nox.Session) -> None:
    """Run the kit's own tests (real nox, pytest and coverage processes on copied repos)."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "test"))
    session.run("pytest", *session.posargs)


@nox.session(default=False)
def lint(session: nox.Session) -> None:
    """Lint and format-check with ruff; type-check noxfile.py and tasks/ with mypy."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "lint"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy")


if __name__ == "__main__":
    nox.main()
