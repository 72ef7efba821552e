"""Load the service manifest (configs/services.toml): parse the TOML, then check each table
(settings, services, gate, goals, ratchet, maintenance) and the services against each other."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from . import inherited, remembered
from .manifest import (
    CI_KEYS,
    DEFAULT_BASE,
    DEFAULT_DURATIONS,
    DEFAULT_HISTORY,
    DEFAULT_KEEP_SNAPSHOTS,
    DEFAULT_MANIFEST,
    DEFAULT_MARGIN,
    DEFAULT_NOISE,
    DEFAULT_RETENTION_DAYS,
    DEFAULT_TOLERANCE,
    GATE_KEYS,
    GOAL_KEYS,
    MAINTENANCE_KEYS,
    MAX_CI_JOBS,
    MAX_KEEP_SNAPSHOTS,
    MAX_RETENTION_DAYS,
    MAX_SHARDS,
    MODES,
    NOISY_SPOT,
    POLICIES,
    RATCHET_KEYS,
    RESERVED_NAMES,
    SERVICE_KEYS,
    SERVICE_NAME,
    SERVICE_NAME_LENGTH,
    SETTINGS_KEYS,
    THRESHOLD_KEYS,
    TOP_KEYS,
    TOTAL,
    GateSettings,
    Goal,
    MaintenanceSettings,
    Manifest,
    Noisy,
    RatchetSettings,
    Service,
    Thresholds,
    did_you_mean,
)
from .values import TableReader, kind, shown_path


def load(path: Path | str = DEFAULT_MANIFEST, project_dir: Path | None = None) -> Manifest:
    """Read, parse and validate the manifest at `path` (relative to `project_dir`)."""
    project = (project_dir or Path.cwd()).resolve()
    manifest_path = project / path
    shown = shown_path(manifest_path, project)
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
    validator = _Validator(shown, text, project)
    return remembered.kept(
        (str(project), str(manifest_path), text), lambda: validator.manifest(manifest_path, document)
    )


class _Validator(TableReader):
    """Turns a parsed TOML document into a Manifest, or a ConfigError naming the spot."""

    def thresholds(self, value: object, keys: tuple[str, ...]) -> Thresholds:
        table = self.table(value, keys)
        self.check_keys(table, keys, THRESHOLD_KEYS)
        return Thresholds(
            **{key: self.percent(table[key], (*keys, key)) for key in THRESHOLD_KEYS if key in table}
        )

    def manifest(self, path: Path, document: Mapping[str, Any]) -> Manifest:
        self.check_keys(document, (), TOP_KEYS)
        settings = self.table(document.get("settings", {}), ("settings",))
        self.check_keys(settings, ("settings",), SETTINGS_KEYS)
        root = self.root(settings.get("root", "."))
        services_table = self.table(document.get("services"), ("services",)) if "services" in document else {}
        if not services_table:
            raise self.error(
                ("services",),
                "no services declared. Add a table per service, e.g. [services.api] with "
                'source = ["src/api"] and tests = ["tests/api"].',
            )
        given = inherited.defaults(self, settings)
        services = tuple(self.service(name, value, root, given) for name, value in services_table.items())
        self.check_case(services)
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
        # Editor files go into the repository only when the manifest asks (docs/editors.md).
        editor_dir = (
            self.inside(settings["editor_dir"], ("settings", "editor_dir"), root, must_exist=False)
            if "editor_dir" in settings
            else None
        )
        if editor_dir is not None and editor_dir.exists() and not editor_dir.is_dir():
            raise self.error(("settings", "editor_dir"), f"{self.rel(editor_dir)} is a file, not a folder.")
        return Manifest(
            path=path,
            # What data and reports name files relative to: the repository, also when the
            # kit lives in a folder of it (root = "..").
            project_dir=self.boundary,
            root=root,
            data_dir=folders["data_dir"],
            reports_dir=folders["reports_dir"],
            history=history,
            durations_dir=durations,
            editor_dir=editor_dir,
            settings_omit=self.patterns(settings.get("omit", []), ("settings", "omit"), root),
            thresholds=self.thresholds(settings.get("thresholds", {}), ("settings", "thresholds")),
            gate=self.gate(document.get("gate", {}), root),
            services=services,
            goals=self.goals(document.get("goals", {}), tuple(s.name for s in services)),
            ratchet=self.ratchet(document.get("ratchet", {}), root),
            maintenance=self.maintenance(document.get("maintenance", {})),
            ci_runners=self.runners(document.get("ci", {})),
            fork_server=self.flag(settings.get("fork_server", True), ("settings", "fork_server")),
        )

    def runners(self, value: object) -> int | None:
        keys = ("ci",)
        table = self.table(value, keys)
        self.check_keys(table, keys, CI_KEYS)
        return self.count(table["runners"], (*keys, "runners"), MAX_CI_JOBS) if "runners" in table else None

    def root(self, raw: object) -> Path:
        """settings.root: a folder inside the project, or the project's parent folder, where
        the kit lives in a folder of the repository it measures (`adopt` puts it in
        .coverage-workflows/, with root = ".."); that repository then bounds every path."""
        if isinstance(raw, str) and raw.strip() and not Path(raw).is_absolute():
            try:
                if (self.project / raw).resolve() == self.project.parent:
                    self.boundary = self.project.parent
            except (OSError, ValueError):
                pass  # inside() names the problem
        return self.inside(raw, ("settings", "root"), self.project, must_exist=True)

    def goals(self, value: object, names: tuple[str, ...]) -> tuple[Goal, ...]:
        table = self.table(value, ("goals",))
        goals = []
        for scope, raw in table.items():
            keys = ("goals", scope)
            if scope != TOTAL and scope not in names:
                hint = did_you_mean(scope, [TOTAL, *names])
                raise self.error(
                    keys, f"not a service or {TOTAL!r}.{hint} Goals are set per service or for the {TOTAL}."
                )
            goal_table = self.table(raw, keys)
            self.check_keys(goal_table, keys, GOAL_KEYS)
            marks = goal_table.get("milestones", [])
            if not isinstance(marks, list):
                raise self.error((*keys, "milestones"), f"expected a list of percentages, got {kind(marks)}.")
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

    def service(self, name: str, value: object, root: Path, given: inherited.Defaults) -> Service:
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
                "not a usable service name: it becomes a nox session, a coverage context and a file "
                f"name, so use a letter then letters, digits, '-' or '_' (at most {SERVICE_NAME_LENGTH}).",
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
        own = inherited.inherit(self, table, keys, given)
        return Service(
            name=name,
            cwd=cwd,
            source=tuple(source),
            tests=tests,
            pytest_args=own.pytest_args,
            install=own.install,
            python=own.python,
            env=own.env,
            shards=self.count(table.get("shards", 1), (*keys, "shards"), MAX_SHARDS),
            timeout=own.timeout,
            thresholds=self.thresholds(table.get("thresholds", {}), (*keys, "thresholds")),
            components=self.components(table.get("components", {}), (*keys, "components"), cwd, source),
            omit=self.patterns(table.get("omit", []), (*keys, "omit"), cwd),
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

    def check_case(self, services: tuple[Service, ...]) -> None:
        """Names that differ only in case would share files on a case-insensitive disk."""
        seen: dict[str, str] = {}
        for service in services:
            other = seen.setdefault(service.name.lower(), service.name)
            if other != service.name:
                raise self.error(
                    ("services", service.name),
                    f"differs from service {other!r} only in case; on a case-insensitive file system "
                    "their data files would be one. Rename one of them.",
                )

    def check_overlaps(self, services: tuple[Service, ...]) -> None:
        """Each file must have one owner, or per-service figures would count it twice."""
        # Linear in the sources, not in their pairs (a thousand services load in well under a
        # second): a source clashes with a claimed one at or above it, or with one below it.
        claimed: dict[Path, str] = {}  # each source -> its service
        below: dict[Path, Path] = {}  # every folder above a claimed source -> one such source
        for service in services:
            for src in service.source:
                other_src = next((at for at in (src, *src.parents) if at in claimed), below.get(src))
                if other_src is not None:
                    raise self.error(
                        ("services", service.name, "source"),
                        f"{self.rel(src)} overlaps {self.rel(other_src)} of service {claimed[other_src]!r}; "
                        "each source file must belong to exactly one service.",
                    )
                claimed[src] = service.name
                for parent in src.parents:
                    below.setdefault(parent, src)
