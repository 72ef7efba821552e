"""Whether coverage data still matches the code it measured. Each run records a digest of
every file its tests ran, as the file was when the run ended; every command that reads data
compares them with the files on disk and refuses data whose files have changed since.

Only files a run executed are recorded (a module with no statement counts, by its entry
and exit arcs): a file no test of a run touched has no line numbers in its data to go stale
(its figure is 0 executed lines of whatever the file now is).

The run settings that decide figures besides the code (what `omit` leaves out, which lines
the exclusions drop: settings.figure_settings) are recorded beside the files, as entries
named `(settings) <name>`: data measured before one of them changed is stale in the same way.
So are the files a run reads besides its measured code (its tests, their conftest.py files,
pytest's settings: run_inputs.py), as `(read) <path>` entries, and what it was measured with
(its install list, the coverage.py and Python versions: measured_with.py), as
`(environment) <what>` entries.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from ..config.manifest import Manifest
from ..errors import DataError, plain
from ..text import first_few
from . import coverage_internals, measured_with, run_inputs, settings

# service -> file (relative to the project) -> sha256 of its content when the run ended;
# GONE for a file that was no longer there, and for shards that saw two versions of a file.
Digests = dict[str, dict[str, str]]
GONE = ""
SHOWN = 3  # changed files named per service


SETTINGS_PREFIX = "(settings) "


def settings_digests(values: Mapping[str, object]) -> dict[str, str]:
    """The entries that stand for a run's settings among its files' digests."""
    return {
        f"{SETTINGS_PREFIX}{name}": hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()
        for name, value in values.items()
    }


def digest_files(project_dir: Path, paths: Iterable[str]) -> dict[str, str]:
    found = {}
    for path in paths:
        try:
            found[path] = hashlib.sha256((project_dir / path).read_bytes()).hexdigest()
        except OSError:
            found[path] = GONE
    return found


def record(data_file: Path, service: str, digests: Mapping[str, str]) -> None:
    """Keep `service`'s digests inside the data file itself: they travel, and are replaced,
    with the data they vouch for."""
    record_all(data_file, {service: dict(digests)})


def record_all(data_file: Path, digests: Digests) -> None:
    # Services in the order given (the manifest's), so that messages name them in that order.
    ordered = {service: dict(sorted(files.items())) for service, files in digests.items()}
    coverage_internals.write_meta_json(data_file, coverage_internals.DIGESTS_KEY, ordered)


def recorded(data_file: Path) -> Digests:
    """The digests a data file carries; {} for data from before the kit recorded them."""
    found = coverage_internals.read_meta_json(data_file, coverage_internals.DIGESTS_KEY)
    return found if isinstance(found, dict) else {}


def merge(parts: Iterable[Digests]) -> Digests:
    """One service's shards, or every service's data, as one set of digests."""
    merged: Digests = {}
    for part in parts:
        for service, files in part.items():
            mine = merged.setdefault(service, {})
            for path, digest in files.items():
                mine[path] = digest if mine.get(path, digest) == digest else GONE
    return merged


def changed(project_dir: Path, digests: Digests, manifest: Manifest | None = None) -> dict[str, list[str]]:
    """Per service, the files it ran (or read) whose content is no longer what it measured,
    and (given the manifest) the settings entries and the list of its test files that are no
    longer what it was measured with."""
    entries = {entry for files in digests.values() for entry in files if _path_of(entry)}
    current = digest_files(
        project_dir, [entry for entry in entries if not entry.startswith(run_inputs.READ_PREFIX)]
    )
    current |= {
        entry: run_inputs.digest(project_dir / entry.removeprefix(run_inputs.READ_PREFIX))
        for entry in entries
        if entry.startswith(run_inputs.READ_PREFIX)
    }
    found = {}
    for service, files in digests.items():
        now = {entry: current.get(entry, GONE) for entry in files if _path_of(entry)}
        if manifest is not None and service in manifest.names:
            chosen = manifest.service(service)
            now.update(settings_digests(settings.figure_settings(manifest, chosen)))
            now.update(run_inputs.listing_entry(manifest, chosen))
            now.update(measured_with.expected_entries(manifest, chosen))
        stale = sorted(
            entry
            for entry, digest in files.items()
            if (_path_of(entry) or manifest is not None)
            and (digest == GONE or now.get(entry, GONE) != digest)
        )
        if stale:
            found[service] = stale
    return found


def _path_of(entry: str) -> str | None:
    """The file an entry stands for (relative to the project); None for a setting or the
    list of test files, which only the manifest can tell anew."""
    if entry.startswith((SETTINGS_PREFIX, measured_with.PREFIX)) or entry == run_inputs.LISTING:
        return None
    return entry.removeprefix(run_inputs.READ_PREFIX)


def describe(manifest: Manifest, stale: Mapping[str, list[str]]) -> list[str]:
    """A line per service (services for which it says the same, together): the files and
    settings that changed since its data was measured."""
    said: dict[str, list[str]] = {}
    for service, entries in stale.items():
        paths = [
            entry for entry in entries if _path_of(entry) and not entry.startswith(run_inputs.READ_PREFIX)
        ]
        read = [
            entry.removeprefix(run_inputs.READ_PREFIX)
            for entry in entries
            if entry.startswith(run_inputs.READ_PREFIX)
        ]
        changed_settings = [
            entry.removeprefix(SETTINGS_PREFIX) for entry in entries if entry.startswith(SETTINGS_PREFIX)
        ]
        parts = [f"ran {few(paths)}, changed since it was measured"] if paths else []
        if read:
            parts.append(f"its tests or their configuration changed since it was measured: {few(read)}")
        if run_inputs.LISTING in entries:
            parts.append("test files were added to its tests or removed from them since it was measured")
        if environment := measured_with.describe(manifest, service, entries):
            parts.append(environment)
        if changed_settings:
            parts.append(
                f"its run settings changed since it was measured: {', '.join(changed_settings)} "
                f"(the project's coverage.py configuration, or omit in {manifest.display(manifest.path)})"
            )
        said.setdefault("; ".join(parts), []).append(service)
    lines = []
    for text, services in said.items():
        lines.append(f"  {first_few(services, NAMED_SESSIONS)}: {text}")
    return lines


def few(paths: Sequence[str]) -> str:
    """The first SHOWN paths, written safely, and how many more."""
    return first_few([plain(path) for path in paths], SHOWN)


def settings_changed(stale: Mapping[str, list[str]]) -> bool:
    """Whether anything besides the measured files changed since: the run settings, the
    tests or their configuration (then it is the figures that no longer hold, not only
    line numbers)."""
    return any(
        not _path_of(entry) or entry.startswith(run_inputs.READ_PREFIX)
        for entries in stale.values()
        for entry in entries
    )


def why_stale(stale: Mapping[str, list[str]]) -> str:
    """Why the data no longer holds: changed code, or settings that decide figures too."""
    if settings_changed(stale):
        return (
            "the code, its tests or the run settings changed since this data was measured, so its figures "
            "no longer hold"
        )
    return "the code changed since this data was measured, so its line numbers no longer fit"


def refresh_command(stale: Mapping[str, list[str]]) -> str:
    return run_command(list(stale))


# Up to this many services, a command names each one's session; beyond, coverage-all runs them
# (every service, which is also what a change to the run settings calls for).
NAMED_SESSIONS = 6


def run_command(services: Sequence[str]) -> str:
    """The nox command that measures `services` again and combines."""
    if len(services) > NAMED_SESSIONS:
        return "nox -s coverage-all combine"
    return "nox -s " + " ".join(f"coverage-{service}" for service in services) + " combine"


def stale_warning(manifest: Manifest, stale: Mapping[str, list[str]]) -> list[str]:
    """The lines every output starts with when it shows stale data (--allow-stale)."""
    if not stale:
        return []
    return [
        "STALE DATA: these figures were measured on code that has changed since (--allow-stale):",
        *describe(manifest, stale),
        f"  Refresh: {refresh_command(stale)}",
    ]


def check(manifest: Manifest, data_file: Path, *, allow_stale: bool) -> dict[str, list[str]]:
    """The stale services of `data_file` and their changed files: a DataError (exit 3) naming
    them and the command that refreshes them, unless `allow_stale`."""
    stale = changed(manifest.project_dir, recorded(data_file), manifest)
    if stale and not allow_stale:
        raise DataError(
            f"{manifest.display(data_file)}: {why_stale(stale)}:\n"
            + "\n".join(describe(manifest, stale))
            + f"\nRefresh it: {refresh_command(stale)}\n(To see the figures anyway, marked STALE "
            "in every output: add --allow-stale.)"
        )
    return stale
