"""Runs forked from a server that imported pytest and coverage.py once (measure/forking.py,
fork_server.py): the same figures as a process per run, file by file, and the same
isolation. On a generated repository of 30 services whose tests also run other services'
code, with the fork server and without it, every service's own data equals a strict
`coverage run` of that service's tests measuring only its source; and no module of any
service was imported when its tests started."""

from __future__ import annotations

import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from coverage import Coverage

from tests import many_services
from tests.conftest import flat, in_process, tasks, turn_fork_server_off, write_files
from tests.oracle import FileTruth, file_truth, strict_run

pytestmark = pytest.mark.e2e

COUNT = 30
NAMES = [many_services.name(index) for index in range(COUNT)]

# Imported by pytest before any test module: which of the services' packages are already
# imported then (none may be: they would have come from the parent, unmeasured).
RECORDING_CONFTEST = """
import json, os, sys
from pathlib import Path

seen = sorted(name for name in sys.modules if name.startswith("pkg"))
folder = Path(__file__).parent / "imported-at-start"
folder.mkdir(exist_ok=True)
(folder / f"{os.getpid()}.json").write_text(json.dumps(seen))
"""


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[Path, FileTruth]]:
    """Each service's tests under a strict coverage run of their own, measuring only the
    service's source (keyed by the file's path relative to the project), two at a time."""
    project = many_services.write(tmp_path_factory.mktemp("strict") / "project", COUNT)
    scratch = tmp_path_factory.mktemp("strict-data")

    def one(index: int) -> dict[Path, FileTruth]:
        package = many_services.package(index)
        truth = strict_run(
            project, [project / "src" / package], [f"tests/{package}"], scratch / f"{package}.coverage"
        )
        return {path.relative_to(project.resolve()): value for path, value in truth.items()}

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(NAMES, pool.map(one, range(COUNT)), strict=True))


@pytest.mark.parametrize("fork_server", [True, False], ids=["forked", "a process per run"])
def test_every_service_figure_equals_a_strict_run_of_its_own_tests(
    tmp_path: Path, strict: dict[str, dict[Path, FileTruth]], fork_server: bool
) -> None:
    project = many_services.write(tmp_path / "project", COUNT)
    write_files(project, {"conftest.py": RECORDING_CONFTEST})
    if not fork_server:
        turn_fork_server_off(project)
    ran = tasks(project, "run-all")
    assert ran.returncode == 0, ran.output
    said = flat(ran.stdout)
    how = (
        ", forked from a fork server per environment;"
        if fork_server
        else "each a new process (settings.fork_server = false in the manifest);"
    )
    assert how in said, said
    for name in NAMES:
        log = flat((project / "reports" / "logs" / f"{name}.log").read_text(encoding="utf-8"))
        assert ("; forked (docs/performance.md)" in log) is fork_server, log
    # Isolation: no service's package was imported as any run's tests started.
    records = list((project / "imported-at-start").glob("*.json"))
    assert len(records) == COUNT
    assert all(json.loads(record.read_text()) == [] for record in records)
    # Each service's own data, file by file, equals the strict run of its own tests: the
    # lines run and missed, and the branches.
    for index, name in enumerate(NAMES):
        data_file = project / ".coverage-data" / name
        assert own_truth(project, data_file, many_services.package(index)) == strict[name], name
    # And the figures the kit reports from them, file by file.
    assert in_process(project, "combine").returncode == 0
    report = in_process(project, "report", "--format", "json")
    assert report.returncode == 0, report.output
    rows = json.loads((project / "reports" / "services.json").read_text(encoding="utf-8"))["services"]
    for name in NAMES:
        row = next(row for row in rows if row["name"] == name)
        reported = {
            file["path"]: (
                file["isolated"]["statements"],
                file["isolated"]["covered"],
                file["isolated"]["branches"],
                file["isolated"]["covered_branches"],
            )
            for file in row["files"]
        }
        expected = {
            path.as_posix(): (len(t.statements), len(t.statements - t.missing), t.branches, t.taken_branches)
            for path, t in strict[name].items()
        }
        assert reported == expected, name


def own_truth(project: Path, data_file: Path, package: str) -> dict[Path, FileTruth]:
    """The kit's data of a run, for the files of `package` (under src/): per-file truth by
    coverage.py's public API (the data records paths relative to the project)."""
    data = Coverage(data_file=str(data_file), config_file=False)
    data.set_option("report:include_namespace_packages", True)
    data.set_option("run:relative_files", True)  # as the kit records the paths
    data.load()
    truth = {}
    before = Path.cwd()
    os.chdir(project)
    try:
        for recorded in data.get_data().measured_files():
            if Path(recorded).is_relative_to(Path("src") / package):
                truth[Path(recorded)] = file_truth(data, recorded)
    finally:
        os.chdir(before)
    return truth


