"""What the combined data was made without: the services whose last run failed, what
`combine --allow-missing` went without, and the processes of services' runs that ended
without saving their coverage (unsaved.py). combine writes it beside the combined file;
every report and the gate read it, show services with no data as `no data`, outside the
total, mark the figures that lack processes INCOMPLETE, and say so in one line."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from ..config.layout import MISSING_NAME
from ..config.manifest import Manifest
from ..errors import DataError
from ..text import first_few, fold
from . import unsaved

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


def unsaved_processes(manifest: Manifest) -> dict[str, int]:
    """Per service, the processes of its run that saved no coverage: its figure lacks the
    lines only they ran (marked INCOMPLETE; the regression policy does not judge its drop)."""
    listed = _missing_record(manifest) or {}
    found = listed.get("unsaved", {})
    if not isinstance(found, dict):
        return {}
    return {str(name): count for name, count in found.items() if isinstance(count, int) and count > 0}


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


def write(path: Path, problems: list[str], unmeasured: list[str], lacking: dict[str, int]) -> None:
    """The record at `path` (a temporary name that combine renames into place)."""
    document = {"problems": problems, "services": unmeasured, "unsaved": lacking}
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def warning(manifest: Manifest, missing: Sequence[str], lacking: dict[str, int] | None = None) -> list[str]:
    """The line every command that reads the combined data starts with when it is
    incomplete, pointing at the Markdown summary, which lists each with why; and one for
    the figures that lack processes (`lacking`: read from the record when not given)."""
    lacking = unsaved_processes(manifest) if lacking is None else lacking
    notices = []
    if missing:
        summary = manifest.display(manifest.reports_dir / "summary.md")
        notices.append(
            f"INCOMPLETE DATA: combined without {first_few(_labels(missing), SHOWN)}; why, for each: "
            f"{summary}, or nox -s combine"
        )
    if lacking:
        whose = "its" if len(lacking) == 1 else "their"
        notices.append(
            f"INCOMPLETE FIGURES: {first_few(list(lacking), SHOWN)}: "
            f"{unsaved.ended(sum(lacking.values()), of=f' of {whose} runs')}: the lines only those ran are "
            "missing, and the regression policy does not judge these figures' drops"
        )
    return [line for notice in notices for line in fold(notice).split("\n")]


def refuse(manifest: Manifest, what: str) -> None:
    """Refuse to keep figures of incomplete data (exit 3): `what` would record a total that is
    not the repository's."""
    missing = missing_inputs(manifest)
    lacking = unsaved_processes(manifest)
    if lacking and not missing:
        raise DataError(
            f"{first_few(list(lacking), SHOWN)}: some processes of their runs ended without saving their "
            f"coverage, so {what} would keep figures short of what their tests ran. Let the processes end "
            "(pool.close(); pool.join() before leaving `with Pool()`), run them again, combine, and try "
            "again."
        )
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
