"""The speed levers of `report` change nothing but the time: the analysis cache, the
reuse of unchanged formats, and the forked writer of XML, JSON and LCOV."""

from __future__ import annotations

import contextlib
import functools
import json
import re
import shutil
import sqlite3
from pathlib import Path

import pytest
from coverage import Coverage
from coverage.exceptions import CoverageException
from coverage.python import PythonFileReporter

from tasks.analyze import cache as analysis_cache
from tasks.config import loader
from tasks.config.layout import CACHE_FILE
from tasks.errors import DataError
from tasks.report import publish, report
from tasks.report.reuse import RECORD_NAME


def outputs(reports: Path) -> dict[str, str]:
    """coverage.py's reports, with the moment they were written taken out."""
    found = {
        "coverage.xml": re.sub(
            r' timestamp="\d+"', "", (reports / "coverage.xml").read_text(encoding="utf-8")
        ),
        "coverage.lcov": (reports / "coverage.lcov").read_text(encoding="utf-8"),
    }
    as_json = json.loads((reports / "coverage.json").read_text(encoding="utf-8"))
    as_json["meta"].pop("timestamp")
    found["coverage.json"] = json.dumps(as_json, sort_keys=True)
    for page in sorted((reports / "html").rglob("*.html")):
        text = re.sub(r"created at [^<]*", "", page.read_text(encoding="utf-8"))
        found[page.relative_to(reports).as_posix()] = text
    for xml in sorted((reports / "services").glob("*.xml")):
        found[xml.relative_to(reports).as_posix()] = re.sub(
            r' timestamp="\d+"', "", xml.read_text(encoding="utf-8")
        )
    return found


@pytest.mark.parametrize("parse", ["in workers", "in line"])
def test_report__cached_parse_writes_the_same_reports_as_coverage_py(
    measured_copy: Path, monkeypatch: pytest.MonkeyPatch, parse: str
) -> None:
    monkeypatch.chdir(measured_copy)
    loaded = loader.load(project_dir=measured_copy)
    shutil.rmtree(loaded.data_dir / "cache", ignore_errors=True)

    def fresh_reports() -> None:
        shutil.rmtree(loaded.reports_dir, ignore_errors=True)

    # The oracle: coverage.py's own file reporters, no cache and no workers.
    with monkeypatch.context() as patched:
        patched.setattr(report, "open_coverage", functools.partial(report.open_coverage, cache=False))
        fresh_reports()
        plain = report.build(loaded)
    expected = outputs(loaded.reports_dir)
    assert plain.parses >= analysis_cache.PARALLEL_PARSE_MIN
    assert not (loaded.data_dir / CACHE_FILE).exists()

    # Parsed by forked workers (two cores, whatever this machine has), or one file at a time.
    monkeypatch.setattr(analysis_cache, "machine_cores", lambda: 2)
    if parse == "in line":
        monkeypatch.setattr(analysis_cache, "PARALLEL_PARSE_MIN", 10**6)
    fresh_reports()
    first = report.build(loaded)
    assert (loaded.data_dir / CACHE_FILE).is_file()
    assert outputs(loaded.reports_dir) == expected
    with contextlib.closing(sqlite3.connect(loaded.data_dir / CACHE_FILE)) as db:
        assert (
            db.execute("SELECT COUNT(*) FROM tokens").fetchone()[0] == plain.parses
        )  # every file's HTML tokens
    # Everything written again (no reuse, no earlier HTML), every parse and token from the cache.
    fresh_reports()

    def no_tokenizing(self: object) -> None:
        raise AssertionError("tokenized again: the cached tokens were not used")

    monkeypatch.setattr(PythonFileReporter, "source_token_lines", no_tokenizing)
    second = report.build(loaded)
    assert second.figures.services == first.figures.services == plain.figures.services
    assert outputs(loaded.reports_dir) == expected
    assert len(expected) > 20  # the pages of 17 files, indexes, per-service XML


