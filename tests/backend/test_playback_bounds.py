"""No playback message carries more than ``MAX_FRAME_BARS`` bars, whatever the controls or the clock ask for: a
huge step becomes a jump (one snapshot), and a tick that fell far behind is paged into bounded frames."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from backend.playback.messages import encode
from backend.playback.session import PlaybackSession
from common.controls import ControlError, parse_control
from common.models.playback import MAX_FRAME_BARS, PlaybackState, StepControl
from tests.backend.playback_fixtures import make_data

YEAR = make_data(525_600, fill_every=100_000)  # a year of minute bars
# A snapshot or a frame of MAX_FRAME_BARS bars is tens of kilobytes; the 10**18 step used to build 54.6 MB.
MAX_MESSAGE_BYTES = 256 * 1024


def bars_of(message: dict) -> int:
    return len(message["bars"]["time"]) if message["type"] == "frame" else 0


def test_a_step_of_10_to_the_18_on_a_year_of_bars_jumps_to_the_end_in_small_messages():
    s = PlaybackSession("r", YEAR, cursor=10)
    s.start(0.0)
    out = s.handle(StepControl(type="step", bars=10**18), 0.1)
    assert [m["type"] for m in out] == ["snapshot", "status", "end"]
    assert out[0]["cursor"] == YEAR.last and out[0]["state"] == "ended"
    assert (out[1]["state"], out[1]["reason"]) == ("ended", "step")
    assert max(len(encode(m)) for m in out) <= MAX_MESSAGE_BYTES
    assert s.state is PlaybackState.ended and s.cursor == YEAR.last


def test_a_step_up_to_the_bound_is_one_frame_and_beyond_it_a_jump():
    s = PlaybackSession("r", YEAR, cursor=-1)
    s.start(0.0)
    [frame] = s.handle(StepControl(type="step", bars=MAX_FRAME_BARS), 0.0)
    assert frame["type"] == "frame" and bars_of(frame) == MAX_FRAME_BARS
    [snapshot] = s.handle(StepControl(type="step", bars=MAX_FRAME_BARS + 1), 0.0)
    assert snapshot["type"] == "snapshot" and snapshot["cursor"] == 2 * MAX_FRAME_BARS


def test_a_tick_far_behind_the_clock_is_paged_into_bounded_frames():
    s = PlaybackSession("r", YEAR, cursor=-1, state=PlaybackState.playing, speed=5000.0)
    s.start(0.0)
    out = s.tick(2.0)  # the loop stalled for two seconds at top speed: 10,000 bars are due
    frames = [m for m in out if m["type"] == "frame"]
    assert len(frames) >= 10_000 // MAX_FRAME_BARS and all(bars_of(f) <= MAX_FRAME_BARS for f in frames)
    times = [t for f in frames for t in f["bars"]["time"].tolist()]
    assert times == YEAR.timeline.bars.time[:10_000].tolist()  # every bar once, in order
    assert [f["seq"] for f in frames] == list(range(len(frames)))
    assert max(len(encode(m)) for m in out) <= MAX_MESSAGE_BYTES


@pytest.mark.parametrize("bars", ["7", True, 1e30, 2.5])
def test_a_step_must_be_an_integer(bars):
    with pytest.raises(ValidationError):
        StepControl(type="step", bars=bars)


def test_a_step_beyond_64_bits_is_refused_naming_the_field():
    with pytest.raises(ControlError, match="bars"):
        parse_control('{"type": "step", "bars": 100000000000000000000000}')
    assert parse_control('{"type": "step", "bars": -1000000000000000000}').bars == -10**18


def test_the_api_control_gate_checks_a_step_as_the_backend_does():
    from api.stream.controls import ControlGate, Refusal

    gate = ControlGate(can_control=True, per_second=100, burst=100)
    assert gate.admit('{"type": "step", "bars": 1000000000000000000}') == {"type": "step", "bars": 10**18}
    for bad in ('"7"', "true", "1e30", "100000000000000000000000"):
        refusal = gate.admit(f'{{"type": "step", "bars": {bad}, "ref": "s"}}')
        assert isinstance(refusal, Refusal) and refusal.code == "invalid_control" and refusal.ref == "s"
        assert refusal.message.startswith("bars:")
