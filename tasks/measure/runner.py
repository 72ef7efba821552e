"""Run one service's tests under coverage, in their own process, and keep the data safely.

The run measures the sources of every declared service (so the whole-suite figure and
the masking gap come from the same runs, no test executed twice) and labels the data
with a static context equal to the service's name: that label is what makes a service's
isolated figure derivable from combined data.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from ..config.layout import FAILED_DIR, SLICES_DIR, Shard, durations_file, service_file, shard_files
from ..config.manifest import Manifest, Service
from ..errors import EXIT_FAILED, EXIT_OK, CheckFailed, ConfigError
from . import (
    coverage_internals,
    datafiles,
    environments,
    forking,
    freshness,
    measured_with,
    outcomes,
    processes,
    pytest_output,
    run_inputs,
    run_probe,
    scratch_folders,
    settings,
    unsaved,
)

# pytest's exit statuses (pytest.ExitCode), named here to keep pytest out of this process.
PYTEST_OK = 0
PYTEST_TESTS_FAILED = 1
PYTEST_INTERRUPTED = 2  # also a collection error: pytest stops before any test
PYTEST_USAGE = 4
PYTEST_NO_TESTS = 5

MAX_WORKERS = 64  # pytest-xdist processes in one run; more is a typo, not a plan


@dataclass(frozen=True, kw_only=True)
class RunResult:
    service: str
    exit_code: int
    data_file: Path  # where this run's data was kept
    combined: bool  # whether combine will read it
    failures: tuple[str, ...] = ()  # pytest's summary lines of the tests that failed
    processes_unsaved: int = 0  # processes that ended without saving their coverage (unsaved.py)


def names_tests(service: Service, extra: list[str]) -> bool:
    """Whether the extra pytest arguments name tests (a path or node id) of their own, read
    as pytest reads them: `--ignore tests/x.py`, `--deselect a::b` or `-k tests` name none."""
    if not extra:
        return False
    positional = _pytest_positional(extra)
    if positional is None:  # pytest's parser not at hand: a guess by the arguments' shape
        positional = [a for a in extra if not a.startswith("-") and ("::" in a or (service.cwd / a).exists())]
    return bool(positional)


def _pytest_positional(extra: list[str]) -> list[str] | None:
    """The file-or-directory arguments pytest (with its plugins' options) finds in `extra`;
    None where pytest's parser cannot be asked (it is pytest's own, not a public API)."""
    try:
        config = forking.load_pytest_plugins()
        found = config._parser.parse_known_args(extra)
    except Exception:  # any failure of a private API: the guess is good enough
        return None
    return [str(arg) for arg in getattr(found, "file_or_dir", None) or []]


@dataclass(frozen=True, kw_only=True)
class Options:
    """How to run: one shard of the tests, pytest-xdist workers, a failure cap, or
    recording durations."""

    shard: Shard | None = None
    workers: int = 1
    maxfail: int | None = None
    store_durations: bool = False


def pytest_command(
    service: Service,
    rcfile: Path,
    extra: list[str],
    options: Options = Options(),
    durations: Path | None = None,
) -> list[str]:
    """argv for the measured pytest process. Extra arguments that name tests replace the
    default test paths; options alone (`-k streak`, `-x`) narrow the default paths. A
    shard is pytest-split's group K of N, balanced by the recorded durations."""
    selection = extra if names_tests(service, extra) else [*service.tests, *extra]
    kit: list[str] = []
    if options.shard is not None:
        kit += ["--splits", str(options.shard.count), "--group", str(options.shard.index)]
        kit += ["--splitting-algorithm", "least_duration"]
    if options.store_durations:
        kit.append("--store-durations")
    if durations is not None and (options.shard is not None or options.store_durations):
        kit.append(f"--durations-path={durations}")
    if options.maxfail is not None:
        kit.append(f"--maxfail={options.maxfail}")
    if options.workers > 1:
        kit += ["--numprocesses", str(options.workers)]
    kit += ["-p", run_probe.MODULE]  # measured code imported from elsewhere (run_probe.py)
    if environments.has_module(service.name, "pytest_cov"):
        # pytest-cov would start a measurement of its own over the kit's (every figure 0%),
        # and its --cov-fail-under would judge it: --cov options in the project's addopts
        # are made harmless. (pytest would refuse the flag where pytest-cov is absent.)
        kit.append("--no-cov")
    return [
        environments.interpreter(service.name),  # its own environment's, where one is named
        "-m",
        "coverage",
        "run",
        f"--rcfile={rcfile}",
        "-m",
        "pytest",
        *service.pytest_args,
        *kit,
        *selection,
    ]


