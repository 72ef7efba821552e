"""True figures on a repository with settings of its own: its coverage.py configuration
(exclusions, partial branches, omit, in pyproject.toml or .coveragerc), the manifest's omit,
pytest-cov in addopts, and multiprocessing workers; each figure checked line for line
against a strict coverage.py run that reads the same configuration."""

from __future__ import annotations

import configparser
import json
import re
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from coverage import Coverage

from tasks.analyze import analysis, combined
from tasks.config import loader
from tasks.measure import freshness
from tests.conftest import flat, in_process, run, tasks, turn_fork_server_off, write_files
from tests.oracle import FileTruth, strict_run, truth_of

pytestmark = pytest.mark.e2e

# The same settings in each of the files coverage.py reads.
PYPROJECT_SETTINGS = """
    [tool.coverage.run]
    omit = ["*/generated/*"]

    [tool.coverage.report]
    exclude_lines = ["pragma: no cover", "if __name__ == .__main__.:"]
    exclude_also = ["if TYPE_CHECKING:", "@abstractmethod"]
    partial_branches = ["pragma: no branch", "while True:"]
"""
COVERAGERC_SETTINGS = """
    [run]
    omit = */generated/*

    [report]
    exclude_lines =
        pragma: no cover
        if __name__ == .__main__.:
    exclude_also =
        if TYPE_CHECKING:
        @abstractmethod
    partial_branches =
        pragma: no branch
        while True:
"""
# pytest-cov as real repositories use it: measuring all of src, failing under 99%.
ADDOPTS = """
    [tool.pytest.ini_options]
    addopts = "-p no:cacheprovider --cov=src --cov-report=term --cov-fail-under=99"
"""

REPO = {
    "configs/services.toml": """
        [settings]
        root = "repo"

        [services.alpha]
        source = ["src/alpha"]
        tests = ["tests/alpha"]

        [services.beta]
        source = ["src/beta"]
        tests = ["tests/beta"]
        omit = ["src/beta/vendor/*"]
    """,
    "repo/src/alpha/__init__.py": "",
    "repo/src/alpha/shapes.py": """
        from __future__ import annotations

        from abc import ABC, abstractmethod
        from typing import TYPE_CHECKING

        if TYPE_CHECKING:
            from collections.abc import Iterator


        class Shape(ABC):
            @abstractmethod
            def area(self) -> float:
                raise NotImplementedError


        class Square(Shape):
            def __init__(self, side: float) -> None:
                self.side = side

            def area(self) -> float:
                return self.side * self.side


        def countdown(start: int) -> list[int]:
            seen = []
            while True:
                seen.append(start)
                start -= 1
                if start < 0:
                    break
            return seen


        def debug_only():  # pragma: no cover
            return "never measured"


        def grow(items: Iterator[int] | None) -> int:
            if items is None:
                return 0
            return sum(items)


        if __name__ == "__main__":
            print(Square(2).area())
    """,
    "repo/src/alpha/generated/__init__.py": "",
    "repo/src/alpha/generated/models.py": """
        def generated(x):
            if x:
                return 1
            return 2
    """,
    "repo/src/beta/__init__.py": "",
    "repo/src/beta/pool.py": """
        import multiprocessing


        def square(x):
            if x % 2:
                return x * x
            return -x


        def squares(method, numbers):
            pool = multiprocessing.get_context(method).Pool(2)
            try:
                return pool.map(square, numbers)
            finally:
                pool.close()  # workers end on their own (terminate() would kill them unsaved)
                pool.join()
    """,
    "repo/src/beta/vendor/__init__.py": "",
    "repo/src/beta/vendor/lib.py": """
        def vendored(x):
            return x + 1
    """,
    "repo/src/beta/uses_alpha.py": """
        from alpha.shapes import Square, countdown


        def measure(side):
            return Square(side).area(), countdown(2)
    """,
    "repo/tests/alpha/test_shapes.py": """
        from alpha.shapes import Square, countdown, grow


        def test_square():
            assert Square(3).area() == 9


        def test_countdown():
            assert countdown(1) == [1, 0]


        def test_grow():
            assert grow(iter([1, 2])) == 3
            assert grow(None) == 0
    """,
    "repo/tests/beta/test_pool.py": """
        import multiprocessing

        import pytest

        from beta.pool import squares
        from beta.uses_alpha import measure
        from beta.vendor.lib import vendored

        METHODS = [m for m in ("fork", "spawn") if m in multiprocessing.get_all_start_methods()]


        @pytest.mark.parametrize("method", METHODS)
        def test_squares_in_workers(method):
            assert squares(method, [1, 2, 3]) == [1, -2, 9]


        def test_measure_and_vendored():
            assert measure(2) == (4, [2, 1, 0])
            assert vendored(1) == 2
    """,
}


