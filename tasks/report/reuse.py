"""Reuse the published coverage.py reports when nothing they were made from has changed.

coverage.py's XML, JSON, LCOV and HTML depend only on the combined data, the measured
sources, coverage.py's version and how the kit asks for them. `report` records a
fingerprint of all of that beside the reports it publishes; the next `report` whose
fingerprint is the same copies those files instead of writing them again (they keep the
timestamp of when they were first written). HTML pages are not reused one by one:
coverage.py's per-page hash leaves out the contexts the whole-suite pages show.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterable
from pathlib import Path

import coverage
from coverage import Coverage

from ..config.manifest import Manifest
from ..measure import coverage_internals

RECORD_NAME = ".made-from.json"  # in the reports folder, published with the reports
VERSION = 1  # bump when the kit changes how it asks coverage.py for a format


def fingerprint(manifest: Manifest, cov: Coverage, data_file: Path) -> str:
    """A digest of everything coverage.py's reports are made from."""
    digest = hashlib.sha256()
    settings = [
        VERSION,
        coverage.__version__,
        sys.implementation.cache_tag,
        str(manifest.project_dir),
        [[s.name, [str(path) for path in s.source]] for s in manifest.services],
        coverage_internals.as_argument(cov.config),  # the project's settings the reports honour
    ]
    digest.update(json.dumps(settings).encode())
    digest.update(data_file.read_bytes())
    for name in sorted(cov.get_data().measured_files()):
        digest.update(b"\0" + name.encode())
        try:
            digest.update(hashlib.sha256((manifest.project_dir / name).read_bytes()).digest())
        except OSError:
            digest.update(b"\0gone")  # coverage.py says so in its own words when it reports
    return digest.hexdigest()


def reusable(reports_dir: Path, made_from: str) -> set[str]:
    """The formats published from the same inputs, whose files can be copied as they are."""
    try:
        record = json.loads((reports_dir / RECORD_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    if not isinstance(record, dict) or record.get("fingerprint") != made_from:
        return set()
    formats = record.get("formats")
    return {f for f in formats if isinstance(f, str)} if isinstance(formats, list) else set()


def record(staging: Path, made_from: str, formats: Iterable[str]) -> None:
    (staging / RECORD_NAME).write_text(
        json.dumps({"fingerprint": made_from, "formats": sorted(formats)}) + "\n", encoding="utf-8"
    )
