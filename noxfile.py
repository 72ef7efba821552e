"""Nox sessions for per-service coverage: generated from configs/services.toml.

Thin on purpose: each session installs what it needs and delegates to `python -m tasks`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nox
import nox.command
from packaging.requirements import Requirement

sys.path.insert(0, str(Path(__file__).parent))  # nox imports this file without its folder

from tasks.config import loader
from tasks.config import manifest as manifest_module
from tasks.errors import MEANINGS, KitError

nox.needs_version = ">=2026.8.10"  # allow_parallel= on sessions
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.error_on_missing_interpreters = False

PYPROJECT = nox.project.load_toml("pyproject.toml")
COVERAGE_DEPS = nox.project.dependency_groups(PYPROJECT, "coverage")
UPKEEP_DEPS = nox.project.dependency_groups(PYPROJECT, "upkeep")  # packaging and nox besides

try:
    MANIFEST = loader.load()
except KitError as exc:
    # A broken manifest must read as one clear line, not a traceback from nox's loader.
    sys.stderr.write(f"nox: error: {exc.message}\n")
    raise SystemExit(exc.exit_code) from None


# Exit codes of `python -m tasks` that mean nothing downstream can work (docs/exit-codes.md).
STOP_CODES = MEANINGS


def _tasks(session: nox.Session, *args: str) -> None:
    """Run `python -m tasks ARGS`, keeping its exit code 2, 3 or 4 as nox's own.

    nox reports every failed session as exit 1; CI needs to tell a failed gate (1) from
    a broken setup (2), missing data (3) or a full disk (4), so those stop nox with the same code.
    """
    try:
        session.run("python", "-m", "tasks", *args)
    except nox.command.CommandFailed as exc:
        if exc.return_code in STOP_CODES:
            session.log(f"stopping with exit {exc.return_code}: {STOP_CODES[exc.return_code]}")
            raise SystemExit(exc.return_code) from None
        raise


def _register_service(service: manifest_module.Service) -> None:
    def session_func(session: nox.Session) -> None:
        session.install(*COVERAGE_DEPS)
        if service.install:
            session.install(*service.install)
        _tasks(session, "run", service.name, *session.posargs)

    session_func.__doc__ = (
        f"Measure {service.name} with its own tests in their own process (args after -- go to pytest)."
    )
    # The shard count rides along as a tag so that CI's matrix (python -m tasks matrix) comes
    # from `nox --json -l` alone.
    tags = ["coverage", *([f"shards-{service.shards}"] if service.shards > 1 else [])]
    # Runs write separate files and keep their scratch apart: safe under nox --parallel.
    nox.session(name=f"coverage-{service.name}", tags=tags, default=True, allow_parallel=True)(session_func)


for _service in MANIFEST.services:
    _register_service(_service)


@nox.session(name="coverage-all", default=False, tags=["local"])
def coverage_all(session: nox.Session) -> None:
    """Run every shard of every service here, a few at a time (-- --jobs J --workers N --shards N)."""
    session.install(*COVERAGE_DEPS)
    for service in MANIFEST.services:
        if service.install:
            session.install(*service.install)
    _tasks(session, "run-all", *session.posargs)


@nox.session(default=False, tags=["local"])
def stability(session: nox.Session) -> None:
    """Run one service's tests N times; list lines covered differently (-- SERVICE --runs N)."""
    session.install(*COVERAGE_DEPS)
    for service in MANIFEST.services:
        if service.install:
            session.install(*service.install)
    _tasks(session, "stability", *session.posargs)


@nox.session(default=True, tags=["pipeline"])
def combine(session: nox.Session) -> None:
    """Merge every service's coverage data into one file, failing on any missing service."""
    session.install(*COVERAGE_DEPS)
    _tasks(session, "combine", *session.posargs)


@nox.session(default=True, tags=["pipeline"])
def report(session: nox.Session) -> None:
    """Print isolated vs whole-suite coverage per service; write HTML, XML, JSON, LCOV, Markdown."""
    session.install(*COVERAGE_DEPS)
    _tasks(session, "report", *session.posargs)


