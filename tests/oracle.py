"""Independent figures: a strict coverage.py run whose source is limited to one service.

The kit derives a service's isolated figure from contexts in combined data; these helpers
measure the same thing the classic way, with coverage.py's public API only, so the two
can be compared line for line.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from coverage import Coverage

from tests.conftest import run


@dataclass(frozen=True)
class FileTruth:
    statements: frozenset[int]
    missing: frozenset[int]
    branches: int
    taken_branches: int


def no_config(data_file: Path) -> str:
    """An empty coverage configuration beside `data_file`: the oracle must not read the
    measured repository's [tool.coverage] (its fail_under, omit or source)."""
    empty = data_file.with_name(data_file.name + ".rc")
    empty.write_text("")
    return f"--rcfile={empty}"


def strict_run(
    cwd: Path, sources: list[Path], tests: list[str], data_file: Path, env: dict[str, str] | None = None
) -> dict[Path, FileTruth]:
    """Run `tests` in `cwd` measuring only `sources` (with `env` added to the environment);
    per-file truth keyed by absolute path."""
    data_file.parent.mkdir(parents=True, exist_ok=True)
    argv = [
        sys.executable,
        "-m",
        "coverage",
        "run",
        no_config(data_file),
        "--branch",
        f"--data-file={data_file}",
        f"--source={','.join(str(s) for s in sources)}",
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        *tests,
    ]
    result = run(argv, cwd, env=env)
    assert result.returncode == 0, result.output
    cov = Coverage(data_file=str(data_file), config_file=False)
    cov.set_option("report:include_namespace_packages", True)
    cov.load()
    return truth_of(cov)


def truth_of(cov: Coverage) -> dict[Path, FileTruth]:
    """Per-file truth of a loaded Coverage object, from its public API, keyed by path."""
    return {
        Path(filename).resolve(): file_truth(cov, filename) for filename in cov.get_data().measured_files()
    }


def file_truth(cov: Coverage, filename: str) -> FileTruth:
    """One measured file's truth, from coverage.py's public API."""
    _, statements, _, missing, _ = cov.analysis2(filename)
    stats = cov.branch_stats(filename)
    return FileTruth(
        statements=frozenset(statements),
        missing=frozenset(missing),
        branches=sum(total for total, _ in stats.values()),
        taken_branches=sum(taken for _, taken in stats.values()),
    )


# -- the bundled example, measured the classic way ---------------------------------------

EXAMPLE_ROOT = "examples/monorepo"
EXAMPLE_SERVICES = ("xp", "auth", "discord")


@dataclass(frozen=True)
class Totals:
    statements: int
    covered: int
    branches: int
    covered_branches: int

    @property
    def line_pct(self) -> float:
        return 100.0 * self.covered / self.statements

    @property
    def branch_pct(self) -> float:
        return 100.0 * self.covered_branches / self.branches

    @property
    def combined_pct(self) -> float:
        """coverage.py's TOTAL (what `fail_under` compares): statements and branches together."""
        return 100.0 * (self.covered + self.covered_branches) / (self.statements + self.branches)


def totals(truth: dict[Path, FileTruth]) -> Totals:
    return Totals(
        statements=sum(len(t.statements) for t in truth.values()),
        covered=sum(len(t.statements - t.missing) for t in truth.values()),
        branches=sum(t.branches for t in truth.values()),
        covered_branches=sum(t.taken_branches for t in truth.values()),
    )


def example_isolated(project: Path, service: str, tmp: Path) -> Totals:
    """A service of the example (in a kit copy at `project`) by its own tests alone:
    --source limited to the service."""
    root = project / EXAMPLE_ROOT
    return totals(strict_run(root, [root / "src" / service], [f"tests/{service}"], tmp / f".cov-{service}"))


def example_whole(project: Path, tmp: Path) -> Totals:
    """Every service of the example by every test, in one classic run."""
    root = project / EXAMPLE_ROOT
    sources = [root / "src" / name for name in EXAMPLE_SERVICES]
    tests = [f"tests/{name}" for name in EXAMPLE_SERVICES]
    return totals(strict_run(root, sources, tests, tmp / ".cov-whole"))


def example_source_files(project: Path) -> int:
    """The example's source files: every one is measured, imported or not."""
    return sum(1 for name in EXAMPLE_SERVICES for _ in (project / EXAMPLE_ROOT / "src" / name).rglob("*.py"))
