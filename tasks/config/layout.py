"""Where the kit's files live: the names of the data files and folders, shards, and the
report folders that accumulate (archives, run logs).

Names only, no file contents (that is datafiles.py): CI's matrix job uses these without
coverage.py installed, and maintenance uses them to touch nothing but the kit's own files.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from pathlib import Path

from .manifest import Manifest

COMBINED_NAME = "combined"
MISSING_NAME = "combined-missing.json"  # what an --allow-missing combine went without
FAILED_DIR = "failed"  # data of runs whose tests failed: kept, never combined
STALE_DIR = "stale"  # the previous good data of a service whose latest run failed
SLICES_DIR = "slices"  # runs of a chosen subset of tests: shown, never combined
STABILITY_DIR = "stability"  # repeated runs of `stability`: compared, never combined
CACHE_FILE = "cache/analysis.db"  # under data_dir: coverage.py's parse of each source file
ARCHIVE_DIR = "archive"  # under reports_dir: timestamped copies of reports (report --archive)
LOGS_DIR = "logs"  # under reports_dir: one log per run of coverage-all
ARCHIVE_NAME = re.compile(r"\d{8}T\d{6}Z\Z")  # an archive folder: its UTC time, 20261121T075515Z


def archive_name(now: datetime.datetime) -> str:
    return now.astimezone(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")


@dataclass(frozen=True, order=True)
class Shard:
    """Shard `index` (from 1) of a service's tests split `count` ways."""

    index: int
    count: int

    @property
    def suffix(self) -> str:
        return f"shard-{self.index}-of-{self.count}"


_SHARD_FILE = re.compile(r"\.shard-(\d+)-of-(\d+)\Z")


def service_file(manifest: Manifest, service: str, shard: Shard | None = None) -> Path:
    """Where a run's data goes: <data_dir>/<service>, or <service>.shard-K-of-N."""
    return manifest.data_dir / (f"{service}.{shard.suffix}" if shard else service)


def durations_file(manifest: Manifest, service: str) -> Path:
    """The test durations a service's runs record (pytest-split's file): shards and CI jobs
    are balanced by them."""
    return manifest.durations_dir / f"{service}.json"


def shard_files(manifest: Manifest, service: str) -> dict[Shard, Path]:
    """The shard data files of `service` present in the data directory."""
    found = {}
    for path in manifest.data_dir.glob(f"{service}.shard-*-of-*"):
        match = _SHARD_FILE.search(path.name)
        if match and path.name == f"{service}{match.group(0)}":
            found[Shard(int(match.group(1)), int(match.group(2)))] = path
    return found


# datafiles.atomic_path's temporary name for a file being written: a killed process may
# leave one behind (the file it was to replace is untouched), for maintenance to remove.
# (".<target>.<tempfile's random part>.tmp": the random part never holds a dot.)
UNFINISHED_NAME = re.compile(r"\.(?P<target>.+)\.[^.]+\.tmp\Z")


def is_data_name(manifest: Manifest, name: str) -> bool:
    """Whether `name` is a data file name the kit writes: a service's, a shard's, combined."""
    if name in (COMBINED_NAME, MISSING_NAME):
        return True
    match = _SHARD_FILE.search(name)
    service = name[: match.start()] if match else name
    return service in manifest.names
