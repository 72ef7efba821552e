"""The base branch's baseline, as the gate's regression policy compares against it."""

from __future__ import annotations

from ..analyze.analysis import Figures
from ..config.manifest import Manifest
from ..errors import DataError
from ..gate import gitdiff
from .store import History


def baseline_figures(manifest: Manifest, ref: str) -> tuple[dict[str, Figures] | None, str]:
    """The base branch's baseline figures, and a note saying what they are (or why none).

    No history, or no baseline for the branch, skips the policy with a note, so that a new
    setup does not block its first pull requests; so does an unreadable history when the
    policy only warns.
    """
    shown = manifest.display(manifest.history)
    branch = gitdiff.branch_of(manifest.project_dir, ref)
    if gitdiff.names_a_branch(manifest.project_dir, ref):
        record = f"record one on {branch}: nox -s baseline -- --set"
    else:  # a commit or a tag: baselines belong to branches, so no --set can make one for it
        record = f"baselines belong to branches, and {ref!r} names none: pass --base BRANCH"
    if not manifest.history.exists():
        return None, f"Regression not checked: no history at {shown}; {record}."
    try:
        with History.open(manifest.history, shown, create=False) as history:
            found = history.baseline(branch)
    except DataError as exc:
        if manifest.gate.regression == "fail":
            raise
        return None, f"Regression not checked: {exc.message}"
    if found is None:
        return None, f"Regression not checked: no baseline for {branch!r} in {shown}; {record}."
    tolerance, noise = manifest.gate.tolerance, manifest.gate.noise
    return found.snapshot.headline(), (
        f"Regression measured against the baseline of {found.branch!r}: snapshot {found.snapshot.label}; "
        f"a drop of more than {tolerance:g} points fails, more than {noise:g} warns."
    )
