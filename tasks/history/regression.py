"""What the gate's regression policy compares with: the base branch's baseline, or, for a
change, the base branch as the change found it."""

from __future__ import annotations

from pathlib import Path

from ..analyze.analysis import Figures
from ..config.manifest import Manifest
from ..errors import DataError
from ..gate import gitdiff
from .snapshot import Baseline, Snapshot
from .store import History

# How a run of the base branch itself gets past a drop that no change of its own can undo.
ACCEPT = (
    "restore the coverage, or accept the new figures as {branch}'s baseline: nox -s baseline -- --set "
    "--force here; in CI, gh workflow run coverage.yml --ref {branch} -f accept-baseline=true (the "
    "coverage workflow's accept-baseline input, docs/ci.md)"
)


def baseline_figures(manifest: Manifest, ref: str) -> tuple[dict[str, Figures] | None, str]:
    """The figures the regression policy compares with, and a note saying what they are (or
    why none): the base branch's baseline; for a change (HEAD has commits of its own since
    the merge-base with `ref`), the base branch's newest snapshot recorded since its baseline
    that HEAD contains, when there is one: the branch as the change found it, which a change
    cannot be blamed for.

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
            since = history.since(found) if found is not None else []
    except DataError as exc:
        if manifest.gate.regression == "fail":
            raise
        return None, f"Regression not checked: {exc.message}"
    if found is None:
        return None, f"Regression not checked: no baseline for {branch!r} in {shown}; {record}."
    tolerance, noise = manifest.gate.tolerance, manifest.gate.noise
    bands = f"a drop of more than {tolerance:g} points fails, more than {noise:g} warns."
    note = f"Regression measured against the baseline of {branch!r}: snapshot {found.snapshot.label}; {bands}"
    head = gitdiff.resolve(manifest.project_dir, "HEAD")
    merge_base = gitdiff.merge_base_of(manifest.project_dir, ref, head) if head is not None else None
    if head is None or merge_base is None:  # git cannot say where HEAD stands: the baseline, as ever
        return found.snapshot.headline(), note
    if merge_base == head:  # the base branch itself (its own push run), or behind it
        return found.snapshot.headline(), f"{note} {_on_the_base_branch(found, since)}"
    current = _newest_contained(manifest.project_dir, since, head)
    if current is None:
        return found.snapshot.headline(), note
    return current.headline(), (
        f"Regression measured against {branch} as it is: snapshot #{current.id} (commit "
        f"{current.commit[:7]}, {current.when}), recorded after its baseline #{found.snapshot.id}, "
        f"which {branch}'s own gate has not passed since; {branch}'s runs fail until its coverage "
        f"is restored or the drop accepted (docs/gate.md); {bands}"
    )


def _on_the_base_branch(found: Baseline, since: list[Snapshot]) -> str:
    """What a run of the base branch itself (HEAD is the merge-base) does about a drop."""
    branch = found.branch
    failed = ""
    if since:
        failed = (
            f"Snapshots of {branch} recorded since (the newest #{since[-1].id}) were not made its "
            "baseline: its own gate has not passed since. "
        )
    return (
        f"{failed}This is {branch}'s own run: if the regression policy fails, {ACCEPT.format(branch=branch)}."
    )


def _newest_contained(cwd: Path, snapshots: list[Snapshot], head: str) -> Snapshot | None:
    """The newest of `snapshots` whose commit is HEAD's or an ancestor of it; a commit git
    does not know (a shallow clone, a snapshot imported from elsewhere) is passed over."""
    answers: dict[str, bool] = {}
    for snapshot in reversed(snapshots):
        if snapshot.commit not in answers:
            answers[snapshot.commit] = gitdiff.contains(cwd, head, snapshot.commit)
        if answers[snapshot.commit]:
            return snapshot
    return None
