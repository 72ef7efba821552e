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
