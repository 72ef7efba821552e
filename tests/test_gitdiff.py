"""The diff parser, on literal diffs and on real git repositories built in tmp_path."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tasks.errors import ConfigError
from tasks.gate import gitdiff
from tests.conftest import commit_all, git, init_repo


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "diff --git a/x.py b/x.py\n--- a/x.py\n+++ b/x.py\n"
            "@@ -3,0 +4,2 @@\n+a\n+b\n@@ -10 +12 @@\n-c\n+d\n",
            {"x.py": {4, 5, 12}},
        ),
        ("diff --git a/x.py b/x.py\n--- a/x.py\n+++ b/x.py\n@@ -3,2 +2,0 @@\n-a\n-b\n", {"x.py": set()}),
        (
            "diff --git a/gone.py b/gone.py\ndeleted file mode 100644\n"
            "--- a/gone.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n",
            {},
        ),
        (
            'diff --git "a/caf\\303\\251.py" "b/caf\\303\\251.py"\n--- "a/caf\\303\\251.py"\n'
            '+++ "b/caf\\303\\251.py"\n@@ -0,0 +1 @@\n+x\n',
            {"café.py": {1}},
        ),
        (
            "diff --git a/old.py b/new.py\nsimilarity index 100%\nrename from old.py\nrename to new.py\n",
            {"new.py": set()},
        ),
        (
            "diff --git a/i.png b/i.png\nnew file mode 100644\nBinary files /dev/null and b/i.png differ\n",
            {"i.png": set()},
        ),
    ],
    ids=["added_and_modified", "pure_deletion", "deleted_file", "quoted_unicode", "pure_rename", "binary"],
)
def test_parse__literal_diffs(text: str, expected: dict[str, set[int]]) -> None:
    assert {c.path: set(c.added) for c in gitdiff.parse(text)} == expected


def test_changed_lines__real_git_handles_every_kind_of_change(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    (repo / "keep.py").write_text("".join(f"x{i} = {i}\n" for i in range(1, 21)))
    (repo / "rename_me.py").write_text("".join(f"r{i} = {i}\n" for i in range(1, 31)))
    (repo / "delete_me.py").write_text("d = 1\n")
    (repo / "img.bin").write_bytes(b"\x00\x01\x02")
    commit_all(repo, "base")
    git(repo, "checkout", "-q", "-b", "feature")

    lines = (repo / "keep.py").read_text().splitlines(keepends=True)
    lines[4] = "x5 = 'changed'\n"  # line 5 modified
    lines.insert(10, "inserted = True\n")  # new line 11
    (repo / "keep.py").write_text("".join(lines))
    git(repo, "mv", "rename_me.py", "renamed.py")
    renamed = (repo / "renamed.py").read_text().splitlines(keepends=True)
    renamed[29] = "r30 = 'changed'\n"
    (repo / "renamed.py").write_text("".join(renamed))
    (repo / "delete_me.py").unlink()
    (repo / "with space.py").write_text("a = 1\nb = 2\n")
    (repo / 'say "hi" now.py').write_text("q = 1\n")  # quoted by git, and a tab after the quote
    (repo / "naïve <b>.py").write_text("c = 3\n")
    (repo / "img.bin").write_bytes(b"\x00\x09\x08\x07")
    (repo / "big.py").write_text("".join(f"v{i} = {i}\n" for i in range(20000)))
    commit_all(repo, "feature")
    (repo / "keep.py").write_text((repo / "keep.py").read_text() + "tail = 1\n")  # unstaged

    diff = gitdiff.changed_lines(repo, "main")
    found = {c.path: c for c in diff.files}
    assert set(found) == {
        "keep.py",
        "renamed.py",
        "with space.py",
        'say "hi" now.py',
        "naïve <b>.py",
        "img.bin",
        "big.py",
    }
    assert found['say "hi" now.py'].added == {1}
    assert found["keep.py"].added == {5, 11, 22}
    assert found["renamed.py"].added == {30}
    assert found["with space.py"].added == {1, 2}
    assert found["naïve <b>.py"].added == {1}
    assert found["img.bin"].binary and not found["img.bin"].added
    assert found["big.py"].added == set(range(1, 20001))
    assert diff.merge_base == git(repo, "rev-parse", "main").strip()

    git(repo, "add", "keep.py")
    staged = gitdiff.changed_lines(repo, "main", staged=True)
    assert {c.path: set(c.added) for c in staged.files} == {"keep.py": {22}}


def test_changed_lines__missing_base_in_shallow_clone_says_how_to_fetch(tmp_path: Path) -> None:
    origin = init_repo(tmp_path / "origin")
    for index in range(3):
        (origin / "a.py").write_text(f"a = {index}\n")
        commit_all(origin, f"c{index}")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{origin}", str(clone)], check=True)
    with pytest.raises(ConfigError) as caught:
        gitdiff.changed_lines(clone, "origin/develop")
    message = caught.value.message
    assert "'origin/develop' is not in this repository (this is a shallow clone)" in message
    assert "git fetch origin develop" in message and "fetch-depth: 0" in message


def test_changed_lines__not_a_repository(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not inside a git repository"):
        gitdiff.changed_lines(tmp_path, "main")


def test_changed_lines__git_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ConfigError, match="git is not installed"):
        gitdiff.changed_lines(tmp_path, "main")


def test_changed_lines__detached_head(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    (repo / "a.py").write_text("a = 1\n")
    commit_all(repo, "base")
    (repo / "a.py").write_text("a = 1\nb = 2\n")
    commit_all(repo, "next")
    git(repo, "checkout", "-q", "--detach", "HEAD")
    diff = gitdiff.changed_lines(repo, "HEAD~1")
    assert {c.path: set(c.added) for c in diff.files} == {"a.py": {2}}


def test_branch_of__names_the_branch_a_ref_stands_for(tmp_path: Path) -> None:
    origin = init_repo(tmp_path / "origin")
    (origin / "a.py").write_text("x = 1\n")
    commit_all(origin, "one")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(origin), str(clone))
    git(clone, "branch", "feature/login")
    assert gitdiff.branch_of(clone, "origin/main") == "main"
    assert gitdiff.branch_of(clone, "refs/remotes/origin/main") == "main"
    assert gitdiff.branch_of(clone, "feature/login") == "feature/login"
    assert gitdiff.branch_of(clone, "main") == "main"
    assert gitdiff.branch_of(clone, "no-such-ref") == "no-such-ref"


def changed_repo(tmp_path: Path) -> Path:
    """A change on a branch: lines added in a top-level folder named `b` (what a stripped
    prefix would be confused with) and in a subfolder, plus a file not yet added to git."""
    repo = init_repo(tmp_path / "repo")
    for name in ("b/mod.py", "pkg/deep/mod.py"):
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text("one = 1\n")
    commit_all(repo, "base")
    git(repo, "checkout", "-q", "-b", "feature")
    for name in ("b/mod.py", "pkg/deep/mod.py"):
        (repo / name).write_text("one = 1\ntwo = 2\nthree = 3\n")
    commit_all(repo, "feature")
    (repo / "pkg" / "new.py").write_text("a = 1\nb = 2\n")  # untracked
    return repo


USER_SETTINGS = {
    "plain": "",
    "mnemonicPrefix": "[diff]\n\tmnemonicPrefix = true\n",
    "noprefix": "[diff]\n\tnoprefix = true\n",
    "relative": "[diff]\n\trelative = true\n",
    "colour and renames": "[color]\n\tui = always\n\tdiff = always\n[diff]\n\trenames = copies\n",
    "external driver": "[diff]\n\texternal = false\n",
}


@pytest.mark.parametrize("settings", list(USER_SETTINGS), ids=list(USER_SETTINGS))
def test_changed_lines__the_users_git_settings_change_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: str
) -> None:
    repo = changed_repo(tmp_path)
    user_config = tmp_path / "gitconfig"
    user_config.write_text(USER_SETTINGS[settings])
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(user_config))
    subfolder = repo / "pkg"  # diff.relative would cut paths to this folder
    diff = gitdiff.changed_lines(subfolder, "main")
    assert {c.path: set(c.added) for c in diff.files} == {
        "b/mod.py": {2, 3},
        "pkg/deep/mod.py": {2, 3},
        "pkg/new.py": {1, 2},
    }


def test_changed_lines__untracked_files_count_unless_left_out(tmp_path: Path) -> None:
    repo = changed_repo(tmp_path)
    (repo / ".gitignore").write_text("ignored.py\n")
    (repo / "ignored.py").write_text("x = 1\n")
    (repo / "blob.bin").write_bytes(b"\x00\x01")
    found = {c.path: c for c in gitdiff.changed_lines(repo, "main").files}
    assert found["pkg/new.py"].added == {1, 2}
    assert found[".gitignore"].added == {1}
    assert found["blob.bin"].binary and not found["blob.bin"].added
    assert "ignored.py" not in found  # what git ignores is not the change's
    left_out = gitdiff.changed_lines(repo, "main", include_untracked=False)
    assert {c.path for c in left_out.files} == {"b/mod.py", "pkg/deep/mod.py"}
    git(repo, "add", "pkg/new.py")
    staged = gitdiff.changed_lines(repo, "main", staged=True)
    assert {c.path: set(c.added) for c in staged.files} == {"pkg/new.py": {1, 2}}


def test_changed_lines__a_repository_with_no_commit_says_so(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    (repo / "a.py").write_text("a = 1\n")
    with pytest.raises(ConfigError) as caught:
        gitdiff.changed_lines(repo, "origin/main")
    assert "has no commit yet" in caught.value.message
    assert "git fetch" not in caught.value.message  # fetching is not the fix


def test_names_a_branch__branches_yes_commits_and_tags_no(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    (repo / "a.py").write_text("a = 1\n")
    commit_all(repo, "one")
    git(repo, "tag", "v1")
    sha = git(repo, "rev-parse", "HEAD").strip()
    assert gitdiff.names_a_branch(repo, "main")
    assert gitdiff.names_a_branch(repo, "not-known-here")  # taken as the branch it names
    assert not gitdiff.names_a_branch(repo, sha)
    assert not gitdiff.names_a_branch(repo, "v1")
