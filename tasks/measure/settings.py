"""The coverage.py settings of a run and of a report: the project's own configuration, found
as coverage.py finds it, with only what isolation needs set by the kit (docs/manifest.md).

A service's run reads the configuration of its working directory, or else of the root; a
report reads the root's. Exclusions, partial branches, omit, plugins, concurrency and the
rest of the project's settings are kept, so the kit counts what the project's own
`coverage run` would count.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coverage.files import GlobMatcher, prep_patterns

from ..config.manifest import Manifest, Service
from ..errors import ConfigError
from . import coverage_internals, unsaved

# Kept, with what the kit adds to them: every process the tests start is measured, programs
# they launch (patch = subprocess), children of os.fork() (fork) and processes that end with
# os._exit (_exit), and multiprocessing workers, forked or spawned.
RUN_PATCHES = ("subprocess", "fork", "_exit")
RUN_ADDITIONS = {"concurrency": "multiprocessing"}
# Services that import nothing of another service are normal here.
QUIET = ("module-not-imported", "module-not-measured")
# Whose difference between a service's configuration and the root's changes a figure in a
# report, which counts every service in one pass.
EXCLUSIONS = ("exclude_list", "partial_list", "partial_always_list")


@dataclass(frozen=True, kw_only=True)
class Settings:
    """A configuration ready for coverage.py, and where it came from."""

    config: Any  # coverage.py's CoverageConfig
    found: tuple[Path, ...]  # the project's files it was read from; () for coverage.py's defaults
    overridden: tuple[str, ...]  # the project's own settings the kit replaced

    @property
    def argument(self) -> str:
        """For `Coverage(config_file=)`, without a file."""
        return coverage_internals.as_argument(self.config)

    def write(self, path: Path) -> Path:
        """As a file, for `coverage run --rcfile=`: multiprocessing workers read the settings
        from the file the run was started with."""
        coverage_internals.write_config(self.config, path)
        return path

    def describe(self, manifest: Manifest) -> str:
        """One line: which configuration, and which of its settings the kit overrides."""
        if not self.found:
            return "no coverage.py configuration of the project's; coverage.py's defaults"
        files = ", ".join(manifest.display(path) for path in self.found)
        replaced = ", ".join(self.overridden) if self.overridden else "none of its settings"
        return f"coverage.py settings from {files}; the kit overrides {replaced} (docs/manifest.md)"


def _service_project(manifest: Manifest, service: Service) -> tuple[Path, Any, tuple[Path, ...]]:
    """Where coverage.py would find the service's configuration (its working directory if
    one is there, else the root), the configuration, and the file it came from."""
    config, found = _project(service.cwd)
    if found or service.cwd == manifest.root:
        return service.cwd, config, found
    return manifest.root, *_project(manifest.root)


def _project(folder: Path) -> tuple[Any, tuple[Path, ...]]:
    try:
        config = coverage_internals.read_config(folder)
    except Exception as exc:  # coverage.py's ConfigError, or a TOML or INI parse error
        raise ConfigError(
            f"{folder}: coverage.py cannot read the project's configuration: {exc}. Fix that file "
            "(coverage.py itself would stop on it too)."
        ) from None
    used = coverage_internals.file_used(config)
    return config, (used,) if used else ()


def _default(attribute: str) -> Any:
    return getattr(coverage_internals.default_config(), attribute)


def _set(config: Any, option: str, attribute: str, value: Any, overridden: list[str]) -> None:
    if getattr(config, attribute) not in (value, _default(attribute)):
        overridden.append(option.split(":", 1)[1])
    config.set_option(option, value)


def run_settings(
    manifest: Manifest, service: Service, data_file: Path, *, per_test: bool = False
) -> Settings:
    """The configuration of one service's run: the project's, with the kit's overrides.

    coverage.py's patches measure every Python process the run starts (pytest-xdist
    workers, programs the tests launch, multiprocessing workers forked or spawned) with
    these same settings; always, so that a run with workers and one without measure the
    same code. `per_test` adds each test's name to the context (for `stability`); it costs
    time in proportion to tests x files.
    """
    folder, config, found = _service_project(manifest, service)
    # What isolation needs, whatever the project says (docs/manifest.md has the why of each):
    # every service's sources under the service's context, a data file per process, branches.
    overridden: list[str] = []
    sources = [str(src) for other in manifest.services for src in other.source]
    # And the run's own folder, where the kit's pytest plugin is: its sentinel proves the
    # measurement live (run_probe.py); it is taken out of the data before it is kept.
    _set(config, "run:source", "source", [*sources, str(data_file.parent)], overridden)
    for option, attribute in (
        ("run:source_pkgs", "source_pkgs"),
        ("run:source_dirs", "source_dirs"),
        ("run:include", "run_include"),
    ):
        _set(config, option, attribute, [], overridden)
    _set(config, "run:data_file", "data_file", str(data_file), overridden)
    _set(config, "run:context", "context", service.name, overridden)
    _set(config, "run:parallel", "parallel", True, overridden)
    _set(config, "run:branch", "branch", True, overridden)
    config.set_option("run:patch", sorted({*(config.patch or []), *RUN_PATCHES}))
    # coverage.py measures threads unless told otherwise; multiprocessing joins what is there.
    concurrency = config.concurrency or ["thread"]
    config.set_option("run:concurrency", sorted({*concurrency, RUN_ADDITIONS["concurrency"]}))
    config.set_option("run:disable_warnings", sorted({*(config.disable_warnings or []), *QUIET}))
    # Which processes started measuring, for those that end without saving (unsaved.py).
    config.set_option("run:debug", sorted({*(config.debug or []), *unsaved.DEBUG_OPTIONS}))
    _set(config, "run:debug_file", "debug_file", str(data_file.parent / unsaved.LOG_NAME), overridden)
    config.set_option(
        "run:omit", [*coverage_internals.absolute_patterns(config.run_omit, folder), *manifest.omit]
    )
    # The service's label is the whole context, which every figure selects by: the project's
    # own dynamic contexts (test_function, say) would split it. stability's per-test contexts
    # are the kit's, read apart (analysis.split_context).
    _set(config, "run:dynamic_context", "dynamic_context", "test_function" if per_test else None, overridden)
    # Files never imported still count (as 0%), in namespace packages too.
    config.set_option("report:include_namespace_packages", True)
    return Settings(config=config, found=found, overridden=tuple(overridden))


def report_settings(manifest: Manifest, data_file: Path) -> Settings:
    """The configuration of reports on `data_file` (paths relative to the project): the
    root's, with the data's own paths, the manifest's omit, and errors never skipped."""
    folder = manifest.root
    config, found = _project(folder)
    own = _own_configurations(manifest)  # read once, for both uses
    _check_exclusions(manifest, config, found, own)
    config.set_option("run:data_file", str(data_file))
    config.set_option("run:relative_files", True)
    config.set_option("paths", {})  # the kit maps every path itself, once, when a run ends
    config.set_option("report:ignore_errors", False)
    config.set_option("report:include_namespace_packages", True)
    omit = [
        *coverage_internals.absolute_patterns(config.report_omit, folder),
        *coverage_internals.absolute_patterns(config.run_omit, folder),
        *manifest.omit,
    ]
    config.set_option("report:omit", [*_as_recorded(omit, manifest), *_left_out_by_services(manifest, own)])
    if config.report_include:
        include = coverage_internals.absolute_patterns(config.report_include, folder)
        config.set_option("report:include", _as_recorded(include, manifest))
    return Settings(config=config, found=found, overridden=())


