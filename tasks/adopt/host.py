"""What `adopt` adds to the adopting repository's own files, and nothing more: a short
include at the end of its noxfile.py (or a noxfile.py of one include), the kit's outputs in
its .gitignore, and the kit's workflows where it has none of those names."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

from .vendor import KIT_FOLDER, KIT_HOME, copy_file

MARKER = "# coverage-workflows:"  # the include's first line: present means included
INCLUDE = f"""\
{MARKER} its per-service coverage sessions, from {KIT_FOLDER}/ (added by its adopt).
import pathlib as _coverage_workflows_path  # noqa: E402
import runpy as _coverage_workflows_runpy  # noqa: E402

_coverage_workflows_runpy.run_path(
    str(_coverage_workflows_path.Path(__file__).parent / "{KIT_FOLDER}" / "noxfile.py"),
    run_name="coverage_workflows_include",
)
"""
NEW_NOXFILE = '"""Nox sessions of this repository."""\n\n'
IGNORED = [
    f"/{KIT_FOLDER}/.coverage-data/",
    f"/{KIT_FOLDER}/.coverage-history/",
    f"/{KIT_FOLDER}/reports/",
    ".nox/",
]
IGNORE_HEADER = "# coverage-workflows: its data, history and reports (its configs/ is yours to commit)"
WORKFLOWS = (".github/workflows/coverage.yml", ".github/workflows/maintenance.yml")
SCRIPTS = (".github/scripts/coverage-history.sh",)
# The line of the kit's workflows that says where the kit is, and what it becomes.
WORKFLOW_LINES = {'  KIT_DIR: "."\n': f'  KIT_DIR: "{KIT_FOLDER}"\n'}


def include_noxfile(root: Path) -> str | None:
    """Join the kit's sessions to the repository's noxfile.py; what was done, or None."""
    noxfile = root / "noxfile.py"
    if not noxfile.exists():
        noxfile.write_text(NEW_NOXFILE + INCLUDE, encoding="utf-8")
        return "noxfile.py: created, with the include of the kit's sessions"
    text = noxfile.read_text(encoding="utf-8")
    if MARKER in text:
        return None
    separator = "" if text.endswith("\n\n") else ("\n" if text.endswith("\n") else "\n\n")
    with noxfile.open("a", encoding="utf-8") as handle:
        handle.write(separator + INCLUDE)
    return (
        f"noxfile.py: {len(INCLUDE.splitlines())} lines added at its end (the include of the kit's sessions)"
    )


def ignore_outputs(root: Path) -> str | None:
    """Add the kit's outputs to .gitignore, unless each is there already."""
    path = root / ".gitignore"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    present = {line.strip() for line in text.splitlines()}
    missing = [entry for entry in IGNORED if entry not in present and entry.rstrip("/") not in present]
    if not missing:
        return None
    block = "\n".join([IGNORE_HEADER, *missing]) + "\n"
    separator = "" if not text or text.endswith("\n\n") else ("\n" if text.endswith("\n") else "\n\n")
    with path.open("a", encoding="utf-8") as handle:
        handle.write(separator + block)
    return f".gitignore: {', '.join(missing)} added"


UNHIDE_HEADER = "# coverage-workflows: its files, which a pattern above hides (its data stays ignored)"
MAX_ROUNDS = 8  # negations added one ancestor at a time: deeper is a loop


def unhide(root: Path, paths: list[str]) -> str | None:
    """Make the files adopt asks the user to commit committable: where the repository's
    ignore rules hide one, add the narrowest negation to .gitignore (the highest hidden
    folder above it, or the file itself), the kit's data, history and reports staying
    ignored. What was added, or None (nothing hidden, or no git here)."""
    added: list[str] = []
    for _ in range(MAX_ROUNDS):
        hidden = _ignored(root, paths)
        if not hidden:
            break
        negations = list(dict.fromkeys(_negation(root, path) for path in hidden))
        negations = [line for line in negations if line not in added]
        if not negations:
            break  # a rule git keeps above any negation (a hidden parent of the root's): said below
        _append_ignore(root, [UNHIDE_HEADER] if not added else [], negations)
        added += negations
    if not added:
        return None
    still = _ignored(root, paths)
    shown = ", ".join(added)
    if still:
        hidden_now = ", ".join(still[:3])
        return f".gitignore: {shown} added, yet git still ignores {hidden_now}: commit them with git add -f"
    return f".gitignore: {shown} added (a pattern there hid the kit's files)"


def _ignored(root: Path, paths: list[str]) -> list[str]:
    """Those of `paths` git's ignore rules hide, tracked or not; [] outside a git checkout."""
    try:
        result = subprocess.run(
            ["git", "check-ignore", "--no-index", "--stdin"],
            cwd=root,
            input="\n".join(paths) + "\n",
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return []
    return [line for line in result.stdout.splitlines() if line] if result.returncode == 0 else []


def _negation(root: Path, path: str) -> str:
    """The negation that un-hides `path`: its highest ancestor git ignores (git looks at no
    file in an ignored folder, whatever the rules say of the file), else the file itself."""
    parts = path.split("/")
    for depth in range(1, len(parts)):
        folder = "/".join(parts[:depth])
        if _ignored(root, [f"{folder}/"]):
            return f"!/{folder}/"
    return f"!/{path}"


def _append_ignore(root: Path, header: list[str], lines: list[str]) -> None:
    path = root / ".gitignore"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    separator = "" if not text or text.endswith("\n") else "\n"
    with path.open("a", encoding="utf-8") as handle:
        handle.write(separator + "\n".join([*header, *lines]) + "\n")


def copy_workflows(root: Path) -> tuple[list[str], list[str]]:
    """Copy the kit's workflows and their script where the repository has no file of that
    name, pointed at the kit's folder; (copied, the repository's own that differ from them)."""
    copied, kept = [], []
    for name in (*WORKFLOWS, *SCRIPTS):
        source = KIT_HOME / name
        if not source.is_file():
            continue  # a copy of the kit without its .github/: nothing to copy
        wanted = _pointed_at_kit(source.read_text(encoding="utf-8")) if name in WORKFLOWS else None
        target = root / name
        if target.exists():
            same = target.read_text(encoding="utf-8") == (wanted or source.read_text(encoding="utf-8"))
            if not same:
                kept.append(name)
            continue
        copy_file(source, target)
        if wanted is not None:
            target.write_text(wanted, encoding="utf-8")
        copied.append(name)
    return copied, kept


def _pointed_at_kit(text: str) -> str:
    for line, vendored in WORKFLOW_LINES.items():
        text = text.replace(line, vendored)
    return text


def session_warnings(root: Path) -> list[str]:
    """What the kit says when nox loads the repository's noxfile with it: sessions of the
    repository's that keep a kit session out. (Nothing where nox is not installed here.)"""
    if importlib.util.find_spec("nox") is None:
        return []
    try:
        listed = subprocess.run(
            [sys.executable, "-m", "nox", "-l"],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    found = [line for line in listed.stderr.splitlines() if line.startswith(MARKER.rstrip(":") + ":")]
    if found:
        found.append(
            "The kit's workflows run those sessions by name: rename the repository's to have the kit's."
        )
    elif listed.returncode != 0:
        found.append(f"nox -l in {root} failed (exit {listed.returncode}): {listed.stderr.strip()[-300:]}")
    return found
