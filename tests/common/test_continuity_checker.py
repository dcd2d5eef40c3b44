"""The viewers' continuity checker (tests.support.stream_client) catches what it is there to catch: the system
test and the soak benchmark rely on it to prove that nothing is missed or repeated."""

from __future__ import annotations

import pytest

from tests.support.stream_client import Continuity, ContinuityError


def frame(offset: int, cursor: int, bars: list[int], epoch: str = "e1") -> dict:
    return {"type": "frame", "epoch": epoch, "offset": offset, "cursor": cursor, "bars": {"time": bars}}


def start(checker: Continuity) -> Continuity:
    checker.check({"type": "hello", "epoch": "e1", "offset": 0})
    checker.check({"type": "snapshot", "kind": "reset", "cause": "connect", "epoch": "e1", "offset": 1, "cursor": 0,
                   "time": 60})
    checker.check(frame(2, 2, [120, 180]))
    return checker


def test_a_strict_checker_raises_on_a_gap_and_a_lenient_one_counts_gaps_and_duplicates():
    with pytest.raises(ContinuityError):
        start(Continuity()).check(frame(4, 4, [240, 300]))  # offset 3 never came
    lenient = start(Continuity(strict=False, keep_bars=False))
    lenient.check(frame(4, 4, [240, 300]))
    assert (lenient.gaps, lenient.duplicates) == (1, 0)
    lenient.check(frame(4, 4, [240, 300]))  # the same message again: its offset and its bars
    assert (lenient.gaps, lenient.duplicates) == (1, 1) and lenient.bar_times == [] and lenient.last_bar == 300
    lenient.check(frame(5, 5, [360]))
    lenient.check(frame(6, 7, [420]))  # a frame one bar short
    assert (lenient.gaps, lenient.duplicates) == (2, 1) and len(lenient.problems) == 3


def test_a_reset_moves_the_last_bar_back_to_the_snapshot():
    checker = start(Continuity(keep_bars=False))
    checker.check({"type": "snapshot", "kind": "reset", "cause": "seek", "epoch": "e1", "offset": 3, "cursor": 0,
                   "time": 60})
    checker.check(frame(4, 1, [120]))
    assert checker.last_bar == 120 and checker.resets == ["connect", "seek"]
