"""End to end on the bundled example: real nox sessions, pytest and coverage processes."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tasks.analyze import analysis, combined
from tasks.analyze.analysis import ServiceFigures
from tasks.config import loader
from tasks.config import manifest as manifest_module
from tasks.report import report
from tests.conftest import KIT, flat, in_process, nox, tasks
from tests.oracle import example_source_files, strict_run

pytestmark = pytest.mark.e2e

SERVICES = ("xp", "auth", "discord")


@pytest.fixture(scope="module")
def measured(measured_example: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The example measured through the real sessions (`measured_example`), then reported
    by the report session; shared by the checks below."""
    project = tmp_path_factory.mktemp("example") / "kit"
    shutil.copytree(measured_example, project)
    result = nox(project, "-s", "report")
    assert result.returncode == 0, result.output
    return project, result.output


def figures_of(project: Path) -> tuple[manifest_module.Manifest, tuple[ServiceFigures, ...]]:
    os.chdir(project)  # callers restore the directory through monkeypatch.chdir
    loaded = loader.load(project_dir=project)
    # No analysis cache: a test reads the figures, and leaves no SQLite connection open.
    _, shared = combined.open_coverage(loaded, project / ".coverage-data" / "combined", cache=False)
    return loaded, analysis.service_figures(shared, loaded)


def listed_sessions(project: Path) -> dict[str, str]:
    """`nox -l` in `project`: each session's name and description."""
    result = nox(project, "-l")
    assert result.returncode == 0, result.output
    # "* name [tags] -> description" for default sessions, "- name -> description" otherwise
    sessions = {}
    for line in result.stdout.splitlines():
        if line[:2] in ("* ", "- ") and " -> " in line:
            head, description = line[2:].split(" -> ", 1)
            sessions[head.split(" [")[0]] = description
    return sessions


DEVELOPMENT_SESSIONS = {"tests", "tests-floor", "lint", "bench", "bench_cores"}


def test_nox_list__every_session_with_a_description(kit_copy: Path) -> None:
    sessions = listed_sessions(kit_copy)
    expected = {"coverage-xp", "coverage-auth", "coverage-discord", "combine", "report", "gate", "baseline"}
    assert expected <= set(sessions), sessions
    for name in expected:
        assert len(sessions[name]) > 20, name
    # The kit's own development sessions stay in its repository: a copy of noxfile.py and
    # tasks/ defines none of them.
    assert not DEVELOPMENT_SESSIONS & set(sessions), sessions
    assert set(listed_sessions(KIT)) >= DEVELOPMENT_SESSIONS
    listed = json.loads(nox(kit_copy, "--json", "-l", "-t", "coverage").stdout)
    tagged = [entry["session"] for entry in listed if "coverage" in entry["tags"]]
    assert tagged == ["coverage-xp", "coverage-auth", "coverage-discord"]
    # nox lists what they require with them: the environment they share.
    assert [entry["session"] for entry in listed if "coverage" not in entry["tags"]] == ["shared-env"]


def test_pipeline__prints_table_and_masking_gap(measured: tuple[Path, str]) -> None:
    project, output = measured
    assert "Whole-suite" in output and "Gap" in output
    for name in SERVICES:
        assert f"\n{name} " in output
    assert "Masking gap for xp" in output
    for written in ("html/index.html", "coverage.xml", "coverage.json", "coverage.lcov", "summary.md"):
        assert (project / "reports" / written).is_file(), written
    for name in SERVICES:
        html = (project / "reports" / "html" / "services" / name / "index.html").read_text()
        index = html.replace('<span class="sep">/</span>', "/")
        assert f"src/{name}/" in index
        assert all(f"src/{other}/" not in index for other in SERVICES if other != name), name
    summary = json.loads((project / "reports" / "services.json").read_text())
    xp = next(s for s in summary["services"] if s["name"] == "xp")
    assert xp["masking_gap"] >= 20, xp
    assert "| Service |" in (project / "reports" / "summary.md").read_text()


