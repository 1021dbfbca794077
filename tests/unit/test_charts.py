"""Chart axis ticks: whole cases, a 1-2-5 step, never more than nine ticks."""

from __future__ import annotations

import pytest

from casework.charts import count_ticks


@pytest.mark.parametrize(("top", "ticks"), [
    (0, [0, 1]),
    (3, [0, 1, 2, 3]),
    (8, [0, 1, 2, 3, 4, 5, 6, 7, 8]),
    (9, [0, 2, 4, 6, 8, 10]),
    (17, [0, 5, 10, 15, 20]),
    (99, [0, 20, 40, 60, 80, 100]),
    (181_917, [0, 50_000, 100_000, 150_000, 200_000]),
])
def test_count_ticks(top: int, ticks: list[int]) -> None:
    assert count_ticks(top) == ticks


def test_count_ticks_cover_the_top_in_few_whole_steps() -> None:
    for top in range(0, 5000, 7):
        ticks = count_ticks(top)
        assert ticks[0] == 0, top
        assert ticks[-1] >= top, top
        assert len(ticks) <= 9, top
        assert len({b - a for a, b in zip(ticks, ticks[1:], strict=False)}) == 1, top
