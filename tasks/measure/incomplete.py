"""What the combined data was made without: the services whose last run failed, and what
`combine --allow-missing` went without. combine writes it beside the combined file; every
report and the gate read it, show those services as `no data`, outside the total, and say
so in one line."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from ..config.layout import MISSING_NAME
from ..config.manifest import Manifest
from ..errors import DataError
from ..text import first_few, fold

SHOWN = 3  # services named in the one-line notice; the Markdown lists them all


def missing_inputs(manifest: Manifest) -> list[str]:
    """What the combined data was made without (a service whose run failed, or anything
    under --allow-missing), else []."""
    listed = _missing_record(manifest)
    if listed is None:
        return [f"unknown: {manifest.display(missing_file(manifest))} is unreadable; combine again"]
    problems = listed.get("problems", [])
    return [str(item) for item in problems] if isinstance(problems, list) else []


def unmeasured_services(manifest: Manifest) -> frozenset[str]:
    """The services the combined data holds no data of: reports show them as `no data`,
    outside the total."""
    listed = _missing_record(manifest) or {}
    services = listed.get("services", [])
    return frozenset(str(name) for name in services) if isinstance(services, list) else frozenset()


def missing_file(manifest: Manifest) -> Path:
    return manifest.data_dir / MISSING_NAME


def _missing_record(manifest: Manifest) -> dict[str, object] | None:
    path = missing_file(manifest)
    if not path.exists():
        return {}
    try:
        listed = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if isinstance(listed, list):  # written by an earlier version of the kit: problems only
        return {"problems": listed}
    return listed if isinstance(listed, dict) else None


def write(path: Path, problems: list[str], unmeasured: list[str]) -> None:
    """The record at `path` (a temporary name that combine renames into place)."""
    document = {"problems": problems, "services": unmeasured}
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def warning(manifest: Manifest, missing: Sequence[str]) -> list[str]:
    """The one line every command that reads the combined data starts with when it is
    incomplete, pointing at the Markdown summary, which lists each with why."""
    if not missing:
        return []
    summary = manifest.display(manifest.reports_dir / "summary.md")
    notice = (
        f"INCOMPLETE DATA: combined without {first_few(_labels(missing), SHOWN)}; why, for each: "
        f"{summary}, or nox -s combine"
    )
    return fold(notice).split("\n")


def refuse(manifest: Manifest, what: str) -> None:
    """Refuse to keep figures of incomplete data (exit 3): `what` would record a total that is
    not the repository's."""
    missing = missing_inputs(manifest)
    if not missing:
        return
    raise DataError(
        f"the combined data was made without {first_few(_labels(missing), SHOWN)} (their runs failed, or "
        "combine --allow-missing), "
        f"so {what} would keep figures that are not the repository's. Run them (nox -s coverage-<service>), "
        "then nox -s combine, and try again."
    )


def _labels(missing: Sequence[str]) -> list[str]:
    """The services (or shards) named by what combine went without, each once: each item
    starts with its label and a colon."""
    return list(dict.fromkeys(item.partition(":")[0] for item in missing))
