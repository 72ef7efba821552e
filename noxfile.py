"""Nox sessions for per-service coverage: generated from configs/services.toml.

Thin on purpose: each session delegates to `python -m tasks`, in an environment shared by
every session that needs the same packages on the same Python (built once, by a session
that they require).
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import importlib
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nox
import nox.command
import nox.registry

HERE = Path(__file__).resolve().parent  # the kit's folder: the project its manifest is in
# The kit's package: `tasks` in the kit's repository; where `adopt` vendored the kit into
# another repository, which may have a `tasks` of its own, `coverage_workflows`.
VENDORED_PACKAGE = "coverage_workflows"
KIT = VENDORED_PACKAGE if (HERE / VENDORED_PACKAGE / "__main__.py").is_file() else "tasks"
# A repository's own noxfile.py runs this file under this name (the include `adopt` adds,
# docs/adopting.md): its sessions are joined to that noxfile's, whose options stay its own.
INCLUDE_NAME = "coverage_workflows_include"
INCLUDED = __name__ == INCLUDE_NAME
sys.path.insert(0, str(HERE))  # nox imports this file without its folder

if TYPE_CHECKING:
    from tasks.config import loader
    from tasks.config import manifest as manifest_module
    from tasks.errors import EXIT_FAILED, MEANINGS, KitError
    from tasks.measure import environments, outcomes
else:
    loader = importlib.import_module(f"{KIT}.config.loader")
    manifest_module = importlib.import_module(f"{KIT}.config.manifest")
    environments = importlib.import_module(f"{KIT}.measure.environments")
    outcomes = importlib.import_module(f"{KIT}.measure.outcomes")
    _errors = importlib.import_module(f"{KIT}.errors")
    MEANINGS, KitError, EXIT_FAILED = _errors.MEANINGS, _errors.KitError, _errors.EXIT_FAILED

nox.needs_version = ">=2026.8.10"  # allow_parallel= on sessions
if INCLUDED:
    # nox checks the version the noxfile it loads asks for; the kit's, included, asks here.
    from importlib.metadata import version

    from packaging.specifiers import SpecifierSet

    if not SpecifierSet(nox.needs_version).contains(version("nox"), prereleases=True):
        sys.stderr.write(f"nox: error: coverage-workflows needs nox{nox.needs_version}: pip install -U nox\n")
        raise SystemExit(2)
    # The backend the including noxfile (or NOX_DEFAULT_VENV_BACKEND) chose, else uv where
    # it is installed. (nox.options holds nox's default, "virtualenv", when none was chosen.)
    _provenance = getattr(nox.options, "provenance", None)
    _chosen = _provenance is not None and _provenance("default_venv_backend").name != "DEFAULT"
    BACKEND: str | None = os.environ.get("NOX_DEFAULT_VENV_BACKEND") or (
        nox.options.default_venv_backend if _chosen else "uv|virtualenv"
    )
else:
    nox.options.default_venv_backend = "uv|virtualenv"
    nox.options.error_on_missing_interpreters = False
    BACKEND = None  # the default above, or the one given on nox's command line

# The kit's own dependency groups, beside this file: never the measured repository's.
PYPROJECT = nox.project.load_toml(HERE / "pyproject.toml")
COVERAGE_DEPS = nox.project.dependency_groups(PYPROJECT, "coverage")
UPKEEP_DEPS = nox.project.dependency_groups(PYPROJECT, "upkeep")  # packaging and nox besides

try:
    MANIFEST = loader.load(project_dir=HERE)
except KitError as exc:
    # A broken manifest must read as one clear line, not a traceback from nox's loader.
    sys.stderr.write(f"nox: error: {exc.message}\n")
    raise SystemExit(exc.exit_code) from None


# Exit codes of `python -m tasks` that mean nothing downstream can work (docs/exit-codes.md).
STOP_CODES = MEANINGS
STARTED = time.time()  # the service runs that ended since are this nox run's
_stopped: list[int] = []  # the exit code a session stopped nox with


def _tasks(
    session: nox.Session,
    *args: str,
    environment: Built | None = None,
    per_service: bool = False,
    variables: dict[str, str] | None = None,
) -> None:
    """Run `python -m tasks ARGS` (in `environment` when given), keeping its exit code 2, 3
    or 4 as nox's own.

    nox reports every failed session as exit 1; CI needs to tell a failed gate (1) from
    a broken setup (2), missing data (3) or a full disk (4), so those stop nox with the same
    code. Not so a run of services (`per_service`): one service's failure stays with it, the
    other sessions go on, and nox ends with a table of the failed runs and the worst code.
    """
    env = {**(environment.variables if environment else {}), **(variables or {})}
    try:
        # The kit runs in its own folder, whose manifest it reads; included, nox runs in the
        # including noxfile's folder.
        with _in_kit_folder(session):
            if environment is None:
                session.run("python", "-m", KIT, *args, env=env)
            else:
                session.run(environment.python, "-m", KIT, *args, env=env, external=True)
    except nox.command.CommandFailed as exc:
        if exc.return_code in STOP_CODES and not per_service:
            session.log(f"stopping with exit {exc.return_code}: {STOP_CODES[exc.return_code]}")
            _stopped.append(exc.return_code)
            raise SystemExit(exc.return_code) from None
        raise


def _end_table() -> None:
    """At the end of a nox run in which a service's run failed: one table of the runs, and
    the worst exit status as nox's (docs/exit-codes.md), where nox would say 1."""
    ended = outcomes.since(MANIFEST.data_dir, STARTED)
    failed = [o for o in ended if o.failed]
    if not failed:
        return
    sys.stdout.flush()
    sys.stderr.write("\ncoverage-workflows: " + "\n".join(outcomes.table(ended)) + "\n")
    if _side_by_side() and any(o.exit_code == EXIT_FAILED for o in failed):
        # coverage-all runs such a service again alone by itself; nox's own parallel mode
        # cannot, so the table says how to tell a shared file from a failing test.
        sys.stderr.write(
            "These sessions ran side by side (nox --parallel): a service whose tests failed may pass "
            "alone, when its tests share a file, port or database with another's. Run it alone "
            "(the command above), or use nox -s coverage-all, which does so by itself (docs/sharding.md).\n"
        )
    code = outcomes.worst([o.exit_code for o in failed] + _stopped)
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code)  # nox has ended with 1 (a failed session); an atexit hook cannot change it otherwise


