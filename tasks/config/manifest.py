"""Load and validate the service manifest (configs/services.toml) into frozen dataclasses.

Every later step reads the services from here; nothing else keeps a list of them. Errors
name the file, the line and the key, and suggest the closest valid name.
"""

from __future__ import annotations

import datetime
import difflib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError

DEFAULT_MANIFEST = Path("configs/services.toml")

# A service name becomes a nox session name, a coverage context and a file name, so it
# is kept to characters that are safe in all three (no dots: they separate shard numbers).
SERVICE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,39}\Z")
# Names the kit uses itself inside the data directory; "total", the scope of the
# whole-suite figure in verdicts, goals and the history; "all", for nox -s coverage-all.
TOTAL = "total"
RESERVED_NAMES = {"combined", "failed", "stale", "slices", "stability", TOTAL, "all"}

TOP_KEYS = {"settings", "services", "gate", "goals", "ratchet", "maintenance"}
SETTINGS_KEYS = {"root", "data_dir", "reports_dir", "history", "durations_dir", "editor_dir", "thresholds"}
SERVICE_KEYS = {
    "source",
    "tests",
    "working_dir",
    "pytest_args",
    "install",
    "shards",
    "thresholds",
    "components",
}
MAX_SHARDS = 256
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
    # named parts of the service (absolute files or folders in its source), for recommendations
    components: tuple[tuple[str, tuple[Path, ...]], ...] = ()

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
    editor_dir: Path  # lcov.info and coverage.xml for editors (Coverage Gutters, PyCharm)
    thresholds: Thresholds
    gate: GateSettings
    services: tuple[Service, ...]
    goals: tuple[Goal, ...] = ()
    ratchet: RatchetSettings = RatchetSettings()
    maintenance: MaintenanceSettings = MaintenanceSettings()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(service.name for service in self.services)

    def service(self, name: str) -> Service:
        """The service called `name`, or a ConfigError suggesting the closest one."""
        for service in self.services:
            if service.name == name:
                return service
        hint = _did_you_mean(name, self.names)
        raise ConfigError(
            f"unknown service {name!r} in {self.display(self.path)}.{hint} "
            f"Declared services: {', '.join(self.names)}."
        )

    def owner(self, path: Path) -> Service | None:
        """The service whose source holds the absolute file `path`, if any."""
        for service in self.services:
            if service.owns(path):
                return service
        return None

    def owned_by_nobody(self) -> list[Path]:
        """Folders and files that hold no service's source on purpose: every service's test
        paths and `gate.ignore`. Any other Python file under the root should have an owner."""
        tests = [(s.cwd / t).resolve() for s in self.services for t in s.tests]
        return [*self.gate.ignore, *tests]

    def display(self, path: Path) -> str:
        """A path as the user wrote it: relative to the project when inside it."""
        try:
            return path.relative_to(self.project_dir).as_posix()
        except ValueError:
            return str(path)


def load(path: Path | str = DEFAULT_MANIFEST, project_dir: Path | None = None) -> Manifest:
    """Read, parse and validate the manifest at `path` (relative to `project_dir`)."""
    project = (project_dir or Path.cwd()).resolve()
    manifest_path = project / path
    shown = _shown(manifest_path, project)
    try:
        text = manifest_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{shown}: manifest not found. Create it (see docs/manifest.md) or pass --manifest PATH."
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{shown}: cannot read the manifest: {exc}.") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{shown}: not valid TOML: {exc}. Fix the syntax at that line "
            "(strings need quotes, lists need brackets, a table is declared once)."
        ) from None
    return _Validator(shown, text, project).manifest(manifest_path, document)


