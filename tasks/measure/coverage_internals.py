"""The kit's one door to coverage.py internals: what the public API does not offer, each use
with the versions it is known on and a clear error (never a wrong figure) where it is gone.

Tested on coverage.py 7.15.4 (the floor in pyproject.toml) through the newest 7.x; `.ci/run`
runs the suite on both ends.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import coverage
import tomlkit

from ..errors import ConfigError

# coverage.py takes a configuration as data, not a file, when its name starts with this:
# how `patch = subprocess` hands a run's settings to the processes it starts (7.10.4 and later).
CONFIG_DATA_PREFIX = ":data:"


def _too_old(what: str) -> ConfigError:
    return ConfigError(
        f"coverage.py {coverage.__version__} lacks {what}, which the kit needs; install "
        "coverage>=7.15.4,<8 (pyproject.toml's dependency group 'coverage')."
    )


def read_config(folder: Path) -> Any:
    """The configuration coverage.py reads when it runs in `folder`: `.coveragerc`,
    `.coveragerc.toml`, `setup.cfg`, `tox.ini`, `pyproject.toml` in that order, or
    $COVERAGE_RCFILE; its defaults where there is none (`file_used` then says None)."""
    with contextlib.chdir(folder):
        # The public constructor reads it; nothing is measured until start().
        return coverage.Coverage(config_file=True).config


@functools.cache
def default_config() -> Any:
    """coverage.py's settings when nothing configures it (to tell what a project set)."""
    from coverage.config import CoverageConfig

    return CoverageConfig()


def file_used(config: Any) -> Path | None:
    """The configuration file `config` came from: the first of those coverage.py tries that
    holds settings for it (a pyproject.toml or setup.cfg without them is passed over), or
    None for coverage.py's defaults."""
    used = getattr(config, "config_file", None)
    return Path(used) if used else None


def as_argument(config: Any) -> str:
    """`config` as a value for `Coverage(config_file=)`, without a file (runs take a file:
    see `write_config`)."""
    serialize = getattr(config, "serialize", None)
    if serialize is None:
        raise _too_old("CoverageConfig.serialize")
    return CONFIG_DATA_PREFIX + str(serialize())


def write_config(config: Any, path: Path) -> None:
    """`config` as a TOML file that coverage.py reads back the same: every option of its own
    table of options, the [paths] remapping and each plugin's options."""
    options = getattr(config, "CONFIG_FILE_OPTIONS", None)
    if options is None:
        raise _too_old("CoverageConfig.CONFIG_FILE_OPTIONS")
    tables: dict[str, dict[str, Any]] = {}
    for attribute, where, *_ in options:
        value = getattr(config, attribute)
        # exclude_also and partial_also were added to their lists when the project's file
        # was read; written again, they would be added twice.
        if value is not None and not attribute.endswith("_also"):
            section, option = where.split(":", 1)
            tables.setdefault(section, {})[option] = _literal(value)
    if config.paths:
        tables["paths"] = _literal(config.paths)
    for plugin, plugin_options in config.plugin_options.items():
        tables[plugin] = dict(plugin_options)  # read back as they are: no $VARIABLES expanded
    path.write_text(tomlkit.dumps({"tool": {"coverage": tables}}), encoding="utf-8")


def _literal(value: Any) -> Any:
    """coverage.py expands $VARIABLES in the strings of a configuration file; these are meant
    literally (they were expanded when the project's file was read)."""
    if isinstance(value, str):
        return value.replace("$", "$$")
    if isinstance(value, list | tuple):
        return [_literal(item) for item in value]
    if isinstance(value, dict):
        return {key: _literal(item) for key, item in value.items()}
    return value


# The kit's own entry in a data file's `meta` table (coverage.py's SQLite data format since
# 5.0 keeps key-value pairs there and reads only its own keys).
DIGESTS_KEY = "coverage_workflows:sources"


def write_meta(data_file: Path, key: str, value: str) -> None:
    with contextlib.closing(sqlite3.connect(data_file)) as db, db:
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))