def _side_by_side() -> bool:
    """Whether this nox runs sessions in parallel (-j N, --parallel N, NOX_PARALLEL)."""
    argv = sys.argv[1:]
    given = os.environ.get("NOX_PARALLEL", "")
    for index, arg in enumerate(argv):
        if arg in ("-j", "--parallel") and index + 1 < len(argv):
            given = argv[index + 1]
        elif arg.startswith("--parallel="):
            given = arg.partition("=")[2]
        elif arg.startswith("-j") and len(arg) > 2:
            given = arg[2:]
    return given not in ("", "0", "1")


# In nox's parallel mode each session runs in a child nox; the parent prints the table.
if "--parallel-worker" not in sys.argv:
    atexit.register(_end_table)


def _in_kit_folder(session: nox.Session) -> contextlib.AbstractContextManager[object]:
    """Where the kit's commands and the manifest's `install` lists run: its own folder."""
    return session.chdir(HERE) if Path.cwd().resolve() != HERE else contextlib.nullcontext()


def _define(func: Callable[[nox.Session], None], *, name: str | None = None, **options: Any) -> None:
    """Register one of the kit's sessions; included, never over a session of the including
    noxfile (nox would replace it): that one stays, and the kit's is left out, saying so."""
    name = name or func.__name__
    if INCLUDED and name in nox.registry.get():
        sys.stderr.write(
            f"coverage-workflows: noxfile.py already has a session named {name!r}; the kit's "
            f"{name} is left out. Rename yours to have both (docs/adopting.md).\n"
        )
        return
    if INCLUDED:
        options["default"] = False  # a plain `nox` runs what the including noxfile chose, as before
    nox.session(name=name, **options)(func)


# -- one environment per Python and install lists --------------------------------------------
#
# Services that run on the same Python and install the same packages share one environment,
# built by a session of its own that nox runs once, before any session that `requires` it
# and alone, even under --parallel: each environment is built once, and never by two runs
# at the same time. The sessions that use it make none of their own.
ENV_RECORDS = "coverage-workflows-envs"  # in nox's shared cache folder: where each one's bin is
# (the Python version, None for nox's own; the `install` lists, each one pip install)
Environment = tuple[str | None, tuple[tuple[str, ...], ...]]


