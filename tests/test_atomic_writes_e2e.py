"""Every file the kit writes appears whole: it is written under another name, then renamed.

Each command runs as a user runs it (`python -m tasks ...`), with a Python audit hook
(PEP 578), installed by a sitecustomize module in every Python process the command
starts (the services' runs, their pytest), that logs in order every file opened for
writing and every rename. After each command, every file in the repository that is new or
changed must have arrived by a rename (of itself or of a folder holding it), and must not
have been opened for writing under its final name after that rename. A file written in
place would show up here, whichever command wrote it.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import sys
from pathlib import Path

import pytest

from tasks.config.layout import ARCHIVE_DIR, ARCHIVE_NAME
from tasks.report.publish import LOCK_NAME
from tests.conftest import OPENS_FOR_WRITING, Result, audit_hook_env, commit_all, init_repo, run

pytestmark = pytest.mark.e2e

# Imported at start-up by every Python process whose PYTHONPATH leads here. Forked workers
# inherit the hook and the log; processes append a line per event, whole (O_APPEND).
# Opens by file descriptor name no path, and are left out.
SITECUSTOMIZE = (
    OPENS_FOR_WRITING
    + """
import json, sys

log = open(os.environ["AUDIT_LOG"], "a", buffering=1, encoding="utf-8")

def hook(event, args):
    if event == "open":
        path = args[0]
        if opens_for_writing(args) and isinstance(path, (str, bytes, os.PathLike)):
            log.write(json.dumps(["write", os.path.abspath(os.fsdecode(path))]) + "\\n")
    elif event == "os.rename":
        source, target = (os.path.abspath(os.fsdecode(p)) for p in args[:2])
        log.write(json.dumps(["rename", source, target]) + "\\n")

sys.addaudithook(hook)
"""
)

# Written in place on purpose, each for its reason:
IN_PLACE = (
    # SQLite databases change by transactions, all or nothing (tests/test_faults_e2e.py and
    # tests/test_history.py prove it), not by replacing the file.
    ".coverage-history/history.db",
    ".coverage-data/cache/analysis.db",
    # run-all's log of each service's run, written as the run goes so that it can be
    # followed (tail -f) while the services run side by side.
    "reports/logs/*.log",
    # The empty file report takes its lock on (flock): it holds no content to half write.
    f"reports/{LOCK_NAME}",
)


Files = dict[str, tuple[int, str]]  # a file's path in the repository: its inode and digest


def in_place(name: str) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in IN_PLACE)


def snapshot(root: Path) -> Files:
    """Every file under `root` (but .git): its inode and content digest."""
    found = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and ".git" not in path.relative_to(root).parts:
            relative = path.relative_to(root).as_posix()
            found[relative] = (path.stat().st_ino, hashlib.sha256(path.read_bytes()).hexdigest())
    return found


def audited(argv: list[str], cwd: Path, log: Path, accepted: tuple[int, ...] = (0,)) -> list[list[str]]:
    """Run `argv` with the hook in every Python process; the events they logged."""
    log.write_text("", encoding="utf-8")
    env = {"AUDIT_LOG": str(log), **audit_hook_env(log.parent / "hooks", SITECUSTOMIZE)}
    result: Result = run(argv, cwd, env=env)
    assert result.returncode in accepted, result.output
    events = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert events, "the audit hook logged nothing: was sitecustomize imported?"
    return events


def not_arrived_by_rename(project: Path, before: Files, after: Files, events: list[list[str]]) -> list[str]:
    """The files new, changed or written that were not renamed into place, or were written
    under their final name after it."""
    root = project.resolve()
    changed = {name for name, state in after.items() if before.get(name) != state}
    # And files written with the same bytes as before: a write in place is one all the same.
    rewritten = {
        Path(event[1]).relative_to(root).as_posix()
        for event in events
        if event[0] == "write" and Path(event[1]).is_relative_to(root) and Path(event[1]).is_file()
    }
    problems = []
    for name in sorted(changed | rewritten):
        if in_place(name):
            continue
        final = str(root / name)
        placed = [
            i
            for i, event in enumerate(events)
            if event[0] == "rename" and (final == event[2] or final.startswith(event[2] + os.sep))
        ]
        written = [i for i, event in enumerate(events) if event[0] == "write" and event[1] == final]
        if not placed:
            problems.append(f"{name}: written in place, never renamed into place")
        elif written and written[-1] > placed[-1]:
            problems.append(f"{name}: written again under its final name after it was renamed there")
    return problems


# Every command that writes files, in the order a team runs them.
COMMANDS: list[tuple[tuple[str, ...], tuple[int, ...]]] = [
    (("run", "xp"), (0,)),
    (("run-all", "--jobs", "2"), (0,)),
    (("combine",), (0,)),
    (("report",), (0,)),
    (("report", "--archive"), (0,)),
    (("gate", "--base", "main"), (0, 1)),
    (("baseline", "--set", "--branch", "main"), (0,)),
    (("baseline", "--export", "reports/history.jsonl"), (0,)),
    (("stability", "xp"), (0, 1)),
    (("ratchet",), (0, 1)),
    (("maintenance",), (0, 1)),
]


def test_every_file_a_command_writes_is_renamed_into_place(measured_copy: Path, tmp_path: Path) -> None:
    project = measured_copy
    init_repo(project)
    commit_all(project, "base")
    log = tmp_path / "audit.jsonl"
    checked: dict[str, int] = {}
    for args, accepted in COMMANDS:
        before = snapshot(project)
        events = audited([sys.executable, "-m", "tasks", *args], project, log, accepted)
        after = snapshot(project)
        assert not_arrived_by_rename(project, before, after, events) == [], args
        checked[" ".join(args)] = sum(1 for name, state in after.items() if before.get(name) != state)
    # The hook saw the writing: every command changed files, and the reports were among them.
    assert all(checked.values()), checked
    assert checked["report"] > 20, checked
    (archived,) = (project / "reports" / ARCHIVE_DIR).iterdir()  # whole, and no partial copy beside it
    assert ARCHIVE_NAME.match(archived.name)
    assert snapshot(archived).keys() >= {"coverage.xml", "html/index.html", "services.json"}


def test_the_check_finds_a_file_written_in_place(tmp_path: Path) -> None:
    """The audit itself: a file written under its final name is reported (even with the
    bytes it had), one renamed into place is not."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "same.txt").write_text("s")
    script = (
        "from pathlib import Path\n"
        "Path('in-place.txt').write_text('x')\n"
        "Path('same.txt').write_text('s')\n"  # the same bytes, written in place
        "Path('.tmp-atomic').write_text('y')\n"
        "Path('.tmp-atomic').replace('atomic.txt')\n"
        "Path('.tmp-fine').write_text('w')\n"
        "Path('.tmp-fine').replace('fine.txt')\n"
        "Path('atomic.txt').write_text('z')\n"  # written again after its rename
    )
    before = snapshot(project)
    events = audited([sys.executable, "-c", script], project, tmp_path / "audit.jsonl")
    assert not_arrived_by_rename(project, before, snapshot(project), events) == [
        "atomic.txt: written again under its final name after it was renamed there",
        "in-place.txt: written in place, never renamed into place",
        "same.txt: written in place, never renamed into place",
    ]
