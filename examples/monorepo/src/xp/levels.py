"""The level curve.

Reaching level ``n`` takes ``50 * n * (n - 1)`` XP in total, so each level
costs 100 XP more than the previous one: level 2 at 100 XP, level 3 at 300,
level 4 at 600, level 5 at 1000 and so on, up to ``MAX_LEVEL``.
"""

from __future__ import annotations

from dataclasses import dataclass

XP_STEP = 50
MAX_LEVEL = 50

# (minimum level, title), in ascending order of level.
TITLES: tuple[tuple[int, str], ...] = (
    (1, "Newcomer"),
    (3, "Regular"),
    (5, "Veteran"),
    (10, "Champion"),
    (25, "Legend"),
)


def xp_for_level(level: int) -> int:
    """Total XP needed to reach ``level``."""
    if not 1 <= level <= MAX_LEVEL:
        raise ValueError(f"level must be between 1 and {MAX_LEVEL}, got {level}")
    return XP_STEP * level * (level - 1)


def level_for_xp(xp: int) -> int:
    """The level a player with ``xp`` total XP has reached."""
    if xp < 0:
        raise ValueError("xp cannot be negative")
    level = 1
    while level < MAX_LEVEL and xp >= xp_for_level(level + 1):
        level += 1
    return level


def title_for_level(level: int) -> str:
    """The title shown next to a player's name at ``level``."""
    title = TITLES[0][1]
    for minimum, name in TITLES:
        if level < minimum:
            break
        title = name
    return title


@dataclass(frozen=True)
class LevelProgress:
    """How far a player is through their current level."""

    level: int
    xp_into_level: int
    xp_needed: int

    @property
    def is_max_level(self) -> bool:
        return self.level >= MAX_LEVEL

    @property
    def percent(self) -> int:
        if self.is_max_level or self.xp_needed == 0:
            return 100
        return min(100, (self.xp_into_level * 100) // self.xp_needed)


def progress(xp: int) -> LevelProgress:
    """Progress through the current level for a player with ``xp`` total XP."""
    level = level_for_xp(xp)
    floor = xp_for_level(level)
    if level >= MAX_LEVEL:
        return LevelProgress(level, xp - floor, 0)
    return LevelProgress(level, xp - floor, xp_for_level(level + 1) - floor)
