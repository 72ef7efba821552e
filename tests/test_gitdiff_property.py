"""The diff reader against real git (hypothesis): any name git can write, any bytes in a file.

Each example builds a repository with files whose names hold spaces, double quotes,
backslashes, tabs, newlines, carriage returns, control characters, non-ASCII text and
latin-1 bytes that are not UTF-8, and whose lines hold latin-1 bytes and text that looks
like diff syntax (`++ b/evil.py` is an added line that git prints as `+++ b/evil.py`).
It changes them on a branch (committed, staged or unstaged: edited, deleted, moved, new,
untracked; some binary) and compares `gitdiff.changed_lines` with an oracle that never
reads git's output: difflib over the lines (git's lines: ended by a newline only) of the
bytes written, and each name as the kit gives every path, the bytes decoded as UTF-8 with
surrogateescape (as os.fsdecode does).
"""

from __future__ import annotations

import difflib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from tasks.gate import gitdiff
from tests.conftest import git, init_repo

# Pieces of names. None holds "/" or NUL (the two bytes Linux refuses in a name) or "."
# (so no name is "." or "..", or starts .git, and a folder never has a file's name).
NAME_PIECES = st.sampled_from(
    [
        b"a", b"Mod9", b"-x", b" ", b"  ", b'"', b"'", b"\\", b"\t", b"\n", b"\r", b"\x01", b"\x1b", b"\x7f",
        b" and ", b"b", b"dev", b"null", b"#", b"::warning::", b"%0A", b"<>|*?", b"$(x)",
        "é".encode(), "naïve".encode(), "日本".encode(), "\u2028".encode(),
        b"\xe9", b"caf\xe9", b"\xff\xfe", b"\xc3", b"\x85", b"\xa0",
    ]
)  # fmt: skip
COMPONENT = st.lists(NAME_PIECES, min_size=1, max_size=4).map(b"".join)
NAMES = st.builds(
    lambda folders, stem, suffix: b"/".join([*folders, stem + suffix]),
    st.lists(COMPONENT, max_size=2),
    COMPONENT,
    st.sampled_from([b".py", b".txt"]),
)

# Lines of a file (each made unique when used, see `Lines`). Latin-1 bytes, and text that
# looks like diff syntax once git puts "+" or "-" before it, or once a line is split
# anywhere but at "\n" (form feed, \x1c, NEL, U+2028 and a lone CR are line breaks to
# str.splitlines; only "\n" ends a line of git's).
LINE_TEXTS = st.sampled_from(
    [
        b"x = 1", b"", b"    return x", b"caf\xe9 = '\xe9t\xe9'  # latin-1", b"# \xff\xfe\xfd", b"\xa0\x85",
        "naïve = 'ü'".encode(), "# \u2028 \u2029 \x85".encode(),
        b"++ b/evil.py", b"+++ b/evil.py", b"-- a/x.py", b"--- /dev/null", b"@@ -1 +99 @@",
        b"\x0cdiff --git a/q.py b/q.py", b"x\x0c@@ -1 +99 @@", b"\x1c+++ b/evil.py", b"x\ry", b"\r",
        "\u2028@@ -1 +77 @@".encode(), b"\x0b\x1d\x1e", b"rename to z.py", b"Binary files a/x and b/x differ",
        b"\\ No newline at end of file", b"\t\"quoted\" \\ back", b"\x01\x02\x7f",
    ]
)  # fmt: skip


class Lines:
    """Makes every line of an example different from every other: then the common lines of
    a file's old and new text are exactly the kept ones, whatever the diff algorithm, so
    git's diff and difflib must agree on which lines are new."""

    def __init__(self) -> None:
        self.count = 0

    def make(self, texts: list[bytes]) -> list[bytes]:
        made = []
        for text in texts:
            self.count += 1
            made.append(text + b" %d" % self.count)
        return made


def content(lines: list[bytes], final_newline: bool, binary: bool) -> bytes:
    text = b"\n".join(lines) + (b"\n" if final_newline and lines else b"")
    return b"\0" + text if binary else text  # git takes a file with a NUL for binary


