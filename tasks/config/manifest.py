"""The service manifest (configs/services.toml) as frozen dataclasses, and its vocabulary.

Every later step reads the services from here; nothing else keeps a list of them.
`loader.load` builds one from the file, with errors that name the file, the line and the
key, and suggest the closest valid name.
"""

from __future__ import annotations

import datetime
import difflib
import functools
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError

DEFAULT_MANIFEST = Path("configs/services.toml")

# A service name becomes a nox session name, a coverage context and a file name, so it
# is kept to characters that are safe in all three (no dots: they separate shard numbers).
# Long enough for any package's name (`acme-instrumentation-for-the-http-client-library`);
# a data file's name adds at most ".shard-NN-of-NN" to it.
SERVICE_NAME_LENGTH = 100
SERVICE_NAME = re.compile(rf"[A-Za-z][A-Za-z0-9_-]{{0,{SERVICE_NAME_LENGTH - 1}}}\Z")
# Names the kit uses itself inside the data directory; "total", the scope of the
# whole-suite figure in verdicts, goals and the history; "all", for nox -s coverage-all.
TOTAL = "total"
# The kit's own package (tasks/, wherever it was copied): the folder above this module's.
KIT_PACKAGE = Path(__file__).resolve().parent.parent
# Its importable name: `tasks` in the kit's own repository, `coverage_workflows` where
# `adopt` vendored it (a repository may have a `tasks` package of its own).
KIT_MODULE = __name__.split(".")[0]
# (test_manifest checks that every name config/layout.py gives a file or folder is here)
RESERVED_NAMES = {"combined", "failed", "stale", "slices", "stability", "cache", TOTAL, "all"}

TOP_KEYS = {"settings", "services", "gate", "goals", "ratchet", "maintenance", "ci"}
CI_KEYS = {"runners"}
SETTINGS_KEYS = {
    "root",
    "data_dir",
    "reports_dir",
    "history",
    "durations_dir",
    "editor_dir",
    "thresholds",
    "omit",
    "timeout",
    "fork_server",
    # passed on to every service (config/inherited.py)
    "install",
    "pytest_args",
    "python",
    "env",
    "extend_install",  # added to every service's list, whichever it has
}
SERVICE_KEYS = {
    "source",
    "tests",
    "working_dir",
    "pytest_args",
    "install",
    "shards",
    "thresholds",
    "components",
    "omit",
    "timeout",
    "python",
    "env",
    "extend_install",
    "extend_pytest_args",
}
MAX_TIMEOUT_S = 86_400  # a day: a longer limit is a typo, not a plan
MAX_SHARDS = 256
MAX_CI_JOBS = 256  # GitHub Actions refuses a matrix of more jobs
THRESHOLD_KEYS = {"line", "branch", "file", "changed", "changed_branch"}
GATE_KEYS = {
    "base",
    "total",
    "service",
    "file",
    "changed",
    "regression",
    "tolerance",
    "noise",
    "file_floors",
    "ignore",
    "noisy",
}
GOAL_KEYS = {"line", "branch", "by", "milestones"}
RATCHET_KEYS = {"margin", "pyproject"}
POLICIES = ("total", "service", "file", "changed", "regression")
MODES = ("fail", "warn", "off")
DEFAULT_CHANGED_FLOOR = 90.0  # new code is usually held to a stricter bar than old code
DEFAULT_BASE = "origin/main"
DEFAULT_HISTORY = ".coverage-history/history.db"
DEFAULT_DURATIONS = "configs/durations"  # recorded test durations, committed: shards balance on CI
DEFAULT_TOLERANCE = 2.0  # points a figure may drop below the baseline before the gate fails
DEFAULT_NOISE = 0.1  # points of change shown as "no change": rounding and timing jitter
DEFAULT_MARGIN = 1.0  # points the ratchet leaves between a figure and its new floor
NOISY_SPOT = re.compile(r"(?P<path>.+?)(?::(?P<first>\d{1,7})(?:-(?P<last>\d{1,7}))?)?\Z")
DEFAULT_RETENTION_DAYS = 30
DEFAULT_KEEP_SNAPSHOTS = 200
MAX_RETENTION_DAYS = 3650
MAX_KEEP_SNAPSHOTS = 1_000_000
MAINTENANCE_KEYS = {"retention_days", "keep_snapshots"}

