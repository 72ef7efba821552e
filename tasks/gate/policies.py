"""The gate's policy engine: figures and changed lines in, a verdict out. Pure.

Policies (docs/gate.md): `total` (whole-suite line and branch floors), `service` (each
service's isolated figures), `file` (each file's isolated line coverage against its
floor), `changed` (the lines a change touches, covered by their owner's own tests),
`regression` (the total and each service against the base branch's baseline). Each runs
in mode fail, warn or off.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..analyze.analysis import Figures, ServiceFigures, headline_figures
from ..config.manifest import DEFAULT_CHANGED_FLOOR, TOTAL, Manifest

PASS, WARN, FAIL = "pass", "warn", "fail"
# A check that did not fail, on data combined without some services (combine --allow-missing):
# the gate fails, unless told to judge what is there (gate --allow-missing).
INCOMPLETE = "incomplete"


@dataclass(frozen=True, kw_only=True)
class ChangedFile:
    """A source file the change touches, seen through its owner's own tests."""

    path: str  # relative to the project
    service: str
    lines: tuple[int, ...]  # changed lines that are statements
    uncovered: tuple[int, ...]
    branches: int  # branch exits leaving changed lines
    covered_branches: int
    uncovered_ranges: tuple[tuple[int, int], ...] = ()  # `uncovered` grouped for people
    noisy: int = 0  # changed statements left out because they are declared noisy


@dataclass(frozen=True, kw_only=True)
class Check:
    policy: str
    scope: str  # "total", a service name, a file path, or "changed:<service>"
    metric: str  # "line" or "branch"
    target: float
    actual: float | None  # None: nothing to measure (counts as a pass)
    status: str
    covered: int
    total: int
    baseline: float | None = None  # regression checks: the baseline's figure

    @property
    def delta(self) -> float | None:
        if self.baseline is None or self.actual is None:
            return None
        return self.actual - self.baseline


@dataclass(frozen=True, kw_only=True)
class Verdict:
    checks: tuple[Check, ...]
    changed: tuple[ChangedFile, ...]
    unowned: tuple[str, ...]  # changed Python files outside every service's source and tests
    notes: tuple[str, ...] = ()  # what was compared with, or why a policy could not run

    @property
    def status(self) -> str:
        statuses = {check.status for check in self.checks}
        return FAIL if statuses & {FAIL, INCOMPLETE} else WARN if WARN in statuses else PASS

    def failing(self, policy: str | None = None) -> list[Check]:
        return [c for c in self.checks if c.status in (FAIL, WARN) and policy in (None, c.policy)]


def _check(
    policy: str,
    scope: str,
    metric: str,
    target: float | None,
    covered: int,
    total: int,
    mode: str,
    *,
    empty_fails: bool = False,
) -> Check | None:
    """One check; nothing to measure passes, unless `empty_fails` (a service or total
    with no statements at all is a broken setup, not a perfect score)."""
    if target is None:
        return None
    actual = 100.0 * covered / total if total else None
    below = (actual is None and empty_fails) or (actual is not None and actual < target)
    status = (FAIL if mode == "fail" else WARN) if below else PASS
    return Check(
        policy=policy,
        scope=scope,
        metric=metric,
        target=target,
        actual=actual,
        status=status,
        covered=covered,
        total=total,
    )


def _figure_checks(
    policy: str, scope: str, figures: Figures, line: float | None, branch: float | None, mode: str
) -> list[Check]:
    checks = [
        _check(policy, scope, "line", line, figures.covered, figures.statements, mode, empty_fails=True),
        # Code without branches passes its branch floor; a scope with no code at all fails both.
        _check(
            policy,
            scope,
            "branch",
            branch,
            figures.covered_branches,
            figures.branches,
            mode,
            empty_fails=figures.statements == 0,
        ),
    ]
    return [c for c in checks if c is not None]


def file_floor(manifest: Manifest, path: Path, service: str) -> float | None:
    """A file's line floor: the longest matching `gate.file_floors` prefix, else the
    service's `thresholds.file`, else `settings.thresholds.file`."""
    for prefix, floor in manifest.gate.file_floors:
        if path.is_relative_to(prefix):
            return floor
    own = manifest.service(service).thresholds.file
    return own if own is not None else manifest.thresholds.file


def changed_floor(manifest: Manifest, service: str | None) -> float:
    if service is not None:
        own = manifest.service(service).thresholds.changed
        if own is not None:
            return own
    return manifest.thresholds.changed if manifest.thresholds.changed is not None else DEFAULT_CHANGED_FLOOR


def changed_branch_floor(manifest: Manifest, service: str | None) -> float | None:
    if service is not None and manifest.service(service).thresholds.changed_branch is not None:
        return manifest.service(service).thresholds.changed_branch
    return manifest.thresholds.changed_branch


def active_mode(manifest: Manifest, policy: str, only: Iterable[str] | None) -> str | None:
    """The policy's mode, or None when it is off or not among those asked for."""
    mode = manifest.gate.mode(policy)
    if mode == "off" or (only is not None and policy not in only):
        return None
    return mode