@nox.session(default=False, tags=["reports"])
def masking(session: nox.Session) -> None:
    """Print which service's tests cover whose code, from the combined data (-- --markdown)."""
    session.install(*COVERAGE_DEPS)
    _tasks(session, "masking", *session.posargs)


@nox.session(default=False, tags=["reports"])
def recommend(session: nox.Session) -> None:
    """Print where the next test buys the most (-- --top N --service NAME --markdown)."""
    session.install(*COVERAGE_DEPS)
    _tasks(session, "recommend", *session.posargs)


@nox.session(default=False, tags=["ci"])
def gate(session: nox.Session) -> None:
    """Fail when coverage breaks a policy in configs/ (pass -- --base REF to compare another branch)."""
    session.install(*COVERAGE_DEPS)
    _tasks(session, "gate", *session.posargs)


@nox.session(default=False, tags=["history"])
def baseline(session: nox.Session) -> None:
    """Record the combined figures in the history (-- --set, --status, --compare A B, --export F, ...)."""
    session.install(*COVERAGE_DEPS)
    _tasks(session, "baseline", *session.posargs)


@nox.session(default=False, tags=["history"])
def ratchet(session: nox.Session) -> None:
    """Raise floors in the manifest and pyproject.toml to the figures minus a margin (-- --check)."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "ratchet"))
    _tasks(session, "ratchet", *session.posargs)


@nox.session(default=False, tags=["upkeep"])
def maintenance(session: nox.Session) -> None:
    """Weekly upkeep: retention, history compaction, audit, tool versions, digest (-- --dry-run)."""
    session.install(*UPKEEP_DEPS)
    _tasks(session, "maintenance", *session.posargs)


@nox.session(default=False, tags=["upkeep"])
def audit(session: nox.Session) -> None:
    """Check the configuration for settings that bring coverage masking back."""
    session.install(*UPKEEP_DEPS)
    _tasks(session, "audit", *session.posargs)


BENCH_DEPS = [*COVERAGE_DEPS, "pytest-cov>=5", "diff-cover>=9", "nox>=2026.8.10", "tomlkit>=0.13"]
# sys.monitoring (coverage.py's sysmon core) exists from Python 3.12.
CORE_PYTHONS = ["3.12", "3.13"]


@nox.session(default=False, tags=["bench"], venv_backend="uv|virtualenv")
def bench(session: nox.Session) -> None:
    """Measure the kit side by side on a synthetic repository (-- --size small|medium|large --repeat N).

    Then the tracing cores on Python 3.12 and 3.13 (bench_cores), where those are installed.
    """
    session.install(*BENCH_DEPS)
    session.run("python", "benchmarks/bench.py", *session.posargs)
    if not any(arg.startswith("--group") for arg in session.posargs):
        for version in CORE_PYTHONS:
            session.notify(f"bench_cores-{version}", session.posargs)


@nox.session(python=CORE_PYTHONS, default=False, tags=["bench"], venv_backend="uv|virtualenv")
def bench_cores(session: nox.Session) -> None:
    """Tracing overhead of coverage.py's ctrace and sysmon cores on this Python (-- --size S)."""
    session.install(*BENCH_DEPS)
    session.run("python", "benchmarks/bench.py", *session.posargs, "--group", "cores")


@nox.session(default=False)
def tests(session: nox.Session) -> None:
    """Run the kit's own tests (real nox, pytest and coverage processes on copied repos)."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "test"))
    session.run("pytest", *session.posargs)


def _declared_floor(package: str) -> str:
    """The lowest version of `package` that pyproject.toml's dependencies allow."""
    for line in PYPROJECT["project"]["dependencies"]:
        requirement = Requirement(line)
        if requirement.name == package:
            floors = [spec.version for spec in requirement.specifier if spec.operator == ">="]
            if floors:
                return floors[0]
    raise LookupError(f"pyproject.toml declares no floor (>=) for {package}")


@nox.session(name="tests-floor", default=False)
def tests_floor(session: nox.Session) -> None:
    """Run the kit's tests against the lowest coverage.py it declares (pyproject.toml)."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "test"))
    session.install(f"coverage=={_declared_floor('coverage')}")
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