def test_pipeline__isolated_figures_equal_a_strict_run_line_for_line(
    measured: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DESIGN: the context-derived figure must agree exactly with source limited to the service."""
    project, _ = measured
    monkeypatch.chdir(project)
    loaded, services = figures_of(project)
    for service, figures in zip(loaded.services, services, strict=True):
        truth = strict_run(
            service.cwd, list(service.source), list(service.tests), tmp_path / f"strict-{service.name}"
        )
        assert {(project / f.path).resolve() for f in figures.files} == set(truth), service.name
        for file in figures.files:
            expected = truth[(project / file.path).resolve()]
            assert file.isolated.statements == len(expected.statements), file.path
            assert set(file.isolated_missing) == expected.missing, file.path
            assert file.isolated.branches == expected.branches, file.path
            assert file.isolated.covered_branches == expected.taken_branches, file.path


def test_pipeline__whole_suite_figures_equal_one_classic_run(
    measured: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole-suite figure is what `coverage run --source=src -m pytest tests` reports."""
    project, _ = measured
    monkeypatch.chdir(project)
    loaded, services = figures_of(project)
    truth = strict_run(loaded.root, [loaded.root / "src"], ["tests"], tmp_path / "classic")
    ours = {(project / file.path).resolve(): file for figures in services for file in figures.files}
    assert set(ours) == set(truth)
    for path, file in ours.items():
        expected = truth[path]
        assert file.whole.statements == len(expected.statements), path
        assert file.whole.covered == len(expected.statements - expected.missing), path
        assert file.whole.branches == expected.branches, path
        assert file.whole.covered_branches == expected.taken_branches, path


@pytest.mark.parametrize("parse", ["in workers", "in line"])
def test_report__analyses_each_file_once(
    measured: tuple[Path, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, parse: str
) -> None:
    """Every format plus per-service figures from one parse per source file, whether the
    files are parsed by forked workers or one at a time."""
    from coverage import python

    from tasks.analyze import cache as analysis_cache

    # A private copy: the reports and the analysis cache this test writes are no other test's.
    project = tmp_path / "kit"
    shutil.copytree(measured[0], project)
    log = tmp_path / "parsed.log"  # appended to by whichever process parses
    original = python.PythonParser.parse_source

    def counting(self: python.PythonParser) -> None:
        with log.open("a", encoding="utf-8") as handle:
            handle.write(f"{os.getpid()} {self.filename}\n")
        original(self)

    def parsed() -> list[str]:
        lines = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
        return [line.split(" ", 1)[1] for line in lines]

    def parsers() -> set[int]:
        return {int(line.split(" ", 1)[0]) for line in log.read_text(encoding="utf-8").splitlines()}

    monkeypatch.setattr(python.PythonParser, "parse_source", counting)
    monkeypatch.setattr(analysis_cache, "machine_cores", lambda: 2)
    if parse == "in line":
        monkeypatch.setattr(analysis_cache, "PARALLEL_PARSE_MIN", 10**6)
    monkeypatch.chdir(project)
    loaded = loader.load(project_dir=project)
    shutil.rmtree(loaded.data_dir / "cache", ignore_errors=True)  # what the shared project's readers cached
    built = report.build(loaded)
    measured_files = sum(len(s.files) for s in built.figures.services)
    assert measured_files == example_source_files(project)
    assert len(parsed()) == measured_files, sorted(parsed())
    assert len(set(parsed())) == measured_files
    if parse == "in workers":
        assert os.getpid() not in parsers()  # forked workers parsed, not this process
    else:
        assert parsers() == {os.getpid()}
    # The next invocation on unchanged sources parses nothing: the analysis cache answers.
    log.unlink()
    again = report.build(loaded)
    assert parsed() == []
    assert again.figures.services == built.figures.services


def test_combine__missing_service_names_it(kit_copy: Path) -> None:
    result = nox(kit_copy, "-s", "coverage-xp", "coverage-auth", "combine")
    assert result.returncode == 3, result.output
    assert "discord: no data" in result.output
    assert "nox -s coverage-discord" in result.output
    assert not (kit_copy / ".coverage-data" / "combined").exists()


def test_combine__corrupt_and_mixed_data_are_refused(measured_copy: Path) -> None:
    from coverage import CoverageData

    kit_copy = measured_copy  # the example measured and combined by the real sessions
    data_dir = kit_copy / ".coverage-data"
    before = (data_dir / "combined").read_bytes()

    line_only = CoverageData(basename=str(data_dir / "auth"))
    (data_dir / "auth").unlink()
    line_only.add_lines({"examples/monorepo/src/auth/models.py": [1, 2]})
    line_only.write()
    mixed = tasks(kit_copy, "combine")
    assert mixed.returncode == 3, mixed.output
    assert ".coverage-data/auth" in mixed.stderr and "measured branches" in mixed.stderr

    (data_dir / "xp").write_bytes(b"this is not a database" * 100)
    corrupt = tasks(kit_copy, "combine")
    assert corrupt.returncode == 3, corrupt.output
    assert ".coverage-data/xp: not usable coverage data" in corrupt.stderr
    assert "Traceback" not in corrupt.output
    assert (data_dir / "combined").read_bytes() == before  # the last good combine survives


def test_run__failing_tests_exit_1_and_combine_leaves_the_service_out_marked(measured_copy: Path) -> None:
    kit_copy = measured_copy  # xp's good data from its session
    good = (kit_copy / ".coverage-data" / "xp").read_bytes()
    test_file = kit_copy / "examples/monorepo/tests/xp/test_xp_levels.py"
    test_file.write_text(test_file.read_text() + "\n\ndef test_broken():\n    assert 1 == 2\n")
    result = nox(kit_copy, "-s", "coverage-xp")
    assert result.returncode == 1
    assert "xp: tests FAILED" in result.output
    assert not (kit_copy / ".coverage-data" / "xp").exists()
    assert (kit_copy / ".coverage-data" / "stale" / "xp").read_bytes() == good
    assert (kit_copy / ".coverage-data" / "failed" / "xp").is_file()
    direct = tasks(kit_copy, "run", "xp")
    assert direct.returncode == 1
    # The failure stays with xp (its run said exit 1): the others are combined, xp is named.
    combined = tasks(kit_copy, "combine")
    assert combined.returncode == 0, combined.output
    assert "INCOMPLETE: combined without these" in combined.stdout, combined.stdout
    assert "xp: its last run failed (tests failed)" in combined.stdout, combined.stdout
    assert "run it again: nox -s coverage-xp" in combined.stdout, combined.stdout
    assert "combined auth (" in combined.stdout and "xp (" not in combined.stdout.splitlines()[0]
    reported = in_process(kit_copy, "report", "--format", "services")
    assert reported.returncode == 0, reported.output
    assert reported.stdout.startswith("INCOMPLETE DATA: combined without xp;"), reported.stdout
    xp_row = next(line for line in reported.stdout.splitlines() if line.startswith("xp "))
    assert "no data" in xp_row and "not measured" in xp_row, xp_row
    gate = in_process(kit_copy, "gate", "--policy", "total")  # no git here: the total alone
    assert gate.returncode == 1 and "INCOMPLETE" in gate.stdout, gate.output
    # One `-- --allow-missing` reaches every session that reads the data: report takes it too.
    assert in_process(kit_copy, "report", "--allow-missing", "--format", "services").returncode == 0
    # The history and the floors keep no figure of incomplete data.
    for command in (("baseline", "--branch", "main", "--commit", "a" * 40), ("ratchet", "--check")):
        refused = in_process(kit_copy, *command)
        assert refused.returncode == 3, refused.output
        assert "the combined data was made without xp (their runs failed" in refused.stderr, refused.stderr


def test_run__posargs_measure_a_slice_kept_apart(kit_copy: Path) -> None:
    result = nox(kit_copy, "-s", "coverage-xp", "--", "tests/xp/test_xp_levels.py", "-k", "level")
    assert result.returncode == 0, result.output
    assert "slice run" in result.output
    assert (kit_copy / ".coverage-data" / "slices" / "xp").is_file()
    assert not (kit_copy / ".coverage-data" / "xp").exists()


def test_run__options_alone_narrow_the_service_tests(kit_copy: Path) -> None:
    """`-- -x` must not make pytest collect the whole repository under xp's name."""
    result = tasks(kit_copy, "run", "xp", "-x", "-q")
    assert result.returncode == 0, result.output
    assert "6 passed" in result.stdout  # xp's own tests only
    assert "slice run" in result.stdout


@pytest.mark.parametrize(
    "options",
    [
        ["--ignore", "tests/xp/test_xp_levels.py"],
        ["--deselect", "tests/xp/test_xp_levels.py::nothing"],
        ["-k", "tests"],
    ],
    ids=["ignore", "deselect", "keyword"],
)
def test_run__option_values_are_not_taken_for_test_paths(kit_copy: Path, options: list[str]) -> None:
    """A path given as an option's value (as pytest reads it) names no test of its own: the
    service's own test paths stay, narrowed by the option."""
    result = tasks(kit_copy, "run", "xp", *options)
    assert f" tests/xp {' '.join(options)} in examples/monorepo" in flat(result.stdout), result.stdout


def test_run__new_run_retires_the_old_combined_file(measured_copy: Path) -> None:
    data = measured_copy / ".coverage-data"
    assert (data / "combined").exists()  # combined by the real sessions
    assert tasks(measured_copy, "run", "xp").returncode == 0
    assert not (data / "combined").exists()
    assert (data / "stale" / "combined").is_file()  # kept, never reported
    assert in_process(measured_copy, "report").returncode == 3


def test_cli__unknown_service_exits_2_with_suggestion(kit_copy: Path) -> None:
    result = tasks(kit_copy, "run", "xq")
    assert result.returncode == 2
    assert "unknown service 'xq'" in result.stderr
    assert "Did you mean 'xp'?" in result.stderr


def test_nox__arguments_after_the_separator_reach_every_session_and_the_error_says_how(
    measured_copy: Path,
) -> None:
    """`nox -s combine report gate -- --base X`: nox gives --base to combine too; the error
    names the session and the one way to pass arguments to one session of several."""
    result = nox(measured_copy, "-s", "combine", "report", "gate", "--", "--base", "main")
    assert result.returncode == 2, result.output
    assert "unrecognized arguments: --base main" in result.output
    assert "nox gives the arguments after -- to every session it runs, combine included." in result.output
    assert "nox -s combine report && nox -s gate -- --base main" in result.output
    # Run apart as it says, each session gets what is meant for it.
    assert nox(measured_copy, "-s", "combine", "report").returncode == 0
    gate = nox(measured_copy, "-s", "gate", "--", "--policy", "total")
    assert gate.returncode == 0, gate.output


@pytest.mark.parametrize(
    ("replace", "by", "expected"),
    [
        (
            'tests = ["tests/xp"]',
            'tets = ["tests/xp"]',
            ["services.xp.tets", "Did you mean 'tests'?", "services.toml:{line}:"],
        ),
        ('root = "examples/monorepo"', "root = examples/monorepo", ["not valid TOML", "at line {line},"]),
    ],
)
def test_nox__broken_manifest_exits_2_naming_line_and_key(
    kit_copy: Path, replace: str, by: str, expected: list[str]
) -> None:
    path = kit_copy / "configs" / "services.toml"
    text = path.read_text()
    line = text[: text.index(replace)].count("\n") + 1
    path.write_text(text.replace(replace, by, 1))
    for result in (nox(kit_copy, "-l"), tasks(kit_copy, "services")):
        assert result.returncode == 2, result.output
        for fragment in expected:
            assert fragment.format(line=line) in result.stderr, result.stderr
        assert "Traceback" not in result.output


@pytest.mark.parametrize("command", ["report", "gate"])
def test_without_combined_data__names_the_sessions(kit_copy: Path, command: str) -> None:
    result = tasks(kit_copy, command)
    assert result.returncode == 3
    assert "nox -s coverage-xp coverage-auth coverage-discord combine" in flat(result.stderr)


def test_run__environment_is_not_leaked_into_data(measured_copy: Path) -> None:
    """Data paths are relative to the project, so the data combines on another machine."""
    from coverage import CoverageData

    # auth's data as its session wrote it
    data = CoverageData(basename=str(measured_copy / ".coverage-data" / "auth"))
    data.read()
    files = data.measured_files()
    assert files and all(not Path(f).is_absolute() and f.startswith("examples/monorepo/src/") for f in files)
    assert data.measured_contexts() == {"auth"}