def evaluate(
    manifest: Manifest,
    services: Sequence[ServiceFigures],
    changed: Sequence[ChangedFile] | None,
    unowned: Iterable[str] = (),
    only: Iterable[str] | None = None,
    baseline: Mapping[str, Figures] | None = None,
    notes: Iterable[str] = (),
    compared: Mapping[str, Figures] | None = None,
) -> Verdict:
    """Every check the manifest asks for. `changed` is None when no diff was taken;
    `baseline` (each scope's figure, see analysis.headline_figures) is None when there
    is none to compare with; `compared` are the figures set against it (default: the
    measured headline figures; the gate passes them with noisy lines forgiven); `only`
    limits the policies evaluated (as `gate --policy`)."""
    selected = set(only) if only is not None else None

    def active(policy: str) -> str | None:
        return active_mode(manifest, policy, selected)

    checks: list[Check] = []
    if mode := active("total"):
        whole = headline_figures(services)[TOTAL]
        checks += _figure_checks(
            "total", TOTAL, whole, manifest.thresholds.line, manifest.thresholds.branch, mode
        )
    if mode := active("service"):
        for service in services:
            floors = manifest.service(service.name).thresholds
            checks += _figure_checks(
                "service", service.name, service.isolated, floors.line, floors.branch, mode
            )
    if mode := active("file"):
        for service in services:
            for file in service.files:
                floor = file_floor(manifest, (manifest.project_dir / file.path).resolve(), service.name)
                check = _check(
                    "file", file.path, "line", floor, file.isolated.covered, file.isolated.statements, mode
                )
                if check is not None:
                    checks.append(check)
    if (mode := active("changed")) and changed is not None:
        checks += _changed_checks(manifest, changed, mode)
    if (mode := active("regression")) and baseline is not None:
        checks += regression_checks(
            compared if compared is not None else headline_figures(services),
            baseline,
            tolerance=manifest.gate.tolerance,
            noise=manifest.gate.noise,
            mode=mode,
        )
    return Verdict(
        checks=tuple(checks),
        changed=tuple(changed or ()),
        unowned=tuple(sorted(unowned)),
        notes=tuple(notes),
    )


def regression_checks(
    current: Mapping[str, Figures],
    baseline: Mapping[str, Figures],
    *,
    tolerance: float,
    noise: float,
    mode: str,
) -> list[Check]:
    """Line and branch of each scope against the baseline. A drop beyond `tolerance`
    points breaks the policy (fail or warn, by mode); a drop beyond the `noise` band but
    within tolerance warns; anything else passes. Scopes missing on either side, and
    figures over nothing (no branches), are not compared."""
    checks = []
    for scope, now in current.items():
        before = baseline.get(scope)
        if before is None:
            continue
        for metric, actual, old, covered, total in (
            ("line", now.line_pct, before.line_pct, now.covered, now.statements),
            ("branch", now.branch_pct, before.branch_pct, now.covered_branches, now.branches),
        ):
            if actual is None or old is None:
                continue
            # Rounded so that a drop of exactly the tolerance, computed from fractions
            # (11/250 -> 6/250 is -2.0000000000000004), is the drop it looks like.
            delta = round(actual - old, 9)
            if delta < -tolerance:
                status = FAIL if mode == "fail" else WARN
            elif delta < -noise:
                status = WARN
            else:
                status = PASS
            checks.append(
                Check(
                    policy="regression",
                    scope=scope,
                    metric=metric,
                    target=old - tolerance,
                    actual=actual,
                    status=status,
                    covered=covered,
                    total=total,
                    baseline=old,
                )
            )
    return checks


def _changed_checks(manifest: Manifest, changed: Sequence[ChangedFile], mode: str) -> list[Check]:
    checks: list[Check] = []
    by_service: dict[str, list[ChangedFile]] = {}
    for file in changed:
        by_service.setdefault(file.service, []).append(file)
    for name in manifest.names:
        files = by_service.get(name)
        if not files:
            continue
        checks += _changed_figures(manifest, f"changed:{name}", name, files, mode)
    checks += _changed_figures(manifest, "changed:all", None, list(changed), mode)
    return checks


def _changed_figures(
    manifest: Manifest, scope: str, service: str | None, files: list[ChangedFile], mode: str
) -> list[Check]:
    lines = sum(len(f.lines) for f in files)
    covered = lines - sum(len(f.uncovered) for f in files)
    branches = sum(f.branches for f in files)
    covered_branches = sum(f.covered_branches for f in files)
    checks = [
        _check("changed", scope, "line", changed_floor(manifest, service), covered, lines, mode),
        _check(
            "changed",
            scope,
            "branch",
            changed_branch_floor(manifest, service),
            covered_branches,
            branches,
            mode,
        ),
    ]
    return [c for c in checks if c is not None]


def ranges(
    uncovered: Iterable[int], statements: Iterable[int], added: Iterable[int]
) -> tuple[tuple[int, int], ...]:
    """Group uncovered changed statements into ranges of the change.

    Two uncovered lines share a range when every line between them is part of the change
    and is not a statement (a changed comment or blank line); a covered statement or an
    unchanged line between them splits the range.
    """
    statement_set, added_set = set(statements), set(added)
    runs: list[tuple[int, int]] = []
    for line in sorted(uncovered):
        if runs and all(k in added_set and k not in statement_set for k in range(runs[-1][1] + 1, line)):
            runs[-1] = (runs[-1][0], line)
        else:
            runs.append((line, line))
    return tuple(runs)


def format_ranges(runs: Sequence[tuple[int, int]]) -> str:
    return ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in runs)
