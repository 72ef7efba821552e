"""Processes killed before they save their coverage (issue 30, item 3): never silent, never fatal.

`with Pool() as pool:` ends with `terminate()`, which kills the workers, often before they
save their data: which lines count is then a lottery. The kit counts the processes that
ended without saving (coverage.py's debug log of measured processes, against the data files
they wrote) and says so in the run, marks the figure INCOMPLETE in every output, keeps the
regression policy from failing on it, and refuses to keep it as a baseline. Figures are
checked against a strict coverage.py run of the same tests whose workers end normally.
"""

from __future__ import annotations

import json
import multiprocessing
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from coverage import Coverage, CoverageData

from tests.conftest import commit_all, flat, git, in_process, run, tasks

RUNS = 20  # per way of starting workers: the loop

WORKERS = {
    "configs/services.toml": """
        [settings]
        root = "repo"

        [services.pool]
        source = ["src/pool"]
        tests = ["tests/pool"]
        timeout = 120

        [services.other]
        source = ["src/other"]
        tests = ["tests/other"]
    """,
    "repo/pyproject.toml": """
        [tool.pytest.ini_options]
        pythonpath = ["src"]
        addopts = "-p no:cacheprovider"
    """,
    "repo/src/pool/__init__.py": "",
    # Run in the workers only: what a worker killed unsaved takes with it.
    "repo/src/pool/work.py": """
        def square(x):
            if x % 2:
                return x * x
            return -x
    """,
    "repo/src/other/__init__.py": "",
    "repo/src/other/core.py": "def answer():\n    return 42\n",
    "repo/tests/other/test_core.py": """
        from other.core import answer


        def test_answer():
            assert answer() == 42
    """,
    # KIT_TEST_END=join: the workers end on their own (the strict run's full figure); else as
    # the test's way says: the pool's `with` (terminate) or the executor's (shutdown, waits).
    "repo/tests/pool/test_work.py": """
        import multiprocessing
        import os
        from concurrent.futures import ProcessPoolExecutor

        from pool.work import square

        METHOD = os.environ.get("KIT_TEST_METHOD", "fork")
        WAY = os.environ.get("KIT_TEST_WAY", "pool")
        NUMBERS = list(range(8))
        EXPECTED = [square(x) for x in NUMBERS]


        def test_squares_in_workers():
            context = multiprocessing.get_context(METHOD)
            if os.environ.get("KIT_TEST_END") == "join":
                pool = context.Pool(2)
                try:
                    assert pool.map(square, NUMBERS) == EXPECTED
                finally:
                    pool.close()
                    pool.join()
            elif WAY == "executor":
                with ProcessPoolExecutor(2, mp_context=context) as executor:
                    assert list(executor.map(square, NUMBERS)) == EXPECTED
            else:
                with context.Pool(2) as pool:
                    assert pool.map(square, NUMBERS) == EXPECTED
    """,
}

STRICT_RC = """
[run]
branch = true
parallel = true
concurrency = multiprocessing
source = {source}
"""

WORK = "src/pool/work.py"


def _executed(data_file: Path, name_end: str) -> tuple[frozenset[int], frozenset[tuple[int, int]]]:
    data = CoverageData(basename=str(data_file))
    data.read()
    (measured,) = [name for name in data.measured_files() if name.endswith(name_end)]
    return frozenset(data.lines(measured) or ()), frozenset(data.arcs(measured) or ())


def _strict(project: Path, method: str, tmp_path: Path) -> tuple[frozenset[int], frozenset[tuple[int, int]]]:
    """coverage.py on its own, workers ending normally: what every worker ran."""
    repo = project / "repo"
    rc = tmp_path / "strict.rc"
    rc.write_text(STRICT_RC.format(source=repo / "src/pool"))
    data_file = tmp_path / "strict" / ".coverage"
    data_file.parent.mkdir()
    env = {"KIT_TEST_METHOD": method, "KIT_TEST_END": "join", "COVERAGE_FILE": str(data_file)}
    argv = [sys.executable, "-m", "coverage", "run", f"--rcfile={rc}", "-m", "pytest", "-q", "tests/pool"]
    ran = run(argv, repo, env=env)
    assert ran.returncode == 0, ran.output
    cov = Coverage(data_file=str(data_file), config_file=str(rc))
    cov.combine()
    cov.save()
    return _executed(data_file, WORK)


METHODS = [m for m in ("fork", "spawn", "forkserver") if m in multiprocessing.get_all_start_methods()]


@pytest.mark.one_pass  # the same processes killed the same way on every Python: run once
@pytest.mark.parametrize(("way", "method"), [*(("pool", m) for m in METHODS), ("executor", "forkserver")])
def test_workers_ended_by_terminate__every_run_full_or_said_incomplete__never_exit_3_or_silent(
    make_project: Callable[[dict[str, str]], Path], tmp_path: Path, way: str, method: str
) -> None:
    project = make_project(WORKERS)
    full = _strict(project, method, tmp_path)
    assert full[0], "the strict run measured no line of the workers"
    env = {"KIT_TEST_METHOD": method, "KIT_TEST_WAY": way}
    said_incomplete = 0
    for number in range(RUNS):
        result = tasks(project, "run", "pool", env=env)  # a hang would end at the service's timeout
        assert result.returncode == 0, f"run {number}: {result.output}"
        said = flat(result.stdout)
        executed = _executed(project / ".coverage-data/pool", WORK)
        if "ended without saving" in said:
            said_incomplete += 1
            assert "use pool.close(); pool.join()" in said
            assert executed[0] <= full[0]
        else:
            assert executed == full, f"run {number}: a short figure with nothing said\n{result.output}"
    if way == "executor":  # its `with` waits for the workers to end: nothing is ever lost
        assert said_incomplete == 0