class _Validator:
    """Turns a parsed TOML document into a Manifest, or a ConfigError naming the spot."""

    def __init__(self, shown: str, text: str, project: Path) -> None:
        self.shown = shown
        self.lines = text.splitlines()
        self.project = project

    # -- errors -------------------------------------------------------------------------

    def error(self, keys: tuple[str, ...], problem: str) -> ConfigError:
        line = _locate(self.lines, keys)
        where = f"{self.shown}:{line}" if line else self.shown
        return ConfigError(f"{where}: {'.'.join(keys)}: {problem}")

    def check_keys(self, table: Mapping[str, Any], keys: tuple[str, ...], allowed: set[str]) -> None:
        for key in table:
            if key not in allowed:
                hint = _did_you_mean(key, sorted(allowed))
                valid = ", ".join(sorted(allowed))
                raise self.error((*keys, key), f"unknown key.{hint} Valid keys here: {valid}.")

    def table(self, value: object, keys: tuple[str, ...]) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            raise self.error(keys, f"expected a table, got {_kind(value)}.")
        return value

    # -- values ---------------------------------------------------------------------------

    def percent(self, value: object, keys: tuple[str, ...]) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(keys, f"expected a percentage (a number), got {_kind(value)}.")
        if not 0 <= value <= 100:
            raise self.error(keys, f"{value} is not a percentage; use a number from 0 to 100.")
        return float(value)

    def strings(self, value: object, keys: tuple[str, ...], *, allow_empty: bool) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self.error(keys, f"expected a list of strings, got {_kind(value)}.")
        if not value and not allow_empty:
            raise self.error(keys, "must name at least one path.")
        return tuple(value)

    def inside(self, raw: object, keys: tuple[str, ...], base: Path, *, must_exist: bool) -> Path:
        """Resolve a relative path under `base`, refusing anything that leaves it."""
        if not isinstance(raw, str) or not raw.strip():
            raise self.error(keys, f"expected a relative path, got {_kind(raw)}.")
        if Path(raw).is_absolute():
            raise self.error(keys, f"{raw!r} is absolute; give a path relative to {self.rel(base)}.")
        try:
            resolved = (base / raw).resolve()
            exists = resolved.exists()
        except (OSError, ValueError) as exc:
            raise self.error(keys, f"{raw!r} is not a usable path: {exc}.") from None
        if not resolved.is_relative_to(self.project):
            raise self.error(
                keys,
                f"{raw!r} resolves to {resolved}, outside the repository {self.project} "
                "(through '..' or a symbolic link). Keep every path inside the repository.",
            )
        if must_exist and not exists:
            raise self.error(keys, f"{raw!r} does not exist (looked for {self.rel(resolved)}). Fix the path.")
        return resolved

    def rel(self, path: Path) -> str:
        return _shown(path, self.project)

    def thresholds(self, value: object, keys: tuple[str, ...]) -> Thresholds:
        table = self.table(value, keys)
        self.check_keys(table, keys, THRESHOLD_KEYS)
        return Thresholds(
            **{key: self.percent(table[key], (*keys, key)) for key in THRESHOLD_KEYS if key in table}
        )

    # -- tables ---------------------------------------------------------------------------

    def manifest(self, path: Path, document: Mapping[str, Any]) -> Manifest:
        self.check_keys(document, (), TOP_KEYS)
        settings = self.table(document.get("settings", {}), ("settings",))
        self.check_keys(settings, ("settings",), SETTINGS_KEYS)
        root = self.inside(settings.get("root", "."), ("settings", "root"), self.project, must_exist=True)
        services_table = self.table(document.get("services"), ("services",)) if "services" in document else {}
        if not services_table:
            raise self.error(
                ("services",),
                "no services declared. Add a table per service, e.g. [services.api] with "
                'source = ["src/api"] and tests = ["tests/api"].',
            )
        services = tuple(self.service(name, value, root) for name, value in services_table.items())
        self.check_overlaps(services)
        folders = {}
        for key, default in (("data_dir", ".coverage-data"), ("reports_dir", "reports")):
            folder = self.inside(
                settings.get(key, default), ("settings", key), self.project, must_exist=False
            )
            if folder.exists() and not folder.is_dir():
                raise self.error(
                    ("settings", key), f"{self.rel(folder)} is a file, not a folder; choose another path."
                )
            folders[key] = folder
        history = self.inside(
            settings.get("history", DEFAULT_HISTORY), ("settings", "history"), self.project, must_exist=False
        )
        if history.is_dir():
            raise self.error(
                ("settings", "history"), f"{self.rel(history)} is a folder; name the database file in it."
            )
        durations = self.inside(
            settings.get("durations_dir", DEFAULT_DURATIONS),
            ("settings", "durations_dir"),
            self.project,
            must_exist=False,
        )
        editor_dir = self.inside(
            settings.get("editor_dir", "."), ("settings", "editor_dir"), root, must_exist=False
        )
        if editor_dir.exists() and not editor_dir.is_dir():
            raise self.error(("settings", "editor_dir"), f"{self.rel(editor_dir)} is a file, not a folder.")
        return Manifest(
            path=path,
            project_dir=self.project,
            root=root,
            data_dir=folders["data_dir"],
            reports_dir=folders["reports_dir"],
            history=history,
            durations_dir=durations,
            editor_dir=editor_dir,
            thresholds=self.thresholds(settings.get("thresholds", {}), ("settings", "thresholds")),
            gate=self.gate(document.get("gate", {}), root),
            services=services,
            goals=self.goals(document.get("goals", {}), tuple(s.name for s in services)),
            ratchet=self.ratchet(document.get("ratchet", {}), root),
            maintenance=self.maintenance(document.get("maintenance", {})),
        )

    def goals(self, value: object, names: tuple[str, ...]) -> tuple[Goal, ...]:
        table = self.table(value, ("goals",))
        goals = []
        for scope, raw in table.items():
            keys = ("goals", scope)
            if scope != TOTAL and scope not in names:
                hint = _did_you_mean(scope, [TOTAL, *names])
                raise self.error(
                    keys, f"not a service or {TOTAL!r}.{hint} Goals are set per service or for the {TOTAL}."
                )
            goal_table = self.table(raw, keys)
            self.check_keys(goal_table, keys, GOAL_KEYS)
            marks = goal_table.get("milestones", [])
            if not isinstance(marks, list):
                raise self.error(
                    (*keys, "milestones"), f"expected a list of percentages, got {_kind(marks)}."
                )
            goal = Goal(
                scope=scope,
                line=self.optional_percent(goal_table, keys, "line"),
                branch=self.optional_percent(goal_table, keys, "branch"),
                by=self.date(goal_table["by"], (*keys, "by")) if "by" in goal_table else None,
                milestones=tuple(sorted(self.percent(mark, (*keys, "milestones")) for mark in marks)),
            )
            if goal.line is None and goal.branch is None and not goal.milestones:
                raise self.error(keys, "declares nothing; give a line or branch target, or milestones.")
            goals.append(goal)
        return tuple(goals)

    def count(self, value: object, keys: tuple[str, ...], most: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
            raise self.error(keys, f"expected a whole number from 1 to {most}, got {value!r}.")
        return value

    def optional_percent(self, table: Mapping[str, Any], keys: tuple[str, ...], key: str) -> float | None:
        return self.percent(table[key], (*keys, key)) if key in table else None

    def date(self, value: object, keys: tuple[str, ...]) -> datetime.date:
        if isinstance(value, datetime.datetime):
            raise self.error(keys, "give a date without a time, e.g. 2027-06-30.")
        if isinstance(value, datetime.date):
            return value
        if isinstance(value, str):
            try:
                return datetime.date.fromisoformat(value)
            except ValueError:
                pass
        raise self.error(keys, f"expected a date such as 2027-06-30, got {_kind(value)}.")

    def points(self, value: object, keys: tuple[str, ...], default: float) -> float:
        """A number of percentage points, 0 to 100."""
        return default if value is None else self.percent(value, keys)

    def ratchet(self, value: object, root: Path) -> RatchetSettings:
        keys = ("ratchet",)
        table = self.table(value, keys)
        self.check_keys(table, keys, RATCHET_KEYS)
        pyproject: Path | None = root / "pyproject.toml"
        if "pyproject" in table:
            pyproject = self.inside(table["pyproject"], (*keys, "pyproject"), root, must_exist=True)
        elif pyproject is not None and not pyproject.is_file():
            pyproject = None
        return RatchetSettings(
            margin=self.points(table.get("margin"), (*keys, "margin"), DEFAULT_MARGIN), pyproject=pyproject
        )

    def maintenance(self, value: object) -> MaintenanceSettings:
        keys = ("maintenance",)
        table = self.table(value, keys)
        self.check_keys(table, keys, MAINTENANCE_KEYS)
        return MaintenanceSettings(
            retention_days=self.count(
                table.get("retention_days", DEFAULT_RETENTION_DAYS),
                (*keys, "retention_days"),
                MAX_RETENTION_DAYS,
            ),
            keep_snapshots=self.count(
                table.get("keep_snapshots", DEFAULT_KEEP_SNAPSHOTS),
                (*keys, "keep_snapshots"),
                MAX_KEEP_SNAPSHOTS,
            ),
        )

    def gate(self, value: object, root: Path) -> GateSettings:
        keys = ("gate",)
        table = self.table(value, keys)
        self.check_keys(table, keys, GATE_KEYS)
        modes = {}
        for policy in POLICIES:
            mode = table.get(policy, "fail")
            if mode not in MODES:
                raise self.error((*keys, policy), f"{mode!r} is not a mode; use one of {', '.join(MODES)}.")
            modes[policy] = mode
        base = table.get("base", DEFAULT_BASE)
        if not isinstance(base, str) or not base or base.startswith("-"):
            raise self.error((*keys, "base"), 'expected a git ref such as "origin/main".')
        floors_table = self.table(table.get("file_floors", {}), (*keys, "file_floors"))
        floors = [
            (
                self.inside(prefix, (*keys, "file_floors", prefix), root, must_exist=True),
                self.percent(floor, (*keys, "file_floors", prefix)),
            )
            for prefix, floor in floors_table.items()
        ]
        floors.sort(key=lambda item: len(item[0].parts), reverse=True)
        ignore = tuple(
            self.inside(raw, (*keys, "ignore"), root, must_exist=False)
            for raw in self.strings(table.get("ignore", []), (*keys, "ignore"), allow_empty=True)
        )
        noisy = tuple(
            self.noisy(raw, (*keys, "noisy"), root)
            for raw in self.strings(table.get("noisy", []), (*keys, "noisy"), allow_empty=True)
        )
        tolerance = self.points(table.get("tolerance"), (*keys, "tolerance"), DEFAULT_TOLERANCE)
        noise = self.points(table.get("noise"), (*keys, "noise"), DEFAULT_NOISE)
        if noise > tolerance:
            raise self.error(
                (*keys, "noise"),
                f"{noise:g} is wider than the tolerance {tolerance:g}; the noise band must fit inside it.",
            )
        return GateSettings(
            base=base,
            file_floors=tuple(floors),
            ignore=ignore,
            noisy=noisy,
            tolerance=tolerance,
            noise=noise,
            **modes,
        )

    def noisy(self, raw: str, keys: tuple[str, ...], root: Path) -> Noisy:
        """ "path", "path:LINE" or "path:FIRST-LAST", the path relative to the root."""
        match = NOISY_SPOT.match(raw)
        if match is None:
            raise self.error(keys, f'{raw!r}: expected "path", "path:LINE" or "path:FIRST-LAST".')
        # A file that is gone is no error: deleting flaky code must not break every session.
        path = self.inside(match["path"], keys, root, must_exist=False)
        if path.exists() and not path.is_file():
            raise self.error(keys, f"{raw!r}: {self.rel(path)} is not a file; name a source file.")
        if match["first"] is None:
            return Noisy(path=path)
        first = int(match["first"])
        last = int(match["last"] or first)
        if not 1 <= first <= last:
            raise self.error(keys, f"{raw!r}: lines count from 1, and a range runs from low to high.")
        return Noisy(path=path, lines=frozenset(range(first, last + 1)))

    def service(self, name: str, value: object, root: Path) -> Service:
        keys = ("services", name)
        if name.lower() in RESERVED_NAMES:
            raise self.error(
                keys,
                f"{name!r} is reserved for the kit's own files and scopes "
                f"({', '.join(sorted(RESERVED_NAMES))}); rename the service.",
            )
        if not SERVICE_NAME.match(name):
            raise self.error(
                keys,
                "not a usable service name: it becomes a nox session, a coverage context and "
                "a file name, so use a letter then letters, digits, '-' or '_' (at most 40).",
            )
        table = self.table(value, keys)
        self.check_keys(table, keys, SERVICE_KEYS)
        for required in ("source", "tests"):
            if required not in table:
                raise self.error(
                    (*keys, required), "missing; every service declares its source and tests paths."
                )
        cwd = self.inside(table.get("working_dir", "."), (*keys, "working_dir"), root, must_exist=True)
        source = []
        for raw in self.strings(table["source"], (*keys, "source"), allow_empty=False):
            folder = self.inside(raw, (*keys, "source"), cwd, must_exist=True)
            if not folder.is_dir():
                raise self.error(
                    (*keys, "source"), f"{raw!r} is a file; give the folder that holds the service's code."
                )
            source.append(folder)
        tests = self.strings(table["tests"], (*keys, "tests"), allow_empty=False)
        for raw in tests:
            self.inside(raw, (*keys, "tests"), cwd, must_exist=True)
        return Service(
            name=name,
            cwd=cwd,
            source=tuple(source),
            tests=tests,
            pytest_args=self.strings(table.get("pytest_args", []), (*keys, "pytest_args"), allow_empty=True),
            install=self.strings(table.get("install", []), (*keys, "install"), allow_empty=True),
            shards=self.count(table.get("shards", 1), (*keys, "shards"), MAX_SHARDS),
            thresholds=self.thresholds(table.get("thresholds", {}), (*keys, "thresholds")),
            components=self.components(table.get("components", {}), (*keys, "components"), cwd, source),
        )

    def components(
        self, value: object, keys: tuple[str, ...], cwd: Path, source: list[Path]
    ) -> tuple[tuple[str, tuple[Path, ...]], ...]:
        """Named parts of a service: files or folders inside its own source."""
        table = self.table(value, keys)
        parts = []
        for name, raw in table.items():
            paths = []
            for item in self.strings(raw, (*keys, name), allow_empty=False):
                path = self.inside(item, (*keys, name), cwd, must_exist=True)
                if not any(path.is_relative_to(src) for src in source):
                    raise self.error(
                        (*keys, name),
                        f"{item!r} is outside the service's source "
                        f"({', '.join(self.rel(s) for s in source)}); "
                        "a component is a part of its own service.",
                    )
                paths.append(path)
            parts.append((name, tuple(paths)))
        return tuple(parts)

    def check_overlaps(self, services: tuple[Service, ...]) -> None:
        """Each file must have one owner, or per-service figures would count it twice."""
        claimed: list[tuple[Path, str]] = []
        for service in services:
            for src in service.source:
                for other_src, other in claimed:
                    if src.is_relative_to(other_src) or other_src.is_relative_to(src):
                        raise self.error(
                            ("services", service.name, "source"),
                            f"{self.rel(src)} overlaps {self.rel(other_src)} of service {other!r}; "
                            "each source file must belong to exactly one service.",
                        )
                claimed.append((src, service.name))


def _did_you_mean(word: str, choices: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.5)
    return f" Did you mean {close[0]!r}?" if close else ""


def _kind(value: object) -> str:
    names = {
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        list: "a list",
        dict: "a table",
    }
    return names.get(type(value), type(value).__name__)


def _shown(path: Path, project: Path) -> str:
    try:
        return path.relative_to(project).as_posix() or "."
    except ValueError:
        return str(path)


_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")


def _split_key(dotted: str) -> tuple[str, ...]:
    return tuple(part.strip().strip("\"'") for part in dotted.split("."))


def _locate(lines: list[str], keys: tuple[str, ...]) -> int | None:
    """The 1-based line where `keys` is declared, found from the text (tomllib keeps no positions).

    Looks for the deepest table header that prefixes `keys`, then for the rest of the
    key (possibly dotted) assigned inside that table; falls back to the header's line.
    """
    table: tuple[str, ...] = ()
    best: int | None = None
    for depth in range(len(keys), -1, -1):
        prefix = keys[:depth]
        for index, line in enumerate(lines):
            match = _HEADER.match(line)
            if (match and _split_key(match.group(1)) == prefix) or (not prefix and index == 0):
                table, best = prefix, (index + 1 if prefix else None)
                break
        else:
            continue
        break
    rest = keys[len(table) :]
    if not rest:
        return best
    start = best or 0
    for index in range(start, len(lines)):
        line = lines[index]
        if index >= start and _HEADER.match(line) and index + 1 != best:
            break
        if "=" in line:
            left = line.split("=", 1)[0]
            declared = _split_key(left)
            if declared and declared == rest[: len(declared)]:
                return index + 1
    return best