# An error lists every declared service up to this many; past it, says how to list them.
LISTED_NAMES = 12


@dataclass(frozen=True, kw_only=True)
class Thresholds:
    """Floors in percent; None means no floor."""

    line: float | None = None
    branch: float | None = None
    file: float | None = None  # line floor for each file
    changed: float | None = None  # line floor for the lines a change touches
    changed_branch: float | None = None  # branch floor for the lines a change touches


@dataclass(frozen=True, kw_only=True)
class Noisy:
    """A declared flaky spot: a whole file (no lines) or some of its lines."""

    path: Path  # absolute
    lines: frozenset[int] = frozenset()  # empty: every line of the file

    def holds(self, path: Path, line: int) -> bool:
        return path == self.path and (not self.lines or line in self.lines)


@dataclass(frozen=True, kw_only=True)
class GateSettings:
    """How `gate` applies the thresholds: the base ref and each policy's mode."""

    base: str = DEFAULT_BASE
    total: str = "fail"
    service: str = "fail"
    file: str = "fail"
    changed: str = "fail"
    regression: str = "fail"
    tolerance: float = DEFAULT_TOLERANCE
    noise: float = DEFAULT_NOISE
    # (absolute path prefix, line floor), longest first: a file takes the first that holds it
    file_floors: tuple[tuple[Path, float], ...] = ()
    # absolute paths of Python files or folders that belong to no service by design
    # (tooling, scripts): changes to them are not reported as unowned
    ignore: tuple[Path, ...] = ()
    # lines (or whole files) whose coverage changes from run to run (nox -s stability):
    # the changed-line and regression policies do not count them against a change
    noisy: tuple[Noisy, ...] = ()

    def mode(self, policy: str) -> str:
        return str(getattr(self, policy))


@dataclass(frozen=True, kw_only=True)
class Goal:
    """Where a scope (a service's isolated figure, or the whole-suite total) should get to."""

    scope: str  # TOTAL or a service name
    line: float | None = None
    branch: float | None = None
    by: datetime.date | None = None
    milestones: tuple[float, ...] = ()  # line figures worth marking on the way, ascending


@dataclass(frozen=True, kw_only=True)
class RatchetSettings:
    """How `ratchet` raises floors: how far below the figure, and which pyproject.toml."""

    margin: float = DEFAULT_MARGIN
    pyproject: Path | None = None  # absolute; its [tool.coverage.report] fail_under rises too


@dataclass(frozen=True, kw_only=True)
class MaintenanceSettings:
    """What `maintenance` keeps: files younger than `retention_days`, and per branch the
    newest `keep_snapshots` snapshots of the history (baselines are always kept)."""

    retention_days: int = DEFAULT_RETENTION_DAYS
    keep_snapshots: int = DEFAULT_KEEP_SNAPSHOTS


@dataclass(frozen=True, kw_only=True)
class Service:
    """One service: where its code and tests are, and what it must reach."""

    name: str
    cwd: Path  # absolute: the service's tests run from here
    source: tuple[Path, ...]  # absolute directories (or files) holding its code
    tests: tuple[str, ...]  # as declared, relative to cwd: passed to pytest as is
    pytest_args: tuple[str, ...]
    install: tuple[str, ...]  # pip arguments for the session, run from the project directory
    thresholds: Thresholds
    shards: int = 1  # how many shards CI runs it in; with no data at all, combine names each
    timeout: int | None = None  # seconds its tests may take (its own, else settings.timeout)
    python: str | None = None  # the Python version its session runs on; None: nox's own
    env: tuple[tuple[str, str], ...] = ()  # variables for its test process, {service} expanded
    # named parts of the service (absolute files or folders in its source), for recommendations
    components: tuple[tuple[str, tuple[Path, ...]], ...] = ()
    # file patterns never measured (vendored, generated code): absolute, or starting with a wildcard
    omit: tuple[str, ...] = ()

    def component(self, path: Path) -> str | None:
        """The first declared component holding the absolute file `path`."""
        for name, paths in self.components:
            if any(path.is_relative_to(part) for part in paths):
                return name
        return None

    def owns(self, path: Path) -> bool:
        """Whether an absolute file path lies under one of this service's sources."""
        return any(path.is_relative_to(src) for src in self.source)