def configured_truth(
    root: Path, sources: list[Path], tests: list[str], data_file: Path
) -> dict[Path, FileTruth]:
    """A strict run of `tests` measuring only `sources`, with the project's settings (the same
    as in either of its files), multiprocessing workers measured and pytest-cov switched off;
    per-file truth from coverage.py's public API, keyed by path. Every setting is in one rc
    file, which is what the pool's spawned workers read."""
    data_file.parent.mkdir(parents=True, exist_ok=True)
    rc = configparser.ConfigParser(interpolation=None)
    rc.read_string(textwrap.dedent(COVERAGERC_SETTINGS))
    rc["run"].update(
        {
            "source": ",".join(str(s) for s in sources),
            "branch": "true",
            "parallel": "true",
            "concurrency": "multiprocessing",
            "data_file": str(data_file),
        }
    )
    config = data_file.with_name("oracle.rc")
    with config.open("w", encoding="utf-8") as handle:
        rc.write(handle)
    argv = [sys.executable, "-m", "coverage", "run", f"--rcfile={config}", "-m", "pytest", "-q", "--no-cov"]
    result = run([*argv, *tests], root)
    assert result.returncode == 0, result.output
    result = run([sys.executable, "-m", "coverage", "combine", f"--rcfile={config}"], root)
    assert result.returncode == 0, result.output
    cov = Coverage(data_file=str(data_file), config_file=str(config))
    cov.load()
    return truth_of(cov)


