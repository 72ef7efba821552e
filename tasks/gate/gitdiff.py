"""Which lines a change touches: the merge-base of a base ref against the working tree.

`parse` is pure (unified diff text in, changed lines out); `changed_lines` is the edge
that runs git, and turns every git failure a user can fix into a ConfigError that says how.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError


@dataclass(frozen=True, kw_only=True)
class FileChange:
    """One file in the diff: its new path (relative to the git top level) and added lines."""

    path: str
    added: frozenset[int]
    binary: bool = False


@dataclass(frozen=True, kw_only=True)
class Diff:
    base: str  # the ref as given
    merge_base: str  # the commit compared against
    toplevel: Path
    files: tuple[FileChange, ...]


_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")
_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


def unquote(path: str) -> str:
    """Undo git's C-style quoting of unusual file names ("a\\303\\251.py" -> "aé.py")."""
    if not (path.startswith('"') and path.endswith('"')):
        return path
    raw = bytearray()
    body = path[1:-1]
    index = 0
    while index < len(body):
        char = body[index]
        if char != "\\":
            raw.extend(char.encode("utf-8", errors="surrogateescape"))  # a byte not UTF-8 stays itself
            index += 1
        elif body[index + 1] in _ESCAPES:
            raw.append(_ESCAPES[body[index + 1]])
            index += 2
        else:
            raw.append(int(body[index + 1 : index + 4], 8))
            index += 4
    return raw.decode("utf-8", errors="surrogateescape")


def _new_path(line: str) -> str | None:
    """The path on a '+++ ' line, or None for a deleted file."""
    name = line[4:].rstrip("\n")
    # git ends the name with a tab when it holds a space, quoted or not (a tab inside a
    # name is always quoted, as \t, so the first raw tab is git's).
    name = name.split("\t", 1)[0]
    if name == "/dev/null":
        return None
    name = unquote(name)
    return name[2:] if name.startswith("b/") else name


