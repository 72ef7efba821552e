"""The combined data opened for analysis: one Coverage object over a data file, its shared
analysis, and the per-service figures every command that reads data starts from."""

from __future__ import annotations

from pathlib import Path

from coverage import Coverage
from coverage.exceptions import CoverageException, NotPython

from ..config.layout import CACHE_FILE
from ..config.manifest import Manifest
from ..errors import ConfigError, DataError, plain
from ..measure import datafiles, freshness, settings
from .analysis import ServiceFigures, SharedAnalysis, service_figures
from .cache import AnalysisCache


def open_coverage(
    manifest: Manifest, data_file: Path, *, cache: bool = True
) -> tuple[Coverage, SharedAnalysis]:
    """A Coverage object over `data_file` (paths relative to the project), configured as the
    project configures coverage.py, with shared analysis (and, with `cache`, the parse of
    unchanged files from earlier invocations)."""
    if Path.cwd().resolve() != manifest.project_dir:
        # coverage.py resolves the data's relative paths against the current directory.
        raise ConfigError(
            f"run this from the project directory {manifest.project_dir} (now in {Path.cwd()})."
        )
    datafiles.read(data_file, manifest.display(data_file))  # a clear error before coverage's own
    # The project's own report settings (exclusions, partial branches, omit), as its runs had.
    cov = Coverage(config_file=settings.report_settings(manifest, data_file).argument)
    cov.load()
    return cov, SharedAnalysis(cov, AnalysisCache(manifest.data_dir / CACHE_FILE, cov) if cache else None)


def measured_figures(
    manifest: Manifest, shared: SharedAnalysis, data_file: Path, only: str | None = None
) -> tuple[ServiceFigures, ...]:
    """Per-service figures (of `only`, when given), or a DataError when a source cannot be
    analysed (not Python, or no longer what was measured)."""
    try:
        return service_figures(shared, manifest, only=only)
    except CoverageException as exc:
        raise unusable(manifest, data_file, exc) from None


Stale = dict[str, list[str]]  # per service, the files its data ran that have changed since


def fresh_combined(manifest: Manifest, *, allow_stale: bool = False) -> tuple[Path, Stale]:
    """The combined data file, checked against the code it measured: a DataError (exit 3)
    when the code changed since, unless `allow_stale` (then what is stale, to mark)."""
    data_file = datafiles.require_combined(manifest)
    # A configuration the reports cannot use is said first (exit 2): no data can fix it.
    settings.report_settings(manifest, data_file)
    return data_file, freshness.check(manifest, data_file, allow_stale=allow_stale)


def combined_figures(
    manifest: Manifest, *, allow_stale: bool = False
) -> tuple[SharedAnalysis, tuple[ServiceFigures, ...], Stale]:
    """The per-service figures of the combined data (and its analysis, for more questions),
    and what of it is stale (only with `allow_stale`; otherwise stale data is refused)."""
    data_file, stale = fresh_combined(manifest, allow_stale=allow_stale)
    _, shared = open_coverage(manifest, data_file)
    services = measured_figures(manifest, shared, data_file)
    shared.save_cache()
    return shared, services, stale


def unusable(manifest: Manifest, data_file: Path, exc: CoverageException) -> DataError:
    if isinstance(exc, NotPython):
        return DataError(
            f"{plain(str(exc))}. Fix the file's syntax, or leave it out of every run and report "
            f"with `omit` in {manifest.display(manifest.path)} (generated or vendored code)."
        )
    return DataError(
        f"cannot report from {manifest.display(data_file)}: {exc}. If sources changed or moved "
        "since the data was measured, run the services' sessions and combine again."
    )