def read_meta(data_file: Path, key: str) -> str | None:
    try:
        with contextlib.closing(sqlite3.connect(f"{data_file.resolve().as_uri()}?mode=ro", uri=True)) as db:
            row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    except sqlite3.Error:
        return None  # not coverage.py's SQLite format: datafiles.read says what is wrong
    return str(row[0]) if row else None


def write_meta_json(data_file: Path, key: str, value: object) -> None:
    write_meta(data_file, key, json.dumps(value, separators=(",", ":")))


def read_meta_json(data_file: Path, key: str) -> object:
    """The kit's JSON entry `key` of a data file; None when absent or not JSON."""
    text = read_meta(data_file, key)
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


# -- analysis: one parse and one analysis per file, shared by every report ------------------


def hook_analysis(
    cov: Any, file_reporter: Callable[[Any], Any], analyze: Callable[..., Any]
) -> Callable[[Any], Any]:
    """Make every reporter of `cov` (HTML, XML, JSON, LCOV, its figures) take its file
    reporters and analyses from these; coverage.py's own way to make a file reporter, to
    call from `file_reporter`. coverage.py's reporters ask Coverage._get_file_reporter and
    Coverage._analyze per file (7.15.4 to 7.17); it has no public hook for either."""
    original = getattr(cov, "_get_file_reporter", None)
    if original is None or not hasattr(cov, "_analyze"):
        raise _too_old("Coverage._get_file_reporter and Coverage._analyze")
    cov._get_file_reporter = file_reporter
    cov._analyze = analyze
    return original  # type: ignore[no-any-return]


def analyze(cov: Any, data: Any, reporter: Any) -> Any:
    """coverage.py's Analysis of one file: its reporter's parse against `data` (narrowed to
    contexts with the public CoverageData.set_query_contexts), as Coverage._analyze makes it."""
    from coverage.results import analysis_from_file_reporter

    return analysis_from_file_reporter(
        data, cov.config.precision, reporter, cov._file_mapper(reporter.filename)
    )


def with_jump_fixers(parser: Any) -> dict[tuple[int, int], tuple[int, int] | None] | None:
    """The arcs that Python 3.10+ traces around `with` exits, and what coverage.py's parser
    maps each to: an arc, or None to drop it (7.17's shape). Earlier versions keep another
    shape; None then, and the analysis cache parses those files every time rather than
    translate arcs wrong."""
    fixers = getattr(parser, "_with_jump_fixers", None)
    if not isinstance(fixers, dict):
        return None
    for value in fixers.values():
        if value is not None and not (len(value) == 2 and all(isinstance(x, int) for x in value)):
            return None
    return fixers


def measurement_core() -> str:
    """The class of the core coverage.py picks here for a branch-measuring run, or "unknown"
    where its Core takes other arguments than 7.15.4 to 7.17 do."""
    try:
        from coverage.core import Core

        cov = coverage.Coverage(config_file=False, branch=True)
        wanted: dict[str, Any] = {
            "warn": lambda *args, **kwargs: None,
            "config": cov.config,
            "dynamic_contexts": False,
        }
        accepted = inspect.signature(Core).parameters
        wanted.update(
            {name: value for name, value in (("debug", None), ("metacov", False)) if name in accepted}
        )
        return str(Core(**wanted).tracer_class.__name__)
    except (ImportError, TypeError, AttributeError, ValueError):
        return "unknown"


def absolute_patterns(patterns: list[str] | None, folder: Path) -> list[str]:
    """File patterns as coverage.py resolves them when it runs in `folder`: a pattern that
    starts with a wildcard stands as it is, any other is made absolute against `folder`
    (so that a run in another folder means the same files)."""
    from coverage.files import abs_file

    with contextlib.chdir(folder):
        return [
            pattern if pattern.startswith(("*", "?")) else abs_file(pattern) for pattern in patterns or []
        ]