# One worker that always dies unsaved: a child that runs service code, then kills itself.
KILLED = {
    "repo/tests/pool/test_work.py": """
        import multiprocessing
        import os
        import signal

        from pool.work import square


        def child():
            square(3)  # this line and the odd branch run in the child only
            if os.environ.get("KIT_TEST_KILL"):
                os.kill(os.getpid(), signal.SIGKILL)


        def test_child():
            assert square(2) == -2
            process = multiprocessing.get_context("fork").Process(target=child)
            process.start()
            process.join()
    """,
}


def test_a_process_killed_unsaved__marked_incomplete_in_every_output_and_not_judged_a_drop(
    make_project: Callable[[dict[str, str]], Path],
) -> None:
    project = make_project({**WORKERS, **KILLED})
    git(project, "init", "-q", "-b", "main")
    for service in ("pool", "other"):
        assert tasks(project, "run", service).returncode == 0
    assert in_process(project, "combine").returncode == 0
    commit_all(project, "base")
    baseline = in_process(project, "baseline", "--set")
    assert baseline.returncode == 0, baseline.output

    killed = tasks(project, "run", "pool", env={"KIT_TEST_KILL": "1"})
    assert killed.returncode == 0, killed.output
    assert "pool: 1 process ended without saving its coverage" in flat(killed.stdout), killed.output
    full = _executed(project / ".coverage-data/pool", WORK)
    assert 3 not in full[0]  # `return x * x`: only the killed child ran it

    combined = in_process(project, "combine")
    assert combined.returncode == 0, combined.output  # never fatal
    assert "INCOMPLETE FIGURES: pool: 1 process of its runs ended without saving its coverage" in flat(
        combined.stdout
    )
    record = json.loads((project / ".coverage-data/combined-missing.json").read_text())
    assert record["unsaved"] == {"pool": 1} and record["problems"] == [] and record["services"] == []

    report = in_process(project, "report")
    assert report.returncode == 0, report.output
    assert "INCOMPLETE FIGURES: pool" in flat(report.stdout)
    table = report.stdout.split("Masking matrix")[0]
    (pool_row,) = [line for line in table.splitlines() if line.startswith("pool ")]
    assert "INCOMPLETE (1 process unsaved)" in pool_row
    (other_row,) = [line for line in table.splitlines() if line.startswith("other ")]
    assert "INCOMPLETE" not in other_row
    services = json.loads((project / "reports/services.json").read_text())
    marks = {s["name"]: (s["incomplete"], s["unsaved_processes"]) for s in services["services"]}
    assert marks == {"pool": (True, 1), "other": (False, 0)}
    assert services["unsaved"] == {"pool": 1}
    summary = (project / "reports/summary.md").read_text()
    assert "INCOMPLETE FIGURES: pool" in summary
    assert "| INCOMPLETE \\(1 process unsaved\\) |" in summary  # pool's row, escaped Markdown
    assert "INCOMPLETE (1 process unsaved)" in (project / "reports/index.html").read_text()

    # pool's own figure fell (the child's lines are gone): a drop the regression policy sees,
    # and does not fail on; the verdict says on what it passed.
    gate = in_process(project, "gate", "--policy", "regression", "--base", "main")
    assert gate.returncode == 0, gate.output
    verdict = json.loads((project / "reports/gate.json").read_text())
    drops = [c for c in verdict["checks"] if c["scope"] == "pool" and c["actual"] < c["baseline"]]
    assert drops and all(c["status"] == "warn" for c in drops), verdict["checks"]
    assert verdict["incomplete_figures"] == {"pool": 1}
    assert "gate: WARN on INCOMPLETE figures (pool: processes of their runs saved no coverage)" in flat(
        gate.stdout
    )
    # The control: the same figures, the record of the lost process taken away, fail.
    record_file = project / ".coverage-data/combined-missing.json"
    kept = record_file.read_text()
    record_file.write_text(json.dumps({**record, "unsaved": {}}))
    judged = in_process(project, "gate", "--policy", "regression", "--base", "main")
    assert judged.returncode == 1, judged.output
    record_file.write_text(kept)

    refused = in_process(project, "baseline")
    assert refused.returncode == 3, refused.output
    assert "pool: some processes of their runs ended without saving their coverage" in flat(refused.output)

    # stability notices it within its default runs.
    steady = tasks(project, "stability", "pool", env={"KIT_TEST_KILL": "1"})
    assert steady.returncode == 1, steady.output
    assert "run 1 of 2: 1 process ended without saving its coverage" in flat(steady.stdout)
    assert "but not every process saved its coverage (above): its figure is not steady" in flat(steady.stdout)

    # Measured again with the child ending normally: complete, and the drop is gone.
    assert tasks(project, "run", "pool").returncode == 0
    assert in_process(project, "combine").returncode == 0
    assert not (project / ".coverage-data/combined-missing.json").exists()
    again = in_process(project, "gate", "--policy", "regression", "--base", "main")
    assert again.returncode == 0 and "INCOMPLETE" not in again.stdout, again.output