def _as_recorded(patterns: list[str], manifest: Manifest) -> list[str]:
    """Patterns written to match the data's paths, which are relative to the project:
    coverage.py's reporters match each pattern against the recorded path, after making any
    that does not start with a wildcard absolute, which then never matches. An absolute
    pattern inside the project becomes `*/` and its part below the project."""
    prefix = f"{manifest.project_dir.as_posix()}/"
    return [
        f"*/{pattern.removeprefix(prefix)}" if pattern.startswith(prefix) else pattern for pattern in patterns
    ]


OwnConfiguration = tuple[Service, Path, Any, tuple[Path, ...]]  # the service, its folder, config, files


def _own_configurations(manifest: Manifest) -> list[OwnConfiguration]:
    """The services whose working_dir holds a coverage.py configuration of their own."""
    found = []
    for service in manifest.services:
        if service.cwd == manifest.root:
            continue  # the root's configuration, read once by the caller
        folder, config, files = _service_project(manifest, service)
        if folder != manifest.root:
            found.append((service, folder, config, files))
    return found


def _left_out_by_services(manifest: Manifest, own: list[OwnConfiguration]) -> list[str]:
    """The files of services whose own configuration (in their working_dir) leaves them out
    (its [run] or [report] omit, or not in its [report] include), as exact patterns of the
    recorded paths (_as_recorded): each service's settings apply to its own files only, as
    a run of its own would apply them, so no other service's figure changes."""
    left_out = []
    for service, folder, config, _ in own:
        omit = [
            *coverage_internals.absolute_patterns(config.report_omit, folder),
            *coverage_internals.absolute_patterns(config.run_omit, folder),
        ]
        include = coverage_internals.absolute_patterns(config.report_include, folder)
        if not omit and not include:
            continue
        omitted = GlobMatcher(prep_patterns(omit), "omit")
        included = GlobMatcher(prep_patterns(include), "include") if include else None
        for file in map(Path.resolve, _source_files(service)):
            if manifest.owner(file) is not service:
                continue  # another service's, below this one's source
            name = str(file)
            if omitted.match(name) or (included is not None and not included.match(name)):
                left_out.append("*/" + glob.escape(file.relative_to(manifest.project_dir).as_posix()))
    return left_out