def test_report__unchanged_inputs_reuse_formats_changed_sources_do_not(
    measured_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(measured_copy)
    loaded = loader.load(project_dir=measured_copy)
    report.build(loaded)
    xml = loaded.reports_dir / "coverage.xml"
    written = xml.read_text(encoding="utf-8")
    report.build(loaded)
    assert xml.read_text(encoding="utf-8") == written  # copied, timestamp and all
    source = next((loaded.root / "src").rglob("*.py"))
    source.write_text(
        source.read_text(encoding="utf-8") + "# a comment changes no figure\n", encoding="utf-8"
    )
    report.build(loaded, allow_stale=True)  # stale now (a file the data ran changed): shown anyway
    assert xml.read_text(encoding="utf-8") != written  # written anew: a source it was made from changed


def test_report__corrupt_cache_is_set_aside(measured_copy: Path) -> None:
    from tests.conftest import in_process

    cache = measured_copy / ".coverage-data" / CACHE_FILE
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(b"not a database at all" * 100)
    result = in_process(measured_copy, "report")
    assert result.returncode == 0, result.output
    assert cache.with_name(cache.name + ".corrupt").read_bytes().startswith(b"not a database")
    assert in_process(measured_copy, "report").returncode == 0


def test_report__failure_in_the_forked_writer_keeps_the_old_reports(
    measured_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(measured_copy)
    loaded = loader.load(project_dir=measured_copy)
    report.build(loaded)
    before = outputs(loaded.reports_dir)
    (loaded.reports_dir / RECORD_NAME).unlink()  # nothing to reuse: the writer must run

    def broken(self: Coverage, **_: object) -> float:
        raise CoverageException("the LCOV writer broke")

    monkeypatch.setattr(Coverage, "lcov_report", broken)
    with pytest.raises(DataError, match="the LCOV writer broke"):
        report.build(loaded)
    assert outputs(loaded.reports_dir) == before
    assert not (loaded.reports_dir / publish.STAGING_NAME).exists()


WITH_BLOCKS = """
import contextlib


def guarded(flag):
    value = 0
    with contextlib.nullcontext():
        if flag:
            value = 1
    return value


for flag in (False, False):
    guarded(flag)
"""


def test_cached_reporter__agrees_with_coverage_py_on_with_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Python 3.10+ traces `with` exits oddly and coverage.py fixes the arcs; the cached
    reporter must fix them the same, on the run that fills the cache and the one that reads it."""
    from tasks.analyze.analysis import SharedAnalysis
    from tasks.analyze.cache import AnalysisCache

    monkeypatch.chdir(tmp_path)
    (tmp_path / "mod.py").write_text(WITH_BLOCKS, encoding="utf-8")
    measured = Coverage(data_file=str(tmp_path / "data"), branch=True, config_file=False)
    measured.start()
    exec(compile(WITH_BLOCKS, str(tmp_path / "mod.py"), "exec"), {})
    measured.stop()
    measured.save()

    def analysis(cache: bool) -> tuple[object, ...]:
        cov = Coverage(data_file=str(tmp_path / "data"), config_file=False)
        cov.load()
        shared = SharedAnalysis(cov, AnalysisCache(tmp_path / "cache.db", cov) if cache else None)
        result = shared.analysis(str(tmp_path / "mod.py"))
        shared.save_cache()
        reporter = shared.file_reporter(str(tmp_path / "mod.py"))
        descriptions = sorted(
            reporter.missing_arc_description(a, b)
            for a, bs in result.missing_branch_arcs().items()
            for b in bs
        )
        shared.close_cache()  # no SQLite connection left open for the garbage collector to find
        return (
            result.numbers.n_executed_branches,
            sorted(result.missing),
            result.missing_branch_arcs(),
            descriptions,
        )

    truth = analysis(cache=False)
    assert analysis(cache=True) == truth  # fills the cache
    assert analysis(cache=True) == truth  # reads it
    assert truth[2]  # `if flag` never took its body: a missing arc to describe