def parse(text: str) -> tuple[FileChange, ...]:
    """Added or modified lines per file from `git diff --unified=0` output.

    Deleted files have no new lines and are left out; binary files are listed with no
    lines; a rename lists the new path with the lines changed in it (none for a pure rename).
    """
    changes: dict[str, set[int]] = {}
    binary: set[str] = set()
    current: str | None = None
    header = deleted = False  # in a file's header: from its "diff --git" line to its first hunk
    # Only "\n" ends a line of git's: str.splitlines would also split a name or a line of a
    # file at a form feed, \x1c, NEL or U+2028.
    for line in text.split("\n"):
        if line.startswith("diff --git "):
            current, header, deleted = None, True, False
        elif match := _HUNK.match(line):
            header = False
            if current is not None:
                start, count = int(match.group(1)), int(match.group(2) or "1")
                changes[current].update(range(start, start + count))
        elif not header:
            continue  # a line of a hunk: the file's own text ("++ x" is printed "+++ x")
        elif line.startswith("+++ "):
            current = _new_path(line)
            if current is not None:
                changes.setdefault(current, set())
        elif line.startswith("rename to "):
            current = unquote(line[len("rename to ") :])
            changes.setdefault(current, set())
        elif line.startswith("deleted file mode "):
            deleted = True
        elif line.startswith("Binary files ") and line.endswith(" differ") and not deleted:
            # "Binary files A and B differ", where a name may hold " and " itself: a renamed
            # file's new name is known already; else B is "b/" and A's name (or A /dev/null).
            if current is None:
                names = line[len("Binary files ") : -len(" differ")]
                new_file = names.startswith("/dev/null and ")
                target = names[len("/dev/null and ") if new_file else (len(names) + len(" and ")) // 2 :]
                current = unquote(target)
                current = current[2:] if current.startswith("b/") else current
            binary.add(current)
            changes.setdefault(current, set())
    return tuple(
        FileChange(path=path, added=frozenset(lines), binary=path in binary)
        for path, lines in sorted(changes.items())
    )


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    if shutil.which("git") is None:
        raise ConfigError(
            "git is not installed or not on PATH; the changed-line policy and the history need it. "
            "Install git, or pass --commit and --branch to nox -s baseline."
        )
    # File names and contents in any encoding: bytes that are not UTF-8 come through as
    # surrogates (as Python's file system names do), never as an error. Decoded here, not by
    # subprocess: its text mode turns every "\r" into "\n" (in a name, or a line of a file).
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    return subprocess.CompletedProcess(
        done.args,
        done.returncode,
        done.stdout.decode("utf-8", errors="surrogateescape"),
        done.stderr.decode("utf-8", errors="surrogateescape"),
    )


# Every setting of the user's or the repository's that changes what `git diff` prints, pinned
# (as diff-cover does): path prefixes (diff.noprefix, diff.mnemonicPrefix), paths relative to
# a subfolder (diff.relative), colour, external diff drivers and text conversion, the diff
# algorithm, and quoting of unusual names. Renames are detected, so a moved file's lines
# are not all new.
PINNED_DIFF = [
    "-c",
    "core.quotePath=false",
    "diff",
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "--no-relative",
    "--src-prefix=a/",
    "--dst-prefix=b/",
    "--diff-algorithm=myers",
    "--unified=0",
    "-M",
]


def untracked(toplevel: Path) -> tuple[FileChange, ...]:
    """Files git does not track yet (and does not ignore): every line of each is added."""
    listed = _git(["ls-files", "--others", "--exclude-standard", "-z"], toplevel)
    if listed.returncode != 0:
        raise ConfigError(f"git ls-files failed: {listed.stderr.strip()}")
    changes = []
    for name in filter(None, listed.stdout.split("\0")):
        try:
            content = (toplevel / name).read_bytes()
        except OSError:
            continue  # gone since git listed it, or not a file (a socket)
        binary = b"\0" in content
        # Lines as git counts them once the file is added: ended by "\n" alone (not "\r").
        count = content.count(b"\n") + (not content.endswith(b"\n") and content != b"")
        lines = frozenset() if binary else frozenset(range(1, count + 1))
        changes.append(FileChange(path=name, added=lines, binary=binary))
    return tuple(changes)


def changed_lines(
    project_dir: Path, base: str, *, staged: bool = False, include_untracked: bool = True
) -> Diff:
    """Lines added or modified since the merge-base of `base` (or staged, with `staged`),
    with every line of the files not yet added to git unless `include_untracked` is off."""
    toplevel = _toplevel(project_dir)
    quiet = PINNED_DIFF
    if staged:
        merge_base = "HEAD"
        diff = _git([*quiet, "--cached"], toplevel)
    else:
        merge_base = _merge_base(toplevel, base)
        diff = _git([*quiet, merge_base], toplevel)
    if diff.returncode != 0:
        raise ConfigError(f"git diff failed: {diff.stderr.strip()}")
    files = parse(diff.stdout)
    if include_untracked and not staged:  # a staged change is what the index holds, nothing else
        files = tuple(sorted((*files, *untracked(toplevel)), key=lambda change: change.path))
    return Diff(base=base, merge_base=merge_base, toplevel=toplevel, files=files)


def changed_paths(project_dir: Path, base: str) -> tuple[str, Path, list[str]]:
    """(merge-base, top of the checkout, every path that differs between the merge-base of
    `base` and the working tree): added, modified, deleted (a rename is both its names) and
    not yet tracked, relative to the top."""
    toplevel = _toplevel(project_dir)
    merge_base = _merge_base(toplevel, base)
    paths = set(_tracked_changes(toplevel, merge_base)) | {change.path for change in untracked(toplevel)}
    return merge_base, toplevel, sorted(paths)


def paths_since(toplevel: Path, commit: str) -> list[str] | None:
    """Every tracked path that differs between `commit` and the working tree, relative to
    the top, or None when the clone does not have `commit` (a shallow clone)."""
    if _git(["cat-file", "-e", f"{commit}^{{commit}}"], toplevel).returncode != 0:
        return None
    return _tracked_changes(toplevel, commit)


def _tracked_changes(toplevel: Path, commit: str) -> list[str]:
    """The tracked paths that differ between `commit` and the working tree: added, modified,
    deleted (a rename is both its names), relative to the top."""
    names = _git(
        ["-c", "core.quotePath=false", "diff", "--name-only", "--no-renames", "--no-relative", "-z", commit],
        toplevel,
    )
    if names.returncode != 0:
        raise ConfigError(f"git diff failed: {names.stderr.strip()}")
    return sorted(filter(None, names.stdout.split("\0")))


def _toplevel(project_dir: Path) -> Path:
    top = _git(["rev-parse", "--show-toplevel"], project_dir)
    if top.returncode != 0:
        raise ConfigError(
            f"{project_dir} is not inside a git repository, so there is no change to measure. "
            'Run the gate from a git checkout, or switch the changed-line policy off (gate.changed = "off").'
        )
    return Path(top.stdout.strip()).resolve()


def _merge_base(toplevel: Path, base: str) -> str:
    """The commit that HEAD and `base` share, or a ConfigError saying how to get it."""
    if _git(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], toplevel).returncode != 0:
        raise ConfigError(
            f"{toplevel} has no commit yet, so there is no change to measure against {base!r}. "
            "Commit first, or check only staged changes (--staged)."
        )
    resolved = _git(["rev-parse", "--verify", "--quiet", f"{base}^{{commit}}"], toplevel)
    if resolved.returncode != 0:
        shallow = _git(["rev-parse", "--is-shallow-repository"], toplevel).stdout.strip() == "true"
        remote, _, branch = base.partition("/")
        fetch = f"git fetch {remote} {branch}" if branch else f"git fetch origin {base}"
        raise ConfigError(
            f"base ref {base!r} is not in this repository"
            + (" (this is a shallow clone)" if shallow else "")
            + f". Fetch it first: {fetch}; on GitHub Actions set `fetch-depth: 0` on "
            "actions/checkout. Or pass another ref with --base."
        )
    found = _git(["merge-base", base, "HEAD"], toplevel)
    if found.returncode != 0:
        raise ConfigError(
            f"no merge-base between {base!r} and HEAD (unrelated histories, or a shallow clone "
            f"that lacks it). Fetch more history: git fetch --unshallow, or `fetch-depth: 0`."
        )
    return found.stdout.strip()


