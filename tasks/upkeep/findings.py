"""What the audit finds: one setting, where it is, why it matters and the fix, by severity."""

from __future__ import annotations

from dataclasses import dataclass

ERROR = "error"
WARNING = "warning"

# Each scope's (line, branch) figure in the base branch's baseline.
BaselineFigures = dict[str, tuple[float | None, float | None]]


@dataclass(frozen=True, kw_only=True)
class Finding:
    severity: str
    where: str
    what: str
    why: str
    fix: str


GROUPED_FROM = 3  # warnings of one kind from this many on are shown as one, with a count
GROUP_SHOWN = 3  # of those, the ones named


def grouped(findings: list[Finding]) -> list[Finding]:
    """Errors first, each on its own; then warnings, those of one kind (the same why) three
    times or more as one finding that counts them and names the first few: at 300 services,
    a warning per service would bury the errors."""
    errors = [finding for finding in findings if finding.severity == ERROR]
    kinds: dict[str, list[Finding]] = {}
    for finding in findings:
        if finding.severity != ERROR:
            kinds.setdefault(finding.why, []).append(finding)
    warnings: list[Finding] = []
    for group in kinds.values():
        if len(group) < GROUPED_FROM:
            warnings += group
            continue
        rest = len(group) - GROUP_SHOWN
        named = "; ".join(finding.what for finding in group[:GROUP_SHOWN]) + (
            f"; and {rest} more" if rest > 0 else ""
        )
        warnings.append(
            Finding(
                severity=group[0].severity,
                where=f"{group[0].where} and {len(group) - 1} more places",
                what=f"{len(group)} warnings of one kind: {named}",
                why=group[0].why,
                fix=f"{group[0].fix} (and the same for each of the others)",
            )
        )
    return [*errors, *warnings]