def require_plugins(options: Options) -> None:
    """A clear error, before the tests start, when a pytest plugin the options need is absent."""
    needed = []
    if options.shard is not None or options.store_durations:
        needed.append(("pytest_split", "pytest-split", "--shards/--store-durations"))
    if options.workers > 1:
        needed.append(("xdist", "pytest-xdist", "--workers"))
    for module, package, flag in needed:
        if importlib.util.find_spec(module) is None:
            raise ConfigError(
                f"{flag} needs {package}, which is not installed for {sys.executable}. The nox "
                f"sessions install it (dependency group 'coverage' in pyproject.toml); outside nox: "
                f"pip install {package}."
            )


def run(
    manifest: Manifest,
    name: str,
    extra: list[str],
    out: TextIO = sys.stdout,
    options: Options = Options(),
    log: Path | None = None,
) -> RunResult:
    """Run `name`'s tests under coverage; keep the data where combine (or the user) finds it;
    pytest's output also goes to `log`."""
    service = manifest.service(name)
    require_plugins(options)
    manifest.data_dir.mkdir(parents=True, exist_ok=True)
    durations = durations_file(manifest, service.name)
    if options.store_durations:
        durations.parent.mkdir(parents=True, exist_ok=True)
    with scratch_folders.folder(manifest.data_dir, name) as scratch:
        log = log or scratch / "pytest.log"
        ran = execute(manifest, service, extra, scratch, out, options, durations, log=log)
        status = ran.status
        kept = _keep(manifest, service, ran, sliced=bool(extra), shard=options.shard)
        if status == PYTEST_TESTS_FAILED:
            printed = log.read_text(encoding="utf-8", errors="replace")
            kept = dataclasses.replace(kept, failures=pytest_output.failed_tests(printed))
        return kept


@dataclass(frozen=True, kw_only=True)
class Executed:
    status: int  # pytest's exit status: PYTEST_OK or PYTEST_TESTS_FAILED
    written: list[Path]  # the usable data files, one per process that saved
    processes_unsaved: int  # processes that ended without saving (unsaved.py)


def execute(
    manifest: Manifest,
    service: Service,
    extra: list[str],
    scratch: Path,
    out: TextIO,
    options: Options = Options(),
    durations: Path | None = None,
    *,
    per_test: bool = False,
    log: Path | None = None,
) -> Executed:
    """Run the service's tests under coverage with `scratch` for its files: pytest's exit
    status (0 or 1), the data files written and the processes that saved none, or a
    ConfigError for a run that measured nothing worth keeping, quoting pytest's error.
    pytest's output is copied to `log`."""
    name = service.name
    log = log or scratch / "pytest.log"
    raw = scratch / "raw"
    chosen = settings.run_settings(manifest, service, raw, per_test=per_test)
    settings.require_measurable(manifest, service, chosen)
    rcfile = chosen.write(scratch / "coverage.toml")
    argv = pytest_command(service, rcfile, extra, options, durations)
    print(f"{name}: {chosen.describe(manifest)}", file=out)
    variables = _run_variables(manifest, service, scratch)
    refused = forking.refusal(manifest, argv, variables)
    how = "forked (docs/performance.md)" if refused is None else f"a new process ({refused})"
    print(f"{name}: coverage run -m {' '.join(argv[6:])} in {manifest.display(service.cwd)}; {how}", file=out)
    out.flush()
    start = processes.run_marked if refused else forking.run_forked
    try:
        status = start(
            argv, service.cwd, mark=str(scratch), timeout=service.timeout, variables=variables, log=log
        )
    except processes.TimedOut:
        raise CheckFailed(
            f"{name}: the tests ran past their time limit of {service.timeout} s (services.{name}.timeout "
            f"or settings.timeout in {manifest.display(manifest.path)}); every process of the run was "
            "ended and nothing of it was kept: the last good data is as it was. Find the test that "
            "hangs (pytest --durations, or -x -v), or raise the limit.",
            why="timeout",
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"{name}: cannot start the test process {argv[0]}: {exc}.", why="cannot start"
        ) from None
    if status == PYTEST_NO_TESTS and options.shard is not None:
        raise ConfigError(
            f"{name}: shard {options.shard.index} of {options.shard.count} selected no tests "
            f"(fewer tests than shards?). Use fewer shards (services.{name}.shards in "
            f"{manifest.display(manifest.path)}).",
            why="no tests",
        )
    if status == PYTEST_NO_TESTS:
        raise ConfigError(
            f"{name}: pytest collected no tests from {', '.join(extra or service.tests)} "
            f"(in {manifest.display(service.cwd)}). Fix services.{name}.tests in "
            f"{manifest.display(manifest.path)}, or the test selection after '--'.",
            why="no tests",
        )
    if status not in (PYTEST_OK, PYTEST_TESTS_FAILED):
        printed = log.read_text(encoding="utf-8", errors="replace")  # standard error merged in
        said = pytest_output.pytest_error(printed, printed, service.cwd)
        why = {PYTEST_INTERRUPTED: "collection error", PYTEST_USAGE: "pytest usage error"}.get(
            status, "pytest error"
        )
        # A log in the run's scratch folder goes with it: then pytest's output is the one above.
        kept = (
            manifest.display(log)
            if not log.is_relative_to(scratch)
            else os.environ.get(outcomes.LOG_VARIABLE)
        )
        whole = f"in {kept}" if kept else "above"
        raise ConfigError(
            f"{name}: pytest stopped with exit status {status} ({why}): {said}. No data was kept; "
            f"pytest's whole output is {whole}.",
            why=why,
            detail=said,
        )
    run_probe.refuse_copies(manifest, service, scratch)
    # One file, or with workers one per process (raw.<host>.<pid>.<random>). A process
    # killed before or while saving leaves none, or one with nothing usable: left out, as
    # coverage.py's own combine leaves it out, counted and said, not the whole run refused.
    written: list[Path] = []
    lost: list[Path] = []
    for path in sorted(scratch.glob("raw*")):
        (lost if coverage_internals.unusable(path) else written).append(path)
    processes_unsaved = unsaved.count(scratch / unsaved.LOG_NAME, written, lost)
    if processes_unsaved:
        print(f"{name}: {unsaved.said(processes_unsaved)}.", file=out)
    run_probe.require_live(manifest, service, written, scratch, chosen.config, passed=status == PYTEST_OK)
    datafiles.add_unrun(written[0], coverage_internals.finder_skipped(chosen.config))
    return Executed(status=status, written=written, processes_unsaved=processes_unsaved)