def git_lines(data: bytes) -> list[bytes]:
    """The lines of a file as git counts them: each ends at "\\n" (kept), the last maybe not."""
    parts = data.split(b"\n")
    return [part + b"\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def added_lines(old: bytes, new: bytes) -> frozenset[int]:
    matcher = difflib.SequenceMatcher(a=git_lines(old), b=git_lines(new), autojunk=False)
    return frozenset(
        line
        for tag, _, _, j1, j2 in matcher.get_opcodes()
        if tag in ("replace", "insert")
        for line in range(j1 + 1, j2 + 1)
    )


def kit_path(name: bytes) -> str:
    """A name as the kit gives paths: its real bytes, those that are not UTF-8 as surrogates."""
    return name.decode("utf-8", errors="surrogateescape")


Expected = dict[str, tuple[frozenset[int], bool]]


def oracle(before: dict[bytes, bytes], after: dict[bytes, bytes]) -> Expected:
    """What a diff from `before` to `after` adds: each new or changed file's new lines (none,
    and binary, when either side holds a NUL); deleted and unchanged files are not listed; a
    file moved as it is (a new name with a deleted file's bytes) is listed with no lines."""
    gone = {data for name, data in before.items() if name not in after}
    expected: Expected = {}
    for name, new in after.items():
        old = before.get(name)
        if old == new:
            continue
        if old is None and new in gone:  # an exact rename: every line of it is unique
            expected[kit_path(name)] = (frozenset(), False)
            continue
        binary = b"\0" in new or (old is not None and b"\0" in old)
        expected[kit_path(name)] = (frozenset() if binary else added_lines(old or b"", new), binary)
    return expected


@dataclass(frozen=True)
class Scenario:
    base: dict[bytes, bytes]  # committed on main
    # Where each change is made: "commit" (on the feature branch), "stage" or "worktree".
    changes: dict[bytes, tuple[str, bytes | None]]  # name -> (where, new content or None: deleted)
    untracked: dict[bytes, bytes]


WHERE = st.sampled_from(["commit", "stage", "worktree"])


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    names = draw(st.lists(NAMES, min_size=1, max_size=6, unique=True))
    split = draw(st.integers(min_value=1, max_value=len(names)))
    lines = Lines()

    def edit(old: list[bytes]) -> bytes:
        """New text: each old line kept or not, with fresh lines before, between and after."""
        new: list[bytes] = []
        for line in [*old, None]:
            new.extend(lines.make(draw(st.lists(LINE_TEXTS, max_size=2))))
            if line is not None and draw(st.sampled_from([True, True, False])):
                new.append(line)
        return content(new, draw(st.booleans()), draw(st.sampled_from([False, False, False, True])))

    base: dict[bytes, bytes] = {}
    changes: dict[bytes, tuple[str, bytes | None]] = {}
    for name in names[:split]:
        action = draw(st.sampled_from(["keep", "edit", "edit", "delete", "rename"]))
        old = lines.make(draw(st.lists(LINE_TEXTS, min_size=1 if action == "rename" else 0, max_size=8)))
        binary = draw(st.sampled_from([False, False, False, True]))
        base[name] = content(old, draw(st.booleans()), binary)
        if action == "edit":
            changes[name] = (draw(WHERE), edit(old))
        elif action == "delete":
            changes[name] = (draw(WHERE), None)
        elif action == "rename":  # moved as it is (a new name in the work tree is untracked)
            target = draw(NAMES.filter(lambda other: other not in names and other not in changes))
            where = draw(st.sampled_from(["commit", "stage"]))
            changes[name], changes[target] = (where, None), (where, base[name])
    untracked: dict[bytes, bytes] = {}
    for name in names[split:]:
        # At least one line: git lists a new empty file with no +++ line, so with no lines.
        new_lines = lines.make(draw(st.lists(LINE_TEXTS, min_size=1, max_size=6)))
        binary = draw(st.sampled_from([False, False, False, True]))
        data = content(new_lines, draw(st.booleans()), binary)
        # (A new file only in the work tree is an untracked one.)
        where = draw(st.sampled_from(["commit", "stage", "untracked"]))
        if where == "untracked":
            untracked[name] = data
        else:
            changes[name] = (where, data)
    return Scenario(base=base, changes=changes, untracked=untracked)


def write(root: Path, name: bytes, data: bytes | None) -> None:
    path = root / kit_path(name)  # a str with surrogates: the file gets exactly these bytes
    if data is None:
        path.unlink()
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def state(scenario: Scenario, upto: tuple[str, ...]) -> dict[bytes, bytes]:
    """The files once the changes made in `upto` are applied to the base."""
    files = dict(scenario.base)
    for name, (where, data) in scenario.changes.items():
        if where in upto:
            if data is None:
                del files[name]
            else:
                files[name] = data
    return files


def build(root: Path, scenario: Scenario) -> None:
    init_repo(root)
    for name, data in scenario.base.items():
        write(root, name, data)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    git(root, "checkout", "-q", "-b", "feature")
    for phase in ("commit", "stage", "worktree"):
        for name, (where, data) in scenario.changes.items():
            if where == phase:
                write(root, name, data)
        if phase == "commit":
            git(root, "add", "-A")
            git(root, "commit", "-q", "--allow-empty", "-m", "feature")
        elif phase == "stage":
            git(root, "add", "-A")
    for name, data in scenario.untracked.items():
        write(root, name, data)


def found(diff: gitdiff.Diff) -> Expected:
    paths = [change.path for change in diff.files]
    assert len(paths) == len(set(paths)), paths  # each file once
    return {change.path: (change.added, change.binary) for change in diff.files}


@settings(max_examples=60, deadline=None)
@given(scenario=scenarios())
def test_changed_lines__any_names_and_bytes_in_real_git__exactly_the_added_lines(scenario: Scenario) -> None:
    with tempfile.TemporaryDirectory(prefix="gitdiff-") as folder:
        root = Path(folder).resolve() / "repo"
        build(root, scenario)
        on_disk = {
            os.path.relpath(os.path.join(top, file), os.fsencode(root))  # noqa: PTH118 (bytes paths)
            for top, _, files in os.walk(os.fsencode(root))
            if b"/.git/" not in top + b"/"
            for file in files
        }
        final = state(scenario, ("commit", "stage", "worktree"))
        assert on_disk == {*final, *scenario.untracked}  # the real bytes, latin-1 ones too

        expected = oracle(scenario.base, final)
        expected.update(oracle({}, scenario.untracked))
        assert found(gitdiff.changed_lines(root, "main")) == expected
        assert found(gitdiff.changed_lines(root, "main", include_untracked=False)) == oracle(
            scenario.base, final
        )
        staged = oracle(state(scenario, ("commit",)), state(scenario, ("commit", "stage")))
        assert found(gitdiff.changed_lines(root, "main", staged=True)) == staged