@dataclass(frozen=True)
class Built:
    """An environment its session built, as a session that runs in it needs it."""

    python: str  # its interpreter, as nox's log shows it (relative to the project when inside)
    # The variables a virtualenv's activation sets: its bin first on PATH, so that the
    # programs the tests start (python, console scripts of its packages) are its own.
    variables: dict[str, str]


def _environment_name(key: Environment) -> str:
    if key == (None, ()):
        return "shared-env"
    digest = hashlib.sha256(json.dumps([key[0], [list(i) for i in key[1]]]).encode()).hexdigest()[:8]
    return f"shared-env-{digest}"


_ENVIRONMENTS: dict[Environment, str] = {}  # -> the name of the session that builds it


def _only_listing(argv: list[str]) -> bool:
    """Whether this nox lists its sessions for a person to read (`nox -l`), running none."""
    return any(arg in ("-l", "--list", "--list-sessions") for arg in argv) and "--json" not in argv


# `nox -l` shows the environment builders as one line per Python, not one per install list
# (a repository of 70 libraries has as many): they are helpers nox runs by itself. Nothing
# runs while nox lists, so the sessions' `requires` may name that line's session.
LISTING = _only_listing(sys.argv[1:])
_LISTED: dict[str | None, list[Environment]] = {}  # Python -> its environments, under `nox -l`


def _environment(python: str | None, installs: tuple[tuple[str, ...], ...]) -> str:
    """The session that builds the environment for `installs` on `python` (registered on
    first use). Each install list is one `pip install`, as in a service's own session."""
    key = (python, tuple(dict.fromkeys(i for i in installs if i)))
    if key not in _ENVIRONMENTS:
        _ENVIRONMENTS[key] = _listed_environment(key) if LISTING else _register_environment(key)
    return _ENVIRONMENTS[key]


def _listed_environment(key: Environment) -> str:
    """Under `nox -l`: the one line of the environments on the key's Python."""
    python = key[0]
    name = "shared-env" if python is None else f"shared-env-py{python}"
    if python not in _LISTED:
        _LISTED[python] = []

        def build(session: nox.Session) -> None:
            session.error("nox lists this line only: run a coverage session and nox builds what it needs")

        _define(build, name=name, python=python, default=False, tags=["environment"], venv_backend="none")
    _LISTED[python].append(key)  # each key once: _environment keeps what it returned
    count = len(_LISTED[python])
    on = f" on Python {python}" if python else ""
    listed = nox.registry.get().get(name)
    if listed is not None:  # (not where the including noxfile has a session of that name)
        listed.__doc__ = (
            f"Build the environment{on} the coverage sessions share; nox runs it for them."
            if count == 1
            else f"Build the {count} environments{on} the coverage sessions share (one per install "
            "list); nox runs each for the sessions that need it."
        )
    return name


def _install_lists(session: nox.Session, installs: tuple[tuple[str, ...], ...]) -> None:
    """Each `install` list its own pip install, as in a service's own environment: one
    service's pip options (-c, --index-url) never apply to another's packages."""
    for install in installs:
        session.install(*install)


def _register_environment(key: Environment) -> str:
    name = _environment_name(key)
    python, installs = key
    users = [s.name for s in MANIFEST.services if (s.python, (s.install,) if s.install else ()) == key]

    def build(session: nox.Session) -> None:
        record = session.cache_dir / ENV_RECORDS / name
        record.unlink(missing_ok=True)  # stays gone if this build fails: no stale interpreter
        record.parent.mkdir(parents=True, exist_ok=True)
        if session.venv_backend == "none":  # --no-venv: the sessions run the python on PATH, as it is
            record.write_text("", encoding="utf-8")
            return
        session.install(*COVERAGE_DEPS)
        try:
            with _in_kit_folder(session):  # install lists name paths relative to the kit's folder
                _install_lists(session, installs)
        except nox.command.CommandFailed:
            # Not a failure of this session: every session that requires it would be aborted,
            # coverage-all's other services too. The services that run here fail, saying why.
            because = (
                f"installing {', '.join(users) or 'its'} packages failed (nox -s {name} shows pip's error)"
            )
            record.write_text(f"{environments.UNBUILT_PREFIX}{because}", encoding="utf-8")
            session.warn(because)
            return
        record.write_text(session.bin, encoding="utf-8")

    shared_by = f"the sessions of {', '.join(users)}" if users else "the kit's sessions"
    on = f" (Python {python})" if python else ""
    build.__doc__ = f"Build the environment{on} {shared_by} run in; they require it, so nox runs it for them."
    _define(
        build,
        name=name,
        python=python,
        reuse_venv=True,
        default=False,
        tags=["environment"],
        venv_backend=BACKEND,
    )
    return name


