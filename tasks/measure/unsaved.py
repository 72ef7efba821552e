"""The processes of a run that ended without saving their coverage data.

A process measured by coverage.py saves its data when it ends normally. One that is killed
first (a pool worker ended by `Pool.terminate()`, which `with Pool() as pool:` calls; a
server a test kills; a process still running when the run ends) saves nothing, and the
lines only it ran are missing from the figure, which then differs from run to run.

coverage.py says which processes it measured: with its `pid` and `process` debug options,
every process that starts a measurement writes a line to the run's debug log, headed by its
process id (forked children included). Every process that saves writes a data file whose
name holds its process id. A process in the log with no usable data file ended unsaved. The
count is recorded in the data file; combine carries it to the record of what the combined
data lacks (incomplete.py), which every output shows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from . import coverage_internals

DEBUG_OPTIONS = ("pid", "process")  # added to the run's [run] debug; the log goes to LOG_NAME
LOG_NAME = "processes.log"  # in the run's scratch folder
KEY = "coverage_workflows:unsaved"  # in a data file's meta table: {service: processes}
# coverage.py's `pid` option heads each line with the process id and a thread id.
_LOG_LINE = re.compile(r"^\s*(\d+)\.[0-9a-f]+: ", re.MULTILINE)


def count(log: Path, usable: Iterable[Path], unusable: Iterable[Path]) -> int:
    """How many processes of a run ended without usable data: measured (in the debug
    `log`) with no file among `usable`, or with a file among `unusable` only."""
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""  # no measured process wrote a line: nothing to compare
    started = {int(pid) for pid in _LOG_LINE.findall(text)}
    saved = {pid for pid in map(coverage_internals.data_file_pid, usable) if pid is not None}
    broken = {pid for pid in map(coverage_internals.data_file_pid, unusable) if pid is not None}
    return len(started - saved) + len(broken - started - saved)


def ended(processes: int, of: str = "") -> str:
    """'2 processes{of} ended without saving their coverage (why, and the fix)': the words
    of the run, stability and every output that reads the combined data."""
    return (
        f"{_processes(processes)}{of} ended without saving {'its' if processes == 1 else 'their'} coverage "
        "(killed, e.g. by Pool.terminate(), which `with Pool() as pool:` calls; "
        "use pool.close(); pool.join())"
    )


def said(processes: int) -> str:
    """What a run says of its figure, with processes unsaved."""
    return f"{ended(processes)}: the lines only they ran are missing, so this figure is INCOMPLETE"


def _processes(processes: int) -> str:
    return "1 process" if processes == 1 else f"{processes} processes"


def short(processes: int) -> str:
    """The mark in a table cell."""
    return f"INCOMPLETE ({_processes(processes)} unsaved)"


def record(data_file: Path, counts: dict[str, int]) -> None:
    coverage_internals.write_meta_json(data_file, KEY, counts)


def recorded(data_file: Path) -> dict[str, int]:
    """Per service, the processes its data lacks ({} for data that lacks none)."""
    found = coverage_internals.read_meta_json(data_file, KEY)
    if not isinstance(found, dict):
        return {}
    return {str(k): v for k, v in found.items() if isinstance(v, int) and v > 0}


def merge(parts: Iterable[dict[str, int]]) -> dict[str, int]:
    """A service's shards, or every service's data: the processes each lacks, added up."""
    merged: dict[str, int] = {}
    for part in parts:
        for service, processes in part.items():
            merged[service] = merged.get(service, 0) + processes
    return merged