def _run_variables(manifest: Manifest, service: Service, scratch: Path) -> dict[str, str]:
    """The test process's variables: its service's environment and own variables, and the
    kit's import probe (its module in the scratch folder, first on PYTHONPATH)."""
    variables = {**environments.variables(service.name), **dict(service.env)}
    variables.update(run_probe.prepare(manifest, scratch))
    inherited = variables.get("PYTHONPATH", os.environ.get("PYTHONPATH", ""))
    variables["PYTHONPATH"] = os.pathsep.join(filter(None, [str(scratch), inherited]))
    return variables


def _keep(
    manifest: Manifest, service: Service, ran: Executed, *, sliced: bool, shard: Shard | None
) -> RunResult:
    """Put the run's data where it belongs without losing the last good data."""
    status = ran.status
    target = service_file(manifest, service.name, shard)
    if sliced:
        keep_at, combined = manifest.data_dir / SLICES_DIR / target.name, False
    else:
        # Data of the service split another way (or not at all) no longer belongs with this
        # run, whether it passed or not: combine must not fall back on an older layout's
        # figures when this run failed. Set aside, not deleted.
        other_layouts = [
            path
            for found, path in shard_files(manifest, service.name).items()
            if shard is None or found.count != shard.count
        ]
        unsharded = service_file(manifest, service.name)
        if shard is not None and unsharded.exists():
            other_layouts.append(unsharded)
        datafiles.retire(manifest, other_layouts)
        if status == PYTEST_OK:
            keep_at, combined = target, True
        else:
            keep_at, combined = manifest.data_dir / FAILED_DIR / target.name, False
            if target.exists():
                # Stale figures must not reach combine, but the last good data is not deleted.
                datafiles.retire(manifest, [target])
    datafiles.relocate(
        ran.written,
        keep_at,
        datafiles.project_relative(manifest.project_dir, service.cwd),
        service=service.name,
        project_dir=manifest.project_dir,
        # What else decides its figures: data measured with other settings goes stale too.
        settings_entries={
            **freshness.settings_digests(settings.figure_settings(manifest, service)),
            **run_inputs.entries(manifest, service),  # its tests and configuration
            **measured_with.recorded_entries(manifest, service),  # its install list, versions
        },
        processes_unsaved=ran.processes_unsaved,
    )
    if not sliced:
        # The combined file no longer matches the services' data: keep it aside, so that
        # report and gate cannot show figures from before this run.
        datafiles.retire_combined(manifest)
    if combined:
        # A passing run supersedes the record of an earlier failure.
        (manifest.data_dir / FAILED_DIR / target.name).unlink(missing_ok=True)
    exit_code = EXIT_OK if status == PYTEST_OK else EXIT_FAILED
    return RunResult(
        service=service.name,
        exit_code=exit_code,
        data_file=keep_at,
        combined=combined,
        processes_unsaved=ran.processes_unsaved,
    )


def outcome_message(manifest: Manifest, result: RunResult) -> str:
    shown = manifest.display(result.data_file)
    if result.exit_code != EXIT_OK:
        return (
            f"{result.service}: tests FAILED; this run's data is kept at {shown} and will not be "
            "combined. Fix the failing tests and run the session again."
        )
    if not result.combined:
        return f"{result.service}: slice run; data kept at {shown}, not used by combine."
    return f"{result.service}: data written to {shown}."


def raise_for(result: RunResult) -> None:
    if result.exit_code == EXIT_FAILED:
        raise CheckFailed(
            f"{result.service}: the service's tests failed (see pytest's output above).",
            detail="; ".join(result.failures),
        )