def _bin_dir(session: nox.Session, name: str, python: str | None = None) -> str:
    """Where the environment `name` is: its bin folder ("" under --no-venv: the python on
    PATH), or why it is not there (environments.UNBUILT_PREFIX and a reason). A session that
    needs it runs only after it, so a missing record, or one whose interpreter is gone,
    means nox could not build it: no such Python here."""
    record = session.cache_dir / ENV_RECORDS / name
    bin_dir = record.read_text(encoding="utf-8") if record.exists() else None
    if bin_dir is None or (
        bin_dir
        and not bin_dir.startswith(environments.UNBUILT_PREFIX)
        and not (Path(bin_dir) / "python").exists()
    ):
        wanted = f"Python {python}" if python else "its Python"
        return (
            f"{environments.UNBUILT_PREFIX}{wanted} was not found, so its environment ({name}) was not built"
        )
    return bin_dir


def _built(session: nox.Session, name: str, python: str | None = None) -> Built | None:
    """The environment `name` built (None: the python on PATH, under --no-venv); a session
    whose Python is not here is skipped, one whose packages did not install fails."""
    bin_dir = _bin_dir(session, name, python)
    if bin_dir == "":
        return None
    if bin_dir.startswith(environments.UNBUILT_PREFIX):
        because = bin_dir.removeprefix(environments.UNBUILT_PREFIX)
        if "was not found" in because:
            session.skip(because)
        session.error(because)
    interpreter = Path(bin_dir) / "python"
    here = HERE  # where the kit runs it
    shown = interpreter.relative_to(here) if interpreter.is_relative_to(here) else interpreter
    return Built(python=str(shown), variables=environments.activation(bin_dir))


SERVICE_ENVIRONMENTS: dict[str, str] = {}  # each service's -> the session that builds its environment


def _register_service(service: manifest_module.Service) -> None:
    environment = _environment(service.python, (service.install,))
    SERVICE_ENVIRONMENTS[service.name] = environment

    def session_func(session: nox.Session) -> None:
        bin_dir = _bin_dir(session, environment, service.python)
        if bin_dir.startswith(environments.UNBUILT_PREFIX) and "was not found" not in bin_dir:
            _record_unbuilt(service.name, bin_dir.removeprefix(environments.UNBUILT_PREFIX))
        built = _built(session, environment, service.python)
        _tasks(session, "run", service.name, *session.posargs, environment=built, per_service=True)

    session_func.__doc__ = (
        f"Measure {service.name} with its own tests in their own process (args after -- go to pytest)."
    )
    # The shard count rides along as a tag so that CI's matrix (python -m tasks matrix) comes
    # from `nox --json -l` alone.
    tags = ["coverage", *([f"shards-{service.shards}"] if service.shards > 1 else [])]
    # Runs write separate files and keep their scratch apart: safe under nox --parallel.
    _define(
        session_func,
        name=f"coverage-{service.name}",
        tags=tags,
        default=True,
        allow_parallel=True,
        venv_backend="none",  # it runs in the environment its `requires` built
        requires=[environment],
    )


for _service in MANIFEST.services:
    _register_service(_service)

# The Python every service runs on, when they agree (None: nox's own, or they differ): the
# sessions that read the data run there too, so a snapshot records what measured.
_pythons = {service.python for service in MANIFEST.services}
COMMON_PYTHON = _pythons.pop() if len(_pythons) == 1 else None


def _record_unbuilt(service: str, because: str) -> None:
    """A service whose environment did not build failed to run: in the end table and in
    combine's notice like any other failed run."""
    outcome = outcomes.Outcome(
        service=service,
        label=service,
        exit_code=2,
        why="environment not built",
        detail=because,
        log="the output of its environment's session",
        rerun=f"nox -s coverage-{service}",
        finished=time.time(),
    )
    outcomes.record(MANIFEST.data_dir, service, outcome)