def _source_files(service: Service) -> list[Path]:
    return [f for src in service.source for f in (sorted(src.rglob("*.py")) if src.is_dir() else [src])]


def _check_exclusions(
    manifest: Manifest, root_config: Any, root_found: tuple[Path, ...], own: list[OwnConfiguration]
) -> None:
    """A report counts every service in one pass, so a service whose own configuration
    excludes other lines than the root's would be counted wrong: refused, naming both."""
    for service, _, config, found in own:
        differing = [a for a in EXCLUSIONS if getattr(config, a) != getattr(root_config, a)]
        if differing:
            root_files = ", ".join(manifest.display(p) for p in root_found) or "coverage.py's defaults"
            own_files = ", ".join(manifest.display(p) for p in found)
            raise ConfigError(
                f"{service.name}: its coverage.py configuration ({own_files}) "
                f"sets {', '.join(differing)} unlike the root's ({root_files}). Reports count every "
                "service in one pass with one set of exclusions: give the root's configuration "
                "the same exclusions (or move them to the root)."
            )


def require_measurable(manifest: Manifest, service: Service, chosen: Settings) -> None:
    """Refuse (exit 2) a service whose every source file the run's `omit` leaves out: it has
    nothing to measure, and its empty data would stop every report."""
    files = _source_files(service)
    patterns = chosen.config.run_omit or []
    if not files or not patterns:
        return
    matcher = GlobMatcher(patterns, "omit")
    if not all(matcher.match(str(f.resolve())) for f in files):
        return
    where = ", ".join(manifest.display(path) for path in chosen.found) or "coverage.py's defaults"
    sources = ", ".join(manifest.display(src) for src in service.source)
    raise ConfigError(
        f"{service.name}: every file of its source ({sources}) is left out by the run's omit "
        f"(the project's [run] omit in {where}, and the manifest's omit), so it has nothing to measure. "
        f"Narrow the pattern that matches {manifest.display(files[0])}, or remove services.{service.name} "
        f"from {manifest.display(manifest.path)}.",
        why="every file omitted",
    )


def figure_settings(manifest: Manifest, service: Service, config: Any | None = None) -> dict[str, list[str]]:
    """The run settings of `service` that decide its figures besides the code: what is left
    out, and what lines count. Recorded with its data (freshness.py), which goes stale when
    they change. Paths inside the project are written relative to it (data moves between
    machines whose checkouts lie elsewhere)."""
    if config is None:
        config = run_settings(manifest, service, manifest.data_dir / "settings-probe").config
    prefix = f"{manifest.project_dir}/"
    return {
        "omit": sorted(pattern.replace(prefix, "") for pattern in config.run_omit or []),
        "exclude_lines": sorted(config.exclude_list or []),
        "partial_branches": sorted(config.partial_list or []),
        "partial_always": sorted(config.partial_always_list or []),
    }