def head(cwd: Path) -> tuple[str, str | None]:
    """The checked-out commit and branch (None when HEAD is detached)."""
    commit = _git(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], cwd)
    if commit.returncode != 0:
        raise ConfigError(
            f"{cwd} is not a git checkout with a commit, so the snapshot has no commit to be "
            "filed under. Pass --commit SHA --branch NAME."
        )
    branch = _git(["symbolic-ref", "--quiet", "--short", "HEAD"], cwd)
    return commit.stdout.strip(), (branch.stdout.strip() or None) if branch.returncode == 0 else None


def resolve(cwd: Path, ref: str) -> str | None:
    """The commit a ref names (a branch, tag, HEAD~2, a short sha), or None."""
    if ref.startswith("-"):
        return None  # never let a ref read as an option
    found = _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], cwd)
    return found.stdout.strip() if found.returncode == 0 else None


def merge_base_of(cwd: Path, ref: str, commit: str) -> str | None:
    """The merge-base of `ref` and `commit`, or None where git cannot say (no git, no such
    ref, a shallow clone that lacks it)."""
    if shutil.which("git") is None or (resolved := resolve(cwd, ref)) is None:
        return None
    found = _git(["merge-base", resolved, commit], cwd)
    return found.stdout.strip() if found.returncode == 0 else None


def contains(cwd: Path, commit: str, ancestor: str) -> bool:
    """Whether `ancestor` is `commit` or one of its ancestors; False for a commit git does
    not know (a shallow clone, a sha recorded elsewhere) or a name that is not a sha."""
    if shutil.which("git") is None or re.fullmatch(r"[0-9a-fA-F]{4,64}", ancestor) is None:
        return False
    return _git(["merge-base", "--is-ancestor", ancestor, commit], cwd).returncode == 0


def branch_of(cwd: Path, ref: str) -> str:
    """The branch name a ref stands for, as snapshots are filed: "origin/main" and
    "refs/remotes/origin/main" are "main", "feature/login" stays "feature/login". A ref git
    does not know (or no git) is taken as written."""
    if ref.startswith("-") or shutil.which("git") is None:
        return ref
    full = _git(["rev-parse", "--symbolic-full-name", ref], cwd)
    name = full.stdout.strip() if full.returncode == 0 else ""
    if name.startswith("refs/heads/"):
        return name[len("refs/heads/") :]
    if name.startswith("refs/remotes/"):
        return name[len("refs/remotes/") :].split("/", 1)[-1]
    return ref


def names_a_branch(cwd: Path, ref: str) -> bool:
    """Whether `ref` is a local or remote branch (not a commit or a tag); True where git
    cannot tell (no git, no repository): the ref is then taken as the branch it names."""
    if ref.startswith("-") or shutil.which("git") is None:
        return True
    full = _git(["rev-parse", "--symbolic-full-name", ref], cwd)
    if full.returncode != 0:
        return True
    # A commit (or HEAD~2) has no symbolic name; a tag's starts refs/tags/.
    return full.stdout.strip().startswith(("refs/heads/", "refs/remotes/"))


def identify(
    cwd: Path, commit: str | None, branch: str | None, environ: Mapping[str, str]
) -> tuple[str, str]:
    """The commit and branch a snapshot is filed under: as given, else from git (and, on
    GitHub Actions, the pull request's branch, since its checkout is a detached merge)."""
    found_commit, found_branch = (commit, branch) if commit and branch else head(cwd)
    on_actions = environ.get("GITHUB_ACTIONS") == "true"
    name = (
        branch
        or (environ.get("GITHUB_HEAD_REF") if on_actions else None)
        or found_branch
        or (environ.get("GITHUB_REF_NAME") if on_actions else None)
    )
    if not name:
        raise ConfigError(
            "HEAD is detached, so there is no branch to file the snapshot under. "
            "Pass --branch NAME (for example the branch this commit belongs to)."
        )
    return commit or str(found_commit), name


def current_branch(cwd: Path, branch: str | None, environ: Mapping[str, str]) -> str:
    return branch or identify(cwd, None, None, environ)[1]


def is_checkout(cwd: Path) -> bool:
    """Whether `cwd` is inside a git work tree, with git installed to say so."""
    if shutil.which("git") is None:
        return False
    found = _git(["rev-parse", "--is-inside-work-tree"], cwd)
    return found.returncode == 0 and found.stdout.strip() == "true"