def _service_environments(session: nox.Session) -> dict[str, str]:
    """Each service's environment, for the kit's commands that run several services' tests
    (measure/environments.py): written to a file, named by the variable returned."""
    found = {name: _bin_dir(session, environment) for name, environment in SERVICE_ENVIRONMENTS.items()}
    listing = session.cache_dir / ENV_RECORDS / f"services-of-{session.name}.json"  # rewritten each time
    listing.parent.mkdir(parents=True, exist_ok=True)
    listing.write_text(json.dumps(found, indent=2), encoding="utf-8")
    return {environments.VARIABLE: str(listing)}


def _kit_runner(session: nox.Session, services: list[str]) -> Built | None:
    """The environment the kit's command itself runs in, for a command that runs these
    services (each in its own): the first of theirs that was built."""
    for name in services:
        bin_dir = _bin_dir(session, SERVICE_ENVIRONMENTS[name])
        if not bin_dir.startswith(environments.UNBUILT_PREFIX):
            return _built(session, SERVICE_ENVIRONMENTS[name])
    session.error(f"no environment of {', '.join(services)} was built; see the environments' sessions above")


def _chosen_services(session: nox.Session) -> list[str]:
    """The services named among the session's arguments, else every service."""
    named = [arg for arg in session.posargs if arg in SERVICE_ENVIRONMENTS]
    return named or list(SERVICE_ENVIRONMENTS)


def _every_service_session(name: str, doc: str, command: str) -> None:
    """A session running `python -m tasks COMMAND` over several services' tests, each in the
    environment its own coverage-<service> session uses: it requires them all."""

    def session_func(session: nox.Session) -> None:
        runner = _kit_runner(session, _chosen_services(session))
        variables = _service_environments(session)
        _tasks(session, command, *session.posargs, environment=runner, per_service=True, variables=variables)

    session_func.__doc__ = doc
    _define(
        session_func,
        name=name,
        tags=["local"],
        default=False,
        venv_backend="none",
        requires=list(dict.fromkeys(SERVICE_ENVIRONMENTS.values())),
    )


_every_service_session(
    "coverage-all",
    "Run every shard of every service here, a few at a time (-- --jobs J --workers N --shards N).",
    "run-all",
)
_every_service_session(
    "stability",
    "Run one service's tests N times; list lines covered differently (-- SERVICE --runs N).",
    "stability",
)


def _shared_session(
    name: str,
    doc: str,
    command: str,
    *,
    tags: list[str],
    default: bool,
    installs: tuple[tuple[str, ...], ...],
) -> None:
    """A session that runs `python -m tasks COMMAND` in the shared environment for `installs`."""
    environment = _environment(COMMON_PYTHON, installs)

    def session_func(session: nox.Session) -> None:
        _tasks(session, command, *session.posargs, environment=_built(session, environment, COMMON_PYTHON))

    session_func.__doc__ = doc
    _define(session_func, name=name, tags=tags, default=default, venv_backend="none", requires=[environment])


# (name, description, command, tags, in a plain `nox`, what they install besides the kit's
# dependencies): they read data only, and share the environment of services that install nothing.
SHARED_SESSIONS = [
    (
        "combine",
        "Merge every service's coverage data into one file; a service whose run failed is left out, named.",
        "combine",
        ["pipeline"],
        True,
        (),
    ),
    (
        "report",
        "Print isolated vs whole-suite coverage per service; write HTML, XML, JSON, LCOV, Markdown.",
        "report",
        ["pipeline"],
        True,
        (),
    ),
    (
        "masking",
        "Print which service's tests cover whose code, from the combined data (-- --markdown).",
        "masking",
        ["reports"],
        False,
        (),
    ),
    (
        "recommend",
        "Print where the next test buys the most (-- --top N --service NAME --markdown).",
        "recommend",
        ["reports"],
        False,
        (),
    ),
    (
        "gate",
        "Fail when coverage breaks a policy in configs/ (pass -- --base REF to compare another branch).",
        "gate",
        ["ci"],
        False,
        (),
    ),
    (
        "affected",
        "List the services a change can alter, with why; the rest keep their data (-- --base REF --json).",
        "affected",
        ["ci"],
        False,
        (),
    ),
    (
        "matrix",
        "Write the CI matrix of every service's shards from nox's listing (-- --listing F --github-output).",
        "matrix",
        ["ci"],
        False,
        (),
    ),
    (
        "baseline",
        "Record the combined figures in the history (-- --set, --status, --compare A B, --export F, ...).",
        "baseline",
        ["history"],
        False,
        (),
    ),
]
for _name, _doc, _command, _tags, _default, _installs in SHARED_SESSIONS:
    _shared_session(_name, _doc, _command, tags=_tags, default=_default, installs=_installs)