# Each configuration file once, and so each way of starting the tests once: forked (the
# default) and, with the fork server off, a new process (docs/performance.md).
@pytest.mark.parametrize(
    ("config_name", "fork_server"),
    [("pyproject.toml", True), (".coveragerc", False)],
    ids=["pyproject.toml, forked", ".coveragerc, a new process"],
)
def test_project_settings__every_figure_equals_a_strict_run_with_the_same_configuration(
    make_project: Callable[[dict[str, str]], Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    config_name: str,
    fork_server: bool,
) -> None:
    files = dict(REPO)
    if config_name == "pyproject.toml":
        files["repo/pyproject.toml"] = PYPROJECT_SETTINGS + ADDOPTS
    else:
        files["repo/.coveragerc"] = COVERAGERC_SETTINGS
        files["repo/pyproject.toml"] = ADDOPTS
    files["repo/pyproject.toml"] += '    pythonpath = ["src"]\n'
    project = make_project(files)
    if not fork_server:
        turn_fork_server_off(project)
    for name in ("alpha", "beta"):
        result = tasks(project, "run", name)
        assert result.returncode == 0, result.output
        assert ("; forked (docs/performance.md)" in result.stdout) is fork_server, result.stdout
        # pytest-cov's --cov in addopts is made harmless, and the run says what it kept.
        assert "Required test coverage of 99% not reached" not in result.output
        assert f"{name}: coverage.py settings from repo/{config_name}" in result.output
        if name == "alpha":  # the per-run line counts branches as the report does
            summary = next(line for line in result.stdout.splitlines() if "(own tests only)" in line)
    assert in_process(project, "combine").returncode == 0
    report = in_process(project, "report")
    assert report.returncode == 0, report.output

    monkeypatch.chdir(project)
    loaded = loader.load(project_dir=project)
    _, shared = combined.open_coverage(loaded, project / ".coverage-data" / "combined", cache=False)
    figures = {s.name: s for s in analysis.service_figures(shared, loaded)}
    root = project / "repo"
    for service in loaded.services:
        truth = configured_truth(
            root, list(service.source), list(service.tests), tmp_path / service.name / "data"
        )
        # beta's vendored code: the manifest leaves it out of every run; the oracle measures it.
        expected = {path: t for path, t in truth.items() if "vendor" not in path.parts}
        got = {(project / f.path).resolve(): f for f in figures[service.name].files}
        assert set(got) == set(expected), service.name
        for path, file in got.items():
            assert file.isolated.statements == len(expected[path].statements), path
            assert set(file.isolated_missing) == expected[path].missing, path
            assert file.isolated.branches == expected[path].branches, path
            assert file.isolated.covered_branches == expected[path].taken_branches, path

    shapes = figures["alpha"].files[
        [f.path for f in figures["alpha"].files].index("repo/src/alpha/shapes.py")
    ]
    assert shapes.isolated.missed == 0  # every exclusion of the project's was honoured
    pool = next(f for f in figures["beta"].files if f.path.endswith("pool.py"))
    assert pool.isolated.missed == 0  # lines run only in the pool's workers were measured
    assert not any("generated" in f.path for f in figures["alpha"].files)

    alpha = json.loads((project / "reports" / "services.json").read_text())["services"][0]
    isolated = alpha["isolated"]
    assert f"({isolated['covered_branches']}/{isolated['branches']} branches)" in summary


SILENT = {
    "configs/services.toml": """
        [settings]
        root = "repo"

        [services.gamma]
        source = ["src/gamma"]
        tests = ["tests/gamma"]

        [services.delta]
        source = ["src/delta"]
        tests = ["tests/delta"]
    """,
    "repo/pyproject.toml": """
        [tool.pytest.ini_options]
        pythonpath = ["src"]
        addopts = "-p no:cacheprovider"
    """,
    "repo/src/gamma/__init__.py": "",
    "repo/src/gamma/core.py": "def answer():\n    return 42\n",
    "repo/src/delta/__init__.py": "",
    "repo/src/delta/core.py": "def answer():\n    return 42\n",
    # gamma's tests pass without importing gamma (a wrong `source`, say)
    "repo/tests/gamma/test_nothing.py": "def test_nothing():\n    assert 1 + 1 == 2\n",
    # delta's tests pass on gamma's code alone (a test folder given to the wrong service)
    "repo/tests/delta/test_core.py": """
        from gamma.core import answer


        def test_answer():
            assert answer() == 42
    """,
}


def test_run__tests_that_run_none_of_their_service_s_code__recorded_at_0_percent_and_reported(
    make_project: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    """gamma's tests import nothing of gamma; delta's run gamma's code only: the masking case
    the kit exists to show. Each is measured at 0% own, with its whole-suite figure and gap."""
    project = make_project(SILENT)
    for service in ("gamma", "delta"):
        result = tasks(project, "run", service)
        assert result.returncode == 0, result.output
        assert f"{service} (own tests only): line 0.0% (0/2 statements)" in result.stdout, result.stdout
    assert in_process(project, "combine").returncode == 0
    report = in_process(project, "report", "--format", "services")
    assert report.returncode == 0, report.output
    figures = {s["name"]: s for s in json.loads((project / "reports/services.json").read_text())["services"]}
    repo = project / "repo"
    whole = strict_run(repo, [repo / "src"], ["tests"], tmp_path / "strict" / "whole")
    for service in ("gamma", "delta"):
        core = whole[(repo / f"src/{service}/core.py").resolve()]
        assert figures[service]["isolated"]["covered"] == 0, figures[service]
        assert figures[service]["whole_suite"]["covered"] == len(core.statements - core.missing), service
    assert (
        "Masking gap for gamma: its own tests cover 0.0% of its lines, the whole suite 100.0%"
        in report.stdout
    )
    gate = in_process(project, "gate", "--policy", "service")  # judged on its floors: none here
    assert gate.returncode == 0, gate.output


LIVE_ELSEWHERE = {
    # A conftest.py that starts a measurement of its own: the kit's is no longer the one live.
    "repo/tests/gamma/conftest.py": """
        import coverage

        _own = coverage.Coverage(data_file=None)
        _own.start()
    """,
}


def test_run__a_measurement_taken_over_by_the_tests__exit_3_and_the_good_data_kept(
    make_project: Callable[[dict[str, str]], Path],
) -> None:
    project = make_project({**SILENT, **LIVE_ELSEWHERE})
    data = project / ".coverage-data" / "gamma"
    data.parent.mkdir(parents=True)
    data.write_bytes(b"the last good data")  # what a failed run must leave alone
    result = tasks(project, "run", "gamma")
    assert result.returncode == 3, result.output
    assert "a coverage.Coverage() started in conftest.py" in flat(result.stderr), result.stderr
    assert "Traceback" not in result.stderr  # the kit's (the tests' output is coverage.py's own)
    assert data.read_bytes() == b"the last good data"


def test_run__pytest_cov_taking_over_where_the_kit_did_not_neutralise_it__exit_3_not_0_percent(
    make_project: Callable[[dict[str, str]], Path],
) -> None:
    """The project's addopts has --cov: the kit's --no-cov makes it harmless. In a kit copy
    without that line, pytest-cov starts a measurement of its own over the kit's, and the run
    must not be taken for tests that run none of their code (0%): refused, exit 3."""
    project = make_project({**SILENT, "repo/pytest.ini": "[pytest]\npythonpath = src\naddopts = --cov=src\n"})
    runner = project / "tasks/measure/runner.py"
    neutralising = '        kit.append("--no-cov")\n'
    assert runner.read_text().count(neutralising) == 1
    harmless = tasks(project, "run", "delta")
    assert harmless.returncode == 0, harmless.output
    kept = (project / ".coverage-data/delta").read_bytes()
    runner.write_text(runner.read_text().replace(neutralising, "        pass\n"))
    taken_over = tasks(project, "run", "delta")
    assert taken_over.returncode == 3, taken_over.output
    assert "Traceback" not in taken_over.stderr
    said = flat(taken_over.stderr)
    assert "delta: another coverage measurement started over the kit's while the tests ran" in said, said
    assert "tests/delta/test_core.py::test_answer" in said, said
    assert (project / ".coverage-data/delta").read_bytes() == kept  # the last good data


UNSAVED_WORKERS = {
    # As a pool worker killed while saving leaves them: an empty file and a half-written one,
    # beside the test process's own data, in the run's scratch folder.
    "repo/tests/delta/conftest.py": """
        import os
        from pathlib import Path


        def pytest_sessionfinish(session):
            scratch = Path(os.environ["COVERAGE_WORKFLOWS_IMPORTS"])
            (scratch / "raw.host.pid999998.Xkilledx").write_bytes(b"")
            (scratch / "raw.host.pid999999.Xkilledx").write_bytes(b"SQLite format 3\\x00" + b"\\x00" * 40)
    """,
}


def test_run__worker_files_with_nothing_usable_are_left_out_saying_so_not_fatal(
    make_project: Callable[[dict[str, str]], Path],
) -> None:
    project = make_project(SILENT)
    clean = tasks(project, "run", "delta")
    assert clean.returncode == 0, clean.output
    figures = clean.stdout.splitlines()[-2]  # delta (own tests only): line ...
    write_files(project, UNSAVED_WORKERS)
    lost = tasks(project, "run", "delta")
    assert lost.returncode == 0, lost.output  # was: exit 3, "not usable coverage data"
    said = flat(lost.stdout)
    assert "delta: 2 processes ended without saving their coverage" in said, said
    assert "use pool.close(); pool.join()" in said
    # What the test process saved is all there, marked: the two others' lines would be missing.
    assert f"{figures}; INCOMPLETE (2 processes unsaved)" in flat(lost.stdout)


def test_stale_data__refused_naming_every_service_that_ran_the_file_until_they_run_again(
    measured_copy: Path,
) -> None:
    project = measured_copy
    levels = project / "examples/monorepo/src/xp/levels.py"
    shown = "examples/monorepo/src/xp/levels.py"
    digests = freshness.recorded(project / ".coverage-data" / "combined")
    ran_it = [service for service, files in digests.items() if shown in files]
    assert ran_it == ["xp", "auth", "discord"]  # xp's code is run by every service's tests
    levels.write_text("# three lines\n# added at\n# the top\n" + levels.read_text())

    for command in (["report"], ["gate", "--base", "HEAD"], ["masking"], ["baseline"], ["ratchet"]):
        refused = in_process(project, *command)
        assert refused.returncode == 3, (command, refused.output)
        said = flat(refused.stderr)
        assert f"{', '.join(ran_it)}: ran {shown}, changed since it was measured" in said, command
        assert "Refresh it: nox -s coverage-xp coverage-auth coverage-discord combine" in said
        assert "Traceback" not in refused.output

    shown_anyway = in_process(project, "report", "--allow-stale")
    assert shown_anyway.returncode == 0, shown_anyway.output
    assert shown_anyway.stdout.startswith("STALE DATA")
    for written in ("summary.md", "masking.md", "recommendations.md", "index.html"):
        assert "STALE DATA" in (project / "reports" / written).read_text(), written
    assert json.loads((project / "reports" / "services.json").read_text())["stale"]["auth"] == [shown]

    # The owner alone run again: the others' data still ran the old file.
    assert tasks(project, "run", "xp").returncode == 0
    combined = in_process(project, "combine")
    assert combined.returncode == 3, combined.output
    assert "  auth, discord: ran" in combined.stderr  # the two whose tests ran the file, together
    assert not re.search(r"\bxp[,:]", combined.stderr), combined.stderr  # xp ran afresh
    assert "Refresh it: nox -s coverage-auth coverage-discord combine" in combined.stderr
    for name in ("auth", "discord"):
        assert tasks(project, "run", name).returncode == 0
    assert in_process(project, "combine").returncode == 0
    fresh = in_process(project, "report")
    assert fresh.returncode == 0, fresh.output
    assert "STALE" not in fresh.stdout


OWN_FOLDERS = {
    "configs/services.toml": """
        [settings]
        root = "repo"

        [services.north]
        working_dir = "north"
        source = ["src/north"]
        tests = ["tests"]

        [services.south]
        working_dir = "south"
        source = ["src/south"]
        tests = ["tests"]
    """,
    "repo/pyproject.toml": """
        [tool.coverage.report]
        exclude_also = ["def debug"]
    """,
    # north has a configuration of its own, with the root's exclusions; south has none.
    "repo/north/pyproject.toml": """
        [tool.pytest.ini_options]
        pythonpath = ["src"]

        [tool.coverage.report]
        exclude_also = ["def debug"]
    """,
    "repo/north/src/north/__init__.py": "",
    "repo/north/src/north/core.py": "def answer():\n    return 42\n\n\ndef debug():\n    return 'off'\n",
    "repo/north/tests/test_core.py": """
        from north.core import answer


        def test_answer():
            assert answer() == 42
    """,
    "repo/south/conftest.py": "import sys\nsys.path.insert(0, 'src')\n",
    "repo/south/src/south/__init__.py": "",
    "repo/south/src/south/core.py": "def answer():\n    return 7\n",
    "repo/south/tests/test_core.py": """
        from south.core import answer


        def test_answer():
            assert answer() == 7
    """,
}


def test_project_settings__a_services_own_folder_then_the_root_and_differing_exclusions_refused(
    make_project: Callable[[dict[str, str]], Path],
) -> None:
    project = make_project(OWN_FOLDERS)
    north = tasks(project, "run", "north")
    assert north.returncode == 0, north.output
    assert "north: coverage.py settings from repo/north/pyproject.toml" in north.stdout
    south = tasks(project, "run", "south")
    assert south.returncode == 0, south.output
    assert "south: coverage.py settings from repo/pyproject.toml" in south.stdout  # the root's
    assert in_process(project, "combine").returncode == 0
    report = in_process(project, "report")
    assert report.returncode == 0, report.output
    north_core = next(
        f
        for s in json.loads((project / "reports/services.json").read_text())["services"]
        for f in s["files"]
        if f["path"].endswith("north/core.py")
    )
    assert north_core["isolated"]["statements"] == 2  # `def debug` and its body excluded, as both say

    own = project / "repo/north/pyproject.toml"
    own.write_text(own.read_text().replace('exclude_also = ["def debug"]', 'exclude_also = ["return"]'))
    refused = in_process(project, "report")
    assert refused.returncode == 2, refused.output
    said = flat(refused.stderr)
    assert "north: its coverage.py configuration (repo/north/pyproject.toml) sets exclude_list" in said
    assert "unlike the root's (repo/pyproject.toml)" in said
    assert "Traceback" not in refused.output


def test_run_settings__written_and_read_back_by_coverage_the_same(tmp_path: Path) -> None:
    """The file a run is started with gives coverage.py the very settings the kit made: every
    option, [paths], a `$` meant literally, and exclusions not doubled."""
    from coverage.config import CoverageConfig

    from tasks.measure import coverage_internals

    made = CoverageConfig()
    made.set_option("run:omit", ["*/$vendor/*", "/abs/generated/*"])
    made.set_option("run:branch", True)
    made.set_option("report:exclude_also", ["if TYPE_CHECKING:"])
    made.post_process()
    made.set_option("paths", {"source": ["src/", "/ci/src/"]})
    target = tmp_path / "run.toml"
    coverage_internals.write_config(made, target)
    read = Coverage(config_file=str(target)).config
    for attribute, *_ in CoverageConfig.CONFIG_FILE_OPTIONS:
        if attribute.endswith("_also"):
            continue  # merged into their lists when read (compared there)
        assert getattr(read, attribute) == getattr(made, attribute), attribute
    assert read.paths == made.paths
    assert read.exclude_list.count("if TYPE_CHECKING:") == 1


OMITTED_SERVICE = {
    **SILENT,
    # The project's own omit leaves every file of gamma out.
    "repo/pyproject.toml": """
        [tool.pytest.ini_options]
        pythonpath = ["src"]
        addopts = "-p no:cacheprovider"

        [tool.coverage.run]
        omit = ["src/gamma/*"]
    """,
}


def test_run__a_service_its_project_s_omit_leaves_empty_is_refused_by_name_and_the_rest_reported(
    make_project: Callable[[dict[str, str]], Path],
) -> None:
    project = make_project(OMITTED_SERVICE)
    refused = tasks(project, "run", "gamma")
    assert refused.returncode == 2, refused.output
    said = flat(refused.stderr)
    assert "gamma: every file of its source (repo/src/gamma) is left out by the run's omit" in said, said
    assert "[run] omit in repo/pyproject.toml" in said, said
    delta = tasks(project, "run", "delta")
    assert delta.returncode == 0, delta.output
    combined = in_process(project, "combine")
    assert combined.returncode == 0, combined.output
    assert "gamma: its last run failed (every file omitted)" in combined.stdout, combined.stdout
    report = in_process(project, "report")
    assert report.returncode == 0, report.output
    gamma_row = next(line for line in report.stdout.splitlines() if line.startswith("gamma "))
    assert "no data" in gamma_row, report.stdout


def test_changed_omit__the_data_is_stale_naming_the_setting_until_every_service_runs_again(
    measured_copy: Path, tmp_path: Path
) -> None:
    """Adding an omit to the manifest changes what each service's data should hold: every
    command that reads it refuses it, naming the setting; after every service has run again,
    the figures equal a strict run that leaves the file out."""
    project = measured_copy
    manifest = project / "configs/services.toml"
    manifest.write_text(
        manifest.read_text().replace("[settings]\n", '[settings]\nomit = ["*/xp/streaks.py"]\n', 1)
    )
    refused = in_process(project, "report", "--format", "services")
    assert refused.returncode == 3, refused.output
    said = flat(refused.stderr)
    assert "the run settings changed since this data was measured" in said, refused.stderr
    # One line for the services for which it says the same.
    assert "xp, auth, discord: its run settings changed since it was measured: omit" in said, said
    assert "Refresh it: nox -s coverage-xp coverage-auth coverage-discord combine" in said

    for service in ("xp", "auth", "discord"):
        assert tasks(project, "run", service).returncode == 0
    assert in_process(project, "combine").returncode == 0
    report = in_process(project, "report", "--format", "services")
    assert report.returncode == 0, report.output
    figures = {s["name"]: s for s in json.loads((project / "reports/services.json").read_text())["services"]}
    repo = project / "examples/monorepo"
    whole = strict_run(repo, [repo / "src"], ["tests"], tmp_path / "strict")
    reported = {(project / f["path"]).resolve(): f for s in figures.values() for f in s["files"]}
    assert (repo / "src/xp/streaks.py").resolve() not in reported
    assert set(reported) == {path for path in whole if path.name != "streaks.py" or "xp" not in path.parts}
    for path, figure in reported.items():
        truth = whole[path]
        assert figure["whole_suite"]["covered"] == len(truth.statements - truth.missing), path
        assert figure["whole_suite"]["statements"] == len(truth.statements), path


def test_dynamic_context__the_project_s_test_function_contexts_change_no_figure(measured_copy: Path) -> None:
    """The project's `dynamic_context = "test_function"`: the kit overrides it for its runs,
    says so, and every service's own, whole-suite and per-file figures are those without it."""
    project = measured_copy
    assert in_process(project, "report", "--format", "services").returncode == 0
    before = json.loads((project / "reports/services.json").read_text())["services"]
    settings_file = project / "examples/monorepo/pyproject.toml"
    settings_file.write_text(
        settings_file.read_text().replace(
            "[tool.coverage.run]\n", '[tool.coverage.run]\ndynamic_context = "test_function"\n'
        )
    )
    for service in ("xp", "auth", "discord"):
        result = tasks(project, "run", service)
        assert result.returncode == 0, result.output
        assert "the kit overrides dynamic_context (docs/manifest.md)" in flat(result.stdout), result.stdout
    assert in_process(project, "combine").returncode == 0
    assert in_process(project, "report", "--format", "services").returncode == 0
    after = json.loads((project / "reports/services.json").read_text())["services"]

    def figures(services: list[dict]) -> list[tuple]:
        return [
            (
                s["name"],
                s["isolated"],
                s["whole_suite"],
                [(f["path"], f["isolated"], f["whole_suite"]) for f in s["files"]],
            )
            for s in services
        ]

    assert figures(after) == figures(before)


FORKING = {
    "configs/services.toml": """
        [settings]
        root = "repo"

        [services.forker]
        source = ["src/forker"]
        tests = ["tests/forker"]
    """,
    "repo/pyproject.toml": """
        [tool.pytest.ini_options]
        pythonpath = ["src"]
        addopts = "-p no:cacheprovider"
    """,
    "repo/src/forker/__init__.py": "",
    "repo/src/forker/work.py": """
        def in_parent():
            return "parent"


        def in_child():
            total = 0
            for number in range(3):
                total += number
            return total
    """,
    # The child runs in_child and ends with os._exit(0), as forking servers and test helpers do.
    "repo/tests/forker/test_fork.py": """
        import os

        from forker.work import in_child, in_parent


        def test_fork():
            pid = os.fork()
            if pid == 0:
                in_child()
                os._exit(0)
            _, status = os.waitpid(pid, 0)
            assert os.waitstatus_to_exitcode(status) == 0
            assert in_parent() == "parent"
    """,
}


def test_fork__lines_run_in_a_child_that_ends_with_os_exit_count(
    make_project: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    project = make_project(FORKING)
    result = tasks(project, "run", "forker")
    assert result.returncode == 0, result.output
    assert in_process(project, "combine").returncode == 0
    assert in_process(project, "report", "--format", "services").returncode == 0
    (forker,) = json.loads((project / "reports/services.json").read_text())["services"]
    (work,) = [f for f in forker["files"] if f["path"].endswith("work.py")]
    # Every statement of work.py ran: in_parent in the parent, in_child in the child.
    assert work["isolated"]["covered"] == work["isolated"]["statements"] == 7, work