def finder_skipped(config: Any) -> list[str]:
    """Python files below the run's sources that coverage.py's search for never-imported
    files passes over for their names (`=`, `,`, `(`, `%`, a dot inside: it takes them for
    editor side files), not omitted: the kit adds them to the data, so that every `.py` file
    below a source counts, as docs/manifest.md says. Hidden files (editors' lock files) and
    anything but regular files stay out."""
    from coverage.files import GlobMatcher, canonical_filename, find_python_files, prep_patterns

    omitted = GlobMatcher(prep_patterns(config.run_omit or []), "omit")
    skipped = []
    for source in config.source or []:
        if not Path(source).is_dir() or _plain_names_only(source):
            continue
        found = {canonical_filename(path) for path in find_python_files(source, True)}
        for path in sorted(Path(source).rglob("*.py*")):
            name = canonical_filename(str(path))
            if (
                path.suffix in (".py", ".pyw")
                and not path.name.startswith(".")
                and path.is_file()
                and name not in found
                and not omitted.match(name)
            ):
                skipped.append(name)
    return skipped


def _plain_names_only(folder: str) -> bool:
    """Whether every `.py`/`.pyw` file below `folder` is named like a module (`name.py`, an
    identifier): coverage.py's search takes every such name, so it would skip none."""
    for _, _, names in os.walk(folder):
        for name in names:
            stem, dot, suffix = name.rpartition(".")
            if dot and suffix in ("py", "pyw") and not stem.isidentifier():
                return False
    return True


def drop_files(data_file: Path, names: list[str]) -> None:
    """Take `names` (as recorded) out of the data file entirely: coverage.py's purge_files
    empties their lines but keeps them among the measured files."""
    with contextlib.closing(sqlite3.connect(data_file)) as db, db:
        for name in names:
            row = db.execute("SELECT id FROM file WHERE path = ?", (name,)).fetchone()
            if row is None:
                continue
            # Each table of coverage.py's data schema (version 7) with rows per measured
            # file, then the file's own row.
            db.execute("DELETE FROM line_bits WHERE file_id = ?", row)
            db.execute("DELETE FROM arc WHERE file_id = ?", row)
            db.execute("DELETE FROM tracer WHERE file_id = ?", row)
            db.execute("DELETE FROM file WHERE id = ?", row)


def files_that_ran(data_file: Path) -> list[str]:
    """The recorded paths with any line or arc in the data file, in one query of coverage.py's
    schema (version 7): CoverageData asks file by file, which at hundreds of files (every
    service's source, touched by each run) costs more than the run's own bookkeeping."""
    with contextlib.closing(sqlite3.connect(f"{data_file.resolve().as_uri()}?mode=ro", uri=True)) as db:
        rows = db.execute(
            "SELECT path FROM file WHERE id IN (SELECT file_id FROM line_bits UNION SELECT file_id FROM arc)"
        ).fetchall()
    return sorted(str(path) for (path,) in rows)


SQLITE_HEADER = b"SQLite format 3\x00"


def data_file_pid(path: Path) -> int | None:
    """The process id in the name coverage.py gives a process's data file in parallel mode
    (`raw.<host>.pid<N>.X<random>x`), or None."""
    from coverage.sqldata import filename_match

    found = filename_match(path.name)
    return int(found["pid"]) if found else None


def unusable(path: Path) -> str | None:
    """Why a process's raw data file holds nothing usable (None when it does), found without
    writing to it: opened by coverage.py, an empty file would become a valid empty one. A
    process killed while saving (a pool worker ended by terminate()) leaves such a file, or
    one with its tables made and its schema row not yet written. coverage.py itself reads a
    copy, which is what it would accept."""
    from coverage import CoverageData
    from coverage.exceptions import CoverageException

    try:
        with path.open("rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
        if not header:
            return "empty"
        if header != SQLITE_HEADER:
            return "not a coverage data file"
        with tempfile.TemporaryDirectory(prefix="coverage-workflows-check-") as folder:
            copy = Path(folder) / path.name
            shutil.copyfile(path, copy)
            data = CoverageData(basename=str(copy))
            data.read()
            data.measured_files()
            data.close()
    except (OSError, sqlite3.Error, CoverageException) as exc:
        return f"half-written ({exc})"
    return None
