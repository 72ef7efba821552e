"""How each service's last run ended, kept beside the data: what lets one service's failure
stay with that service.

Every `run` (a coverage-<service> session, or one run of coverage-all) writes a record when
it ends: its exit status, why in a word or two, pytest's error, its log and the command that
runs it again. `combine` leaves out, with a notice, a service whose last run failed, so the
others are still reported; and at the end of a nox run the noxfile prints one table of the
runs that failed and exits with the worst status (docs/exit-codes.md). Standard library only:
the noxfile reads these in nox's own Python.
"""

from __future__ import annotations

import json
import os
import textwrap
import time
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import EXIT_CONFIG, EXIT_DATA, EXIT_FAILED, EXIT_IO, EXIT_OK, plain
from ..text import WIDTH, fold

OUTCOMES_DIR = "outcomes"  # under data_dir: <service>[.shard-K-of-N].json
# Set by coverage-all for each run: the log its whole output goes to (its record names it).
LOG_VARIABLE = "COVERAGE_WORKFLOWS_LOG"
# The most telling exit status first: a broken setup, an unwritable disk, missing data, failed tests.
SEVERITY = (EXIT_CONFIG, EXIT_IO, EXIT_DATA, EXIT_FAILED)
NOTE_WIDTH = 40  # the least width a note's lines wrap to, beside a long name
LABEL_COLUMN = 36  # labels up to this long have a row's further lines beside them
DETAIL_LENGTH = 150  # characters of pytest's error in the table; the log has it whole


@dataclass(frozen=True, kw_only=True)
class Outcome:
    service: str
    label: str  # the service, or "<service> shard K/N"
    exit_code: int
    why: str  # "passed", "tests failed", "collection error", "timeout", ...
    detail: str  # pytest's error, or the kit's message, on one line
    log: str  # where the run's output is, relative to the project where inside it
    rerun: str  # the command that runs it again
    finished: float  # time.time() when it ended
    note: str = ""  # of a run that passed: what to know all the same (failed only side by side)

    @property
    def failed(self) -> bool:
        return self.exit_code != EXIT_OK


def folder(data_dir: Path) -> Path:
    return data_dir / OUTCOMES_DIR


def record(data_dir: Path, name: str, outcome: Outcome) -> None:
    """Write `outcome` as the record of `name` (a data file's name), replacing the last one."""
    target = folder(data_dir) / f"{name}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(asdict(outcome), indent=2) + "\n", encoding="utf-8")
    temporary.replace(target)


def recorded(data_dir: Path, name: str) -> Outcome | None:
    """The record of `name`'s last run (a data file's name), or None (none, or unreadable)."""
    try:
        found = json.loads((folder(data_dir) / f"{name}.json").read_text(encoding="utf-8"))
        return Outcome(**found)
    except (OSError, ValueError, TypeError):
        return None


def since(data_dir: Path, started: float) -> list[Outcome]:
    """The runs that ended at or after `started`, in the order of their names."""
    found = []
    for path in sorted(folder(data_dir).glob("*.json")):
        outcome = recorded(data_dir, path.stem)
        if outcome is not None and outcome.finished >= started:
            found.append(outcome)
    return found


def worst(codes: list[int]) -> int:
    """The most telling of some exit statuses (0 when all passed)."""
    failed = {code for code in codes if code != EXIT_OK}
    return next((code for code in SEVERITY if code in failed), max(failed, default=EXIT_OK))


def one_line(text: str, length: int = DETAIL_LENGTH) -> str:
    flat = " ".join(plain(text).split())
    return flat if len(flat) <= length else flat[: length - 3] + "..."


def table(outcomes: list[Outcome], took: str = "") -> list[str]:
    """The runs, failed ones first: what happened, why, where its log is, how to run it again."""
    passed = [o for o in outcomes if not o.failed]
    failed = sorted((o for o in outcomes if o.failed), key=lambda o: o.label)
    plural = "" if len(outcomes) == 1 else "s"
    lines = [f"{len(outcomes)} service run{plural}{took}: {len(passed)} passed, {len(failed)} failed."]
    noted = sorted((o for o in passed if o.note), key=lambda o: o.label)
    width = max((len(o.label) for o in [*failed, *noted]), default=0)
    # A row's further lines, under its second column; below a long name, indented instead.
    beside = f"  {'':<{width}}  " if width <= LABEL_COLUMN else "      "
    for outcome in failed:
        lines += [
            f"  {outcome.label:<{width}}  FAILED (exit {outcome.exit_code}): {outcome.why}",
            *([beside + one_line(outcome.detail)] if outcome.detail else []),
            *_log_and_again(beside, outcome),
        ]
    for outcome in noted:
        note = textwrap.wrap(outcome.note, max(NOTE_WIDTH, WIDTH - len(beside)))
        if width > LABEL_COLUMN:  # the note below the name
            note.insert(0, "")
        lines += [f"  {outcome.label:<{width}}  {note[0]}".rstrip(), *(beside + line for line in note[1:])]
    # Beside a long name, or with a long path, a line folds; its rest stays in its column.
    lines = [part for line in lines for part in fold(line, hang=len(beside)).split("\n")]
    if passed:
        names = ", ".join(o.label for o in sorted(passed, key=lambda o: o.label))
        lines += fold(f"  passed: {names}").split("\n")
    return lines


def _log_and_again(beside: str, outcome: Outcome) -> list[str]:
    """Where the log is and the command that runs it again: one line, or a line each, never
    a command cut in two."""
    line = f"{beside}log: {outcome.log}; again: {outcome.rerun}"
    if len(line) <= WIDTH:
        return [line]
    return [f"{beside}log: {outcome.log}", f"{beside}again: {outcome.rerun}"]


def setting_behind(detail: str) -> str | None:
    """The manifest setting a collection error points at: `install` for a module that cannot
    be imported, `pytest_args` for options pytest refuses; None for an error in the tests."""
    if "ModuleNotFoundError" in detail or "ImportError" in detail or "No module named" in detail:
        return "install"
    if "unrecognized arguments" in detail or "usage" in detail or "error: " in detail:
        return "pytest_args"
    return None


def key_behind(manifest_path: Path, service: str, detail: str) -> str:
    """The manifest setting most likely behind a failed collection, as the user edits it:
    an import error points at the service's install list, a usage error at its pytest options
    (the service's own key where it has one, else [settings])."""
    setting = setting_behind(detail)
    if setting is None:
        return f"services.{service}.tests or the tests themselves"
    try:
        document = tomllib.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        document = {}
    own = document.get("services", {}).get(service, {})
    if setting in own:
        return f"services.{service}.{setting}"
    return f"[settings] {setting} (or services.{service}.{setting}, for {service} alone)"


def now() -> float:
    return time.time()
