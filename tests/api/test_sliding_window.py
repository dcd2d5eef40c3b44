"""The arithmetic of the api's sliding-window rate limit."""

from __future__ import annotations

import pytest

from api.rate_limit import SlidingWindow

BUDGET = SlidingWindow(limit=10, window_s=60)


def test_the_previous_window_counts_by_the_share_of_it_still_inside_the_sliding_window():
    assert BUDGET.estimate(previous=0, current=7, elapsed_s=30) == 7
    assert BUDGET.estimate(previous=10, current=0, elapsed_s=0) == 10
    assert BUDGET.estimate(previous=10, current=2, elapsed_s=45) == pytest.approx(4.5)


@pytest.mark.parametrize(("previous", "current", "elapsed_s"), [
    (10, 1, 3),     # the previous window's burst still weighs on this one
    (0, 11, 20),    # this window alone is over
    (40, 30, 59),   # a client that kept hammering
    (10, 10, 0.5),
])
def test_retry_after_is_the_moment_one_more_request_fits(previous, current, elapsed_s):
    wait_s = BUDGET.retry_after_s(previous, current, elapsed_s)
    assert BUDGET.estimate(previous, current, elapsed_s) > BUDGET.limit
    assert wait_s > 0

    def fits(after_s: float) -> bool:
        """Whether one more request fits ``after_s`` seconds from now, with nothing sent meanwhile."""
        at_s = elapsed_s + after_s
        if at_s < BUDGET.window_s:
            return BUDGET.estimate(previous, current + 1, at_s) <= BUDGET.limit
        if at_s < 2 * BUDGET.window_s:
            return BUDGET.estimate(current, 1, at_s - BUDGET.window_s) <= BUDGET.limit
        return True

    assert fits(wait_s + 1e-9)
    assert not fits(wait_s - 0.01)