@dataclass(frozen=True, kw_only=True)
class Manifest:
    """The whole manifest, with every path resolved and checked."""

    path: Path
    project_dir: Path  # absolute; data and report directories are relative to it
    root: Path  # absolute; the repository being measured
    data_dir: Path
    reports_dir: Path
    history: Path  # the SQLite history store
    durations_dir: Path  # <service>.json: test durations that balance shards
    editor_dir: Path | None  # lcov.info and coverage.xml for editors (Coverage Gutters, PyCharm); None: none
    thresholds: Thresholds
    gate: GateSettings
    services: tuple[Service, ...]
    goals: tuple[Goal, ...] = ()
    ratchet: RatchetSettings = RatchetSettings()
    maintenance: MaintenanceSettings = MaintenanceSettings()
    settings_omit: tuple[str, ...] = ()  # settings.omit, resolved like a service's omit
    # [ci] runners: the most jobs CI's matrix may have; services and shards are packed into
    # them by duration. None: a job per service shard (up to GitHub's 256, then packed).
    ci_runners: int | None = None
    # Runs start as forks of a process that imported pytest and coverage.py once
    # (measure/forking.py, fork_server.py); false: each run in a new interpreter.
    fork_server: bool = True

    @property
    def omit(self) -> tuple[str, ...]:
        """Every file pattern the manifest leaves out: settings.omit and each service's. All
        runs and reports omit all of them, so that no run measures what another leaves out."""
        return (*self.settings_omit, *(pattern for service in self.services for pattern in service.omit))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(service.name for service in self.services)

    @functools.cached_property
    def _by_name(self) -> dict[str, Service]:
        return {service.name: service for service in self.services}

    @functools.cached_property
    def _by_source(self) -> dict[Path, tuple[int, Service]]:
        """Each source folder or file -> the first service (by manifest order) declaring it."""
        found: dict[Path, tuple[int, Service]] = {}
        for index, service in enumerate(self.services):
            for src in service.source:
                found.setdefault(src, (index, service))
        return found

    def service(self, name: str) -> Service:
        """The service called `name`, or a ConfigError suggesting the closest one."""
        if name in self._by_name:
            return self._by_name[name]
        hint = did_you_mean(name, self.names)
        declared = (
            f"Declared services: {', '.join(self.names)}."
            if len(self.names) <= LISTED_NAMES
            else f"{len(self.names)} services are declared; nox -s services lists them."
        )
        raise ConfigError(f"unknown service {name!r} in {self.display(self.path)}.{hint} {declared}")

    def owner(self, path: Path) -> Service | None:
        """The service whose source holds the absolute file `path`, if any (the first in the
        manifest, should sources nest). Found from the path and its parents, not by asking
        every service: combine and report ask it of every file, at hundreds of services."""
        found = [self._by_source[at] for at in (path, *path.parents) if at in self._by_source]
        return min(found, key=lambda pair: pair[0])[1] if found else None

    def owned_by_nobody(self) -> list[Path]:
        """Folders and files that hold no service's source on purpose: every service's test
        paths, `gate.ignore`, the repository's noxfile.py, and the kit's own files (its
        package and its noxfile, vendored into the repository or not). Any other Python file
        under the root should have an owner."""
        tests = [(s.cwd / t).resolve() for s in self.services for t in s.tests]
        # The repository's noxfile.py is nobody's source either: its sessions are tooling.
        return [*self.gate.ignore, *tests, *self.kit_paths(), self.root / "noxfile.py"]

    def kit_paths(self) -> list[Path]:
        """The kit's own files and folders: its package and its noxfile, and, vendored into
        the repository it measures, the whole folder that holds them."""
        kit = [KIT_PACKAGE, KIT_PACKAGE.parent / "noxfile.py"]
        if not self.root.is_relative_to(KIT_PACKAGE.parent):
            kit.append(KIT_PACKAGE.parent)  # vendored: its folder holds nothing but the kit's files
        return kit

    def display(self, path: Path) -> str:
        """A path as the user wrote it: relative to the project when inside it."""
        try:
            return path.relative_to(self.project_dir).as_posix()
        except ValueError:
            return str(path)


def did_you_mean(word: str, choices: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.5)
    return f" Did you mean {close[0]!r}?" if close else ""
