"""The XP team's own tests: only the level curve."""

import pytest

from xp.levels import level_for_xp, progress


def test_new_player_starts_at_level_one():
    assert level_for_xp(0) == 1
    assert level_for_xp(99) == 1


@pytest.mark.parametrize(("xp", "level"), [(100, 2), (299, 2), (300, 3), (1000, 5)])
def test_level_thresholds(xp, level):
    assert level_for_xp(xp) == level


def test_progress_through_a_level():
    halfway = progress(150)  # level 2 spans 100..300 XP
    assert (halfway.level, halfway.xp_into_level, halfway.xp_needed) == (2, 50, 200)
    assert halfway.percent == 25
