"""Whether coverage data still matches the code it measured. Each run records a digest of
every file its tests ran, as the file was when the run ended; every command that reads data
compares them with the files on disk and refuses data whose files have changed since.

Only files a run executed are recorded (a module with no statement counts, by its entry
and exit arcs): a file no test of a run touched has no line numbers in its data to go stale
(its figure is 0 executed lines of whatever the file now is).

The run settings that decide figures besides the code (what `omit` leaves out, which lines
the exclusions drop: settings.figure_settings) are recorded beside the files, as entries
named `(settings) <name>`: data measured before one of them changed is stale in the same way.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from ..config.manifest import Manifest
from ..errors import DataError, plain
from . import coverage_internals, settings

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
    text = json.dumps(ordered, separators=(",", ":"))
    coverage_internals.write_meta(data_file, coverage_internals.DIGESTS_KEY, text)


def recorded(data_file: Path) -> Digests:
    """The digests a data file carries; {} for data from before the kit recorded them."""
    text = coverage_internals.read_meta(data_file, coverage_internals.DIGESTS_KEY)
    try:
        found = json.loads(text) if text else {}
    except ValueError:
        return {}
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
    """Per service, the files it ran whose content is no longer what it measured, and (given
    the manifest) the settings entries whose value is no longer what it was measured with."""
    paths = sorted(
        {path for files in digests.values() for path in files if not path.startswith(SETTINGS_PREFIX)}
    )
    current = digest_files(project_dir, paths)
    found = {}
    for service, files in digests.items():
        now = current
        if manifest is not None and service in manifest.names:
            now = {
                **current,
                **settings_digests(settings.figure_settings(manifest, manifest.service(service))),
            }
        stale = sorted(
            path
            for path, digest in files.items()
            if (not path.startswith(SETTINGS_PREFIX) or manifest is not None)
            and (digest == GONE or now.get(path, GONE) != digest)
        )
        if stale:
            found[service] = stale
    return found


def describe(manifest: Manifest, stale: Mapping[str, list[str]]) -> list[str]:
    """A line per service (services for which it says the same, together): the files and
    settings that changed since its data was measured."""
    said: dict[str, list[str]] = {}
    for service, entries in stale.items():
        paths = [entry for entry in entries if not entry.startswith(SETTINGS_PREFIX)]
        changed_settings = [entry.removeprefix(SETTINGS_PREFIX) for entry in entries if entry not in paths]
        shown = [plain(path) for path in paths[:SHOWN]]
        named = ", ".join(shown) + (f" and {len(paths) - SHOWN} more" if len(paths) > SHOWN else "")
        parts = [f"ran {named}, changed since it was measured"] if paths else []
        if changed_settings:
            parts.append(
                f"its run settings changed since it was measured: {', '.join(changed_settings)} "
                f"(the project's coverage.py configuration, or omit in {manifest.display(manifest.path)})"
            )
        said.setdefault("; ".join(parts), []).append(service)
    lines = []
    for text, services in said.items():
        more = f" and {len(services) - NAMED_SESSIONS} more" if len(services) > NAMED_SESSIONS else ""
        lines.append(f"  {', '.join(services[:NAMED_SESSIONS])}{more}: {text}")
    return lines


def settings_changed(stale: Mapping[str, list[str]]) -> bool:
    """Whether any service's run settings, not only its files, changed since."""
    return any(entry.startswith(SETTINGS_PREFIX) for entries in stale.values() for entry in entries)


def why_stale(stale: Mapping[str, list[str]]) -> str:
    """Why the data no longer holds: changed code, or settings that decide figures too."""
    if settings_changed(stale):
        return (
            "the code or the run settings changed since this data was measured, so its figures no longer hold"
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
