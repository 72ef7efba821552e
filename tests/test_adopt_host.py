"""What adopt adds to a repository's own files, with real git: a .gitignore that hid the
kit's folder gets the narrowest negation, and the kit's data stays ignored."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasks.adopt import host
from tests.conftest import init_repo, run, write_files

KIT_FILES = [
    ".coverage-workflows/noxfile.py",
    ".coverage-workflows/configs/services.toml",
    ".coverage-workflows/coverage_workflows/cli/main.py",
    "noxfile.py",
    ".gitignore",
]
KEPT_OUT = [
    ".coverage-workflows/.coverage-data/xp",
    ".coverage-workflows/reports/index.html",
    ".coverage-workflows/.coverage-history/history.db",
]


def ignored(root: Path, paths: list[str]) -> list[str]:
    result = run(["git", "check-ignore", "--no-index", "--stdin"], root, input_text="\n".join(paths) + "\n")
    return result.stdout.split()


@pytest.mark.parametrize(
    ("rules", "negations"),
    [
        ("/.coverage*\n", ["!/.coverage-workflows/"]),  # the pattern that hid it on a real repository
        (".coverage*\nconfigs/\n", ["!/.coverage-workflows/", "!/.coverage-workflows/configs/"]),
        ("*.toml\n", ["!/.coverage-workflows/configs/services.toml"]),
    ],
)
def test_unhide__the_narrowest_negation_and_the_data_stays_ignored(
    tmp_path: Path, rules: str, negations: list[str]
) -> None:
    root = init_repo(tmp_path / "repo")
    write_files(root, {path: "x\n" for path in [*KIT_FILES, *KEPT_OUT]})
    (root / ".gitignore").write_text(rules)
    host.ignore_outputs(root)  # the kit's data, history and reports, as adopt adds them first
    assert ignored(root, KIT_FILES), "the rules hide nothing: the test proves nothing"

    said = host.unhide(root, KIT_FILES)
    assert said is not None and all(line in said for line in negations), said
    assert ignored(root, KIT_FILES) == []
    assert ignored(root, KEPT_OUT) == KEPT_OUT
    added = (root / ".gitignore").read_text().split(host.UNHIDE_HEADER, 1)[1].split()
    assert added == negations
    assert host.unhide(root, KIT_FILES) is None  # a second adopt adds nothing


def test_unhide__nothing_hidden_nothing_written(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "repo")
    write_files(root, {path: "x\n" for path in KIT_FILES})
    (root / ".gitignore").write_text("*.pyc\n")
    assert host.unhide(root, KIT_FILES) is None
    assert (root / ".gitignore").read_text() == "*.pyc\n"