# A test that forks a child and leaves it running: it is no new process (it carries no mark
# in its environment), yet the run waits for it and keeps what it measured; one that
# subprocesses and one that sets a variable Python reads as it starts.
LEFT_RUNNING = {
    "configs/services.toml": """
        [services.left]
        source = ["src/left"]
        tests = ["tests/left"]

        [services.seeded]
        source = ["src/seeded"]
        tests = ["tests/seeded"]
        env = { PYTHONHASHSEED = "0" }
    """,
    "pytest.ini": """
        [pytest]
        pythonpath = src
    """,
    "src/left/__init__.py": "",
    "src/left/work.py": """
        def early(n):
            return n + 1


        def late(n):
            return n * 2
    """,
    "tests/left/test_left.py": """
        import os
        import subprocess
        import sys
        import time

        from left import work


        def test_forks_and_leaves_its_child_running():
            assert work.early(1) == 2
            if os.fork() == 0:  # the child outlives the test run by a second, then saves
                quiet = os.open(os.devnull, os.O_WRONLY)  # as a daemon: no pipe of the run's held
                os.dup2(quiet, 1)
                os.dup2(quiet, 2)
                os.closerange(3, 256)  # pytest's saved copies of the run's output too
                time.sleep(1.5)
                work.late(3)
                os._exit(0)


        def test_a_program_it_starts_is_measured():
            code = "from left import work; assert work.late(2) == 4"
            subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "PYTHONPATH": "src"})
    """,
    "src/seeded/__init__.py": "",
    "src/seeded/work.py": """
        import os


        def seed():
            return os.environ.get("PYTHONHASHSEED")
    """,
    "tests/seeded/test_seeded.py": """
        import sys

        from seeded import work


        def test_python_started_with_the_seed():
            assert work.seed() == "0"
            assert sys.flags.hash_randomization == 0
    """,
}


@pytest.mark.parametrize("fork_server", [True, False], ids=["forked", "a new process"])
def test_a_child_the_tests_fork_and_leave_is_waited_for_and_measured(make_project, fork_server: bool) -> None:
    project = make_project(LEFT_RUNNING)
    if not fork_server:
        turn_fork_server_off(project)
    ran = tasks(project, "run", "left")
    assert ran.returncode == 0, ran.output
    assert ("; forked (docs/performance.md)" in flat(ran.stdout)) is fork_server
    assert "unsaved" not in ran.output
    truth = own_truth(project, project / ".coverage-data" / "left", "left")
    assert [truth[path].missing for path in truth if path.name == "work.py"] == [frozenset()], truth
    # late() ran only in the forked child (and in the program, which the other test starts):
    # a run that did not wait for the child would miss it with -k forks.
    alone = tasks(project, "run", "left", "--", "-k", "forks")
    assert alone.returncode == 0, alone.output
    truth = own_truth(project, project / ".coverage-data" / "slices" / "left", "left")
    assert [truth[path].missing for path in truth if path.name == "work.py"] == [frozenset()], truth


def test_a_service_whose_variables_python_reads_at_start_runs_in_a_process_of_its_own(make_project) -> None:
    project = make_project(LEFT_RUNNING)
    ran = tasks(project, "run", "seeded")
    assert ran.returncode == 0, ran.output
    said = flat(ran.stdout)
    assert "; a new process (it sets PYTHONHASHSEED, which Python reads as it starts)" in said, said


def test_a_repository_module_imported_before_the_fork_is_named_and_refused(make_project) -> None:
    """The check every run makes before it forks: a module of the repository already imported
    in the parent (a plugin of the repository's, say) would go unmeasured in the child."""
    from tasks.config import loader
    from tasks.measure import forking

    project = make_project(LEFT_RUNNING)
    manifest = loader.load("configs/services.toml", project)
    assert forking.repository_modules(manifest) == []
    sys.path.insert(0, str(project / "src"))
    try:
        import left.work  # noqa: F401 - the import under test

        imported = forking.repository_modules(manifest)
    finally:
        sys.path.remove(str(project / "src"))
        for name in [name for name in sys.modules if name == "left" or name.startswith("left.")]:
            del sys.modules[name]
    assert imported == ["left", "left.work"]


def test_a_plugin_of_the_repository_makes_the_server_step_down_and_says_why(make_project) -> None:
    """A pytest plugin (an entry point of a distribution on PYTHONPATH) whose module is the
    repository's: imported by the server, it would go unmeasured in every run forked from it.
    The server steps down; each run is a new process, which measures it; run-all says so."""
    project = make_project(
        {
            **LEFT_RUNNING,
            "plugins/repo_plugin.py": """
                def pytest_configure(config):
                    config.repo_plugin_loaded = True
            """,
            "plugins/repo_plugin-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: repo-plugin\n",
            "plugins/repo_plugin-1.0.dist-info/entry_points.txt": "[pytest11]\nrepo = repo_plugin\n",
            "plugins/repo_plugin-1.0.dist-info/RECORD": "",
            "plugins/repo_plugin-1.0.dist-info/top_level.txt": "repo_plugin\n",
        }
    )
    ran = tasks(project, "run-all", "left", env={"PYTHONPATH": str(project / "plugins")})
    assert ran.returncode == 0, ran.output
    said = flat(ran.stdout)
    assert (
        ": not used (a pytest plugin imports the repository's repo_plugin, which would go unmeasured); "
        "each of its runs is a new process"
    ) in said, said
    assert "left: passed" in said, said