def ratchet(session: nox.Session) -> None:
    """Raise floors in the manifest and pyproject.toml to the figures minus a margin (-- --check)."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "ratchet"))
    _tasks(session, "ratchet", *session.posargs)


def maintenance(session: nox.Session) -> None:
    """Weekly upkeep: retention, history compaction, audit, tool versions, digest (-- --dry-run)."""
    session.install(*UPKEEP_DEPS)
    # First, so that an audit error (exit 1) leaves no old environment behind.
    _prune_environments(session, dry_run="--dry-run" in session.posargs)
    # The audit collects each service's tests in that service's own environment.
    _tasks(session, "maintenance", *session.posargs, variables=_service_environments(session))


def _prune_environments(session: nox.Session, *, dry_run: bool) -> None:
    """Remove the environments built for install lists the manifest no longer has (every
    change of one leaves its old environment in nox's folder)."""
    current = [arg for name in _ENVIRONMENTS.values() for arg in ("--current", name)]
    envdir = str(session.cache_dir.parent.resolve())
    _tasks(session, "prune-envs", "--envdir", envdir, *current, *(["--dry-run"] if dry_run else []))


def prune_envs(session: nox.Session) -> None:
    """Remove the kit's environments no session uses any more (-- --dry-run: say which)."""
    _prune_environments(session, dry_run="--dry-run" in session.posargs)


def audit(session: nox.Session) -> None:
    """Check the configuration for settings that bring coverage masking back."""
    session.install(*UPKEEP_DEPS)
    # It collects each service's tests in that service's own environment.
    _tasks(session, "audit", *session.posargs, variables=_service_environments(session))


def collect(session: nox.Session) -> None:
    """Collect each service's tests in its own environment, naming the setting behind a failure."""
    session.install(*UPKEEP_DEPS)
    _tasks(session, "collect", *session.posargs, variables=_service_environments(session))


EVERY_ENVIRONMENT = list(dict.fromkeys(SERVICE_ENVIRONMENTS.values()))
_define(ratchet, default=False, tags=["history"], venv_backend=BACKEND)
# In the Python nox runs on: the kit needs nothing installed to list and remove folders.
_define(prune_envs, name="prune-envs", default=False, tags=["upkeep"], venv_backend="none")
# On the Python the services share (nox's own where they differ): a snapshot records it.
for _upkeep in (maintenance, audit, collect):
    _define(
        _upkeep,
        default=False,
        tags=["upkeep"],
        venv_backend=BACKEND,
        python=COMMON_PYTHON,
        requires=EVERY_ENVIRONMENT,
    )


if not INCLUDED and KIT == "tasks":

    @nox.session(default=False, tags=["adopt"])
    def adopt(session: nox.Session) -> None:
        """Set the kit up in another repository (-- PATH [--upgrade] [--force]; docs/adopting.md)."""
        session.install(*UPKEEP_DEPS)
        # PATH is relative to where nox was started, which need not be this folder.
        variables = {"COVERAGE_WORKFLOWS_INVOKED_FROM": session.invoked_from}
        # adopt's check starts nox in the repository: with the uv this nox found (this
        # environment has none), its environments build as fast as the user's will.
        import nox.virtualenv

        if nox.virtualenv.HAS_UV:
            variables["UV"] = nox.virtualenv.UV
        session.run("python", "-m", KIT, "adopt", *session.posargs, env=variables)


# The kit's own development sessions (tests, tests-floor, lint, bench, bench_cores) live in
# the kit's repository only: copied into another repository, this file defines none of them.
if (Path(__file__).parent / "noxfile_development.py").is_file():
    import noxfile_development

    noxfile_development.register(PYPROJECT, COVERAGE_DEPS)


if __name__ == "__main__":
    nox.main()
