"""The playback state machine, driven with fake time: message sequences, timing, and never past the cursor."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.playback.messages import decode, encode
from backend.playback.session import PlaybackOptions, PlaybackSession
from common.models.playback import (
    PLAYBACK_MESSAGE,
    PauseControl,
    PlaybackState,
    PlayControl,
    SeekControl,
    SpeedControl,
    StepControl,
)
from tests.backend.playback_fixtures import CASH, make_data

DATA = make_data(200)


def wire(messages):
    """What a client receives: encoded, decoded and validated against the shared models."""
    out = []
    for m in messages:
        raw = decode(encode(m))
        PLAYBACK_MESSAGE.validate_python(raw)
        out.append(raw)
    return out


def types(messages) -> list[str]:
    return [m["type"] for m in messages]


def new_session(**kwargs) -> PlaybackSession:
    return PlaybackSession("r1", DATA, **kwargs)


def test_initial_snapshot_is_before_the_first_bar_and_paused():
    s = new_session()
    [snap] = wire(s.start(0.0))
    assert snap["type"] == "snapshot"
    assert (snap["cursor"], snap["time"], snap["bar"], snap["state"]) == (-1, None, None, "paused")
    assert snap["equity"] == snap["cash"] == CASH and snap["position"] == 0
    assert snap["stats"]["bars_played"] == 0 and snap["stats"]["fills"] == 0
    assert snap["total_bars"] == 200
    assert s.next_deadline is None and s.tick(10.0) == []


def test_play_sends_status_then_frames_on_the_frame_clock():
    s = new_session(speed=30.0)
    s.start(0.0)
    assert wire(s.handle(PlayControl(type="play"), 0.0)) == [
        {"type": "status", "run_id": "r1", "cursor": -1, "time": None, "state": "playing", "speed": 30.0,
         "reason": "play"}]
    frames = []
    for _ in range(30):
        now = s.next_deadline
        frames += wire(s.tick(now))
    # One bar per frame at 30 bars/s, numbered 0, 1, 2... and cursor advancing bar by bar.
    assert [f["seq"] for f in frames] == list(range(30))
    assert [f["cursor"] for f in frames] == list(range(30))
    assert frames[0]["bars"]["time"] == [int(DATA.timeline.bars.time[0])]
    assert frames[29]["time"] == int(DATA.timeline.bars.time[29])


def test_pause_stops_frames_and_play_resumes_from_the_cursor():
    s = new_session(speed=30.0, state=PlaybackState.playing)
    s.start(0.0)
    for k in range(1, 11):
        s.tick(k / 30)
    assert s.cursor == 9
    assert types(s.handle(PauseControl(type="pause"), 10 / 30)) == ["status"]
    assert s.next_deadline is None and s.tick(5.0) == []
    assert s.handle(PauseControl(type="pause"), 5.0) == []  # no change, no status
    s.handle(PlayControl(type="play"), 100.0)
    [frame] = wire(s.tick(100.0 + 1 / 30))
    assert frame["bars"]["time"][0] == int(DATA.timeline.bars.time[10])


def test_low_speed_sends_no_empty_frames():
    s = new_session(speed=0.5, state=PlaybackState.playing, options=PlaybackOptions(snapshot_interval_s=1e9))
    s.start(0.0)
    sent = []
    while (now := s.next_deadline) < 10.0:
        sent += wire(s.tick(now))
    # 10 s at half a bar per second: bar k is due at 2(k + 1) s, so bars 0..3, each in a frame of its own.
    assert types(sent) == ["frame"] * 4
    assert [f["cursor"] for f in sent] == [0, 1, 2, 3]
    assert all(len(f["bars"]["time"]) == 1 for f in sent)


def test_high_speed_batches_bars_instead_of_raising_the_frame_rate():
    s = new_session(speed=1000.0, state=PlaybackState.playing)
    s.start(0.0)
    frames = []
    while (now := s.next_deadline) is not None and now <= 0.1:
        frames += [m for m in wire(s.tick(now)) if m["type"] == "frame"]
    assert len(frames) == 3
    assert [len(f["bars"]["time"]) for f in frames] == [33, 33, 34]


def test_timer_drift_does_not_accumulate_over_a_minute_of_late_ticks():
    data = make_data(200_000)
    s = PlaybackSession("r1", data, speed=97.0, state=PlaybackState.playing)
    s.start(0.0)
    rng = np.random.default_rng(1)
    now = 0.0
    while now < 60.0:
        # Every tick is late by up to two frames, as under load; the error must not add up.
        now = s.next_deadline + float(rng.uniform(0, 2 / 30))
        s.tick(now)
    expected = math.floor(97.0 * now) - 1
    assert abs(s.cursor - expected) <= 97.0 / 30 + 1


def test_speed_change_keeps_the_elapsed_fraction():
    s = new_session(speed=2.0, state=PlaybackState.playing)
    s.start(0.0)
    s.tick(0.4)  # 0.8 of a bar elapsed, nothing due yet
    assert s.cursor == -1
    assert types(s.handle(SpeedControl(type="speed", value=4.0), 0.4)) == ["status"]
    # 0.8 + 0.05 * 4 = 1.0: bar 0 is due exactly now, not a whole bar later.
    s.tick(0.45)
    assert s.cursor == 0


def test_periodic_snapshot_while_playing():
    s = new_session(speed=1.0, state=PlaybackState.playing)
    s.start(0.0)
    sent = []
    while (now := s.next_deadline) <= 5.0:
        sent += wire(s.tick(now))
    snapshots = [m for m in sent if m["type"] == "snapshot"]
    assert len(snapshots) == 2  # at 2 s and 4 s
    for snap in snapshots:
        assert snap["state"] == "playing"


def test_seek_sends_a_snapshot_and_keeps_playing():
    s = new_session(speed=30.0, state=PlaybackState.playing)
    s.start(0.0)
    s.tick(1 / 30)
    [snap] = wire(s.handle(SeekControl(type="seek", cursor=100), 0.1))
    assert (snap["type"], snap["cursor"], snap["state"]) == ("snapshot", 100, "playing")
    assert snap["bar"]["time"] == int(DATA.timeline.bars.time[100])
    [frame] = wire(s.tick(0.1 + 1 / 30))
    assert frame["bars"]["time"] == [int(DATA.timeline.bars.time[101])]


def test_seek_by_time_finds_the_last_bar_at_or_before_it():
    s = new_session()
    s.start(0.0)
    t = int(DATA.timeline.bars.time[50])
    assert s.handle(SeekControl(type="seek", time=t + 59), 0.0)[0]["cursor"] == 50
    assert s.handle(SeekControl(type="seek", time=t), 0.0)[0]["cursor"] == 50
    assert s.handle(SeekControl(type="seek", time=t - 1), 0.0)[0]["cursor"] == 49
    assert s.handle(SeekControl(type="seek", time=0), 0.0)[0]["cursor"] == -1


def test_seek_out_of_range_is_an_error_not_a_move():
    s = new_session()
    s.start(0.0)
    [err] = wire(s.handle(SeekControl(type="seek", cursor=200), 0.0))
    assert err["type"] == "error" and err["code"] == "invalid_control" and s.cursor == -1


def test_step_forward_pauses_and_sends_the_stepped_bars():
    s = new_session(speed=30.0, state=PlaybackState.playing)
    s.start(0.0)
    s.tick(1 / 30)
    status, frame = wire(s.handle(StepControl(type="step", bars=5), 0.05))
    assert (status["type"], status["state"], status["reason"]) == ("status", "paused", "step")
    assert frame["type"] == "frame" and frame["cursor"] == 5
    assert frame["bars"]["time"] == DATA.timeline.bars.time[1:6].tolist()


def test_step_backward_sends_a_snapshot():
    s = new_session(cursor=20)
    s.start(0.0)
    [snap] = wire(s.handle(StepControl(type="step", bars=-3), 0.0))
    assert (snap["type"], snap["cursor"]) == ("snapshot", 17)
    [err] = wire(new_session().handle(StepControl(type="step", bars=-1), 0.0))
    assert err["type"] == "error"


def test_reaching_the_last_bar_ends_the_playback():
    s = new_session(speed=5000.0, state=PlaybackState.playing)
    s.start(0.0)
    sent = wire(s.tick(1.0))
    assert types(sent) == ["frame", "status", "end"]
    assert sent[0]["cursor"] == 199 and len(sent[0]["bars"]["time"]) == 200
    assert sent[1]["state"] == "ended" and sent[1]["reason"] == "end"
    assert sent[2]["stats"]["bars_played"] == 200
    assert s.next_deadline is None
    [err] = wire(s.handle(PlayControl(type="play"), 1.0))
    assert err["code"] == "at_end"
    snap, status = wire(s.handle(StepControl(type="step", bars=-10), 1.0))
    assert (snap["cursor"], snap["state"]) == (189, "paused")
    assert (status["state"], status["reason"], status["cursor"]) == ("paused", "step", 189)


def test_start_at_a_cursor_means_that_bar_was_seen():
    s = new_session(cursor=41, state=PlaybackState.playing, speed=30.0)
    [snap] = wire(s.start(0.0))
    assert snap["cursor"] == 41 and snap["bar"]["time"] == int(DATA.timeline.bars.time[41])
    [frame] = wire(s.tick(1 / 30))
    assert frame["bars"]["time"] == [int(DATA.timeline.bars.time[42])] and frame["seq"] == 0


def test_start_at_the_last_bar_is_ended():
    s = new_session(cursor=199, state=PlaybackState.playing)
    snap, end = wire(s.start(0.0))
    assert snap["state"] == "ended" and end["type"] == "end"


def test_stats_match_a_direct_computation_at_every_cursor():
    t, f = DATA.timeline, DATA.fills
    for c in range(-1, 200):
        stats = DATA.stats(c)
        upto = f.bar_index <= c
        assert stats["fills"] == int(upto.sum())
        assert stats["realized_pnl"] == pytest.approx(float(f.realized_pnl[upto].sum()))
        assert stats["fees"] == pytest.approx(float(f.fee[upto].sum()))
        sells = int(sum(1 for i in range(len(f)) if upto[i] and f.side[i] == "sell"))
        assert stats["closed_trades"] == sells
        if c >= 0:
            assert stats["equity"] == t.equity[c]
            assert stats["max_drawdown"] == pytest.approx(float(t.drawdown[: c + 1].min()))
            assert stats["peak_equity"] == pytest.approx(float(t.equity[: c + 1].max()))
            assert stats["total_return"] == pytest.approx(t.equity[c] / CASH - 1)


controls = st.one_of(
    st.just(PlayControl(type="play")),
    st.just(PauseControl(type="pause")),
    st.builds(lambda v: SpeedControl(type="speed", value=v), st.sampled_from([0.5, 3.0, 30.0, 250.0, 5000.0])),
    st.builds(lambda c: SeekControl(type="seek", cursor=c), st.integers(-1, 199)),
    st.builds(lambda t: SeekControl(type="seek", time=t), st.integers(DATA.timeline.bars.time[0] - 100,
                                                                       DATA.timeline.bars.time[-1] + 100)),
    st.builds(lambda n: StepControl(type="step", bars=n), st.integers(-30, 30).filter(bool)),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(controls, st.floats(0, 1.5)), max_size=25))
def test_a_client_sees_every_bar_once_in_order_and_nothing_past_the_cursor(script):
    """A client that resets its view from each snapshot holds exactly bars 0..cursor, each once, in order."""
    s = new_session(speed=30.0)
    times = DATA.timeline.bars.time.tolist()
    seen: list[int] = []
    cursor = None
    seq = 0

    def receive(messages):
        nonlocal seen, cursor, seq
        for m in wire(messages):
            if m["type"] == "snapshot":
                seen = times[: m["cursor"] + 1]  # history up to the cursor comes from REST
            elif m["type"] == "frame":
                assert m["seq"] == seq
                seq += 1
                assert m["bars"]["time"] and m["bars"]["time"][0] == times[cursor + 1]
                seen += m["bars"]["time"]
                assert all(cursor < fill["bar_index"] <= m["cursor"] for fill in m["fills"])
            else:
                assert m["cursor"] == cursor
            cursor = m["cursor"]
            assert seen == times[: cursor + 1]
            assert m["time"] == (times[cursor] if cursor >= 0 else None)

    def check_state():
        assert (s.state is PlaybackState.ended) == (s.cursor == 199)

    now = 0.0
    receive(s.start(now))
    for control, wait in [*script, (PlayControl(type="play"), 0.0), (SpeedControl(type="speed", value=5000.0), 0.0)]:
        end = now + wait
        while (deadline := s.next_deadline) is not None and deadline <= end:
            now = deadline
            receive(s.tick(now))
            check_state()
        now = end
        receive(s.handle(control, now))
        check_state()
    for _ in range(100):  # 200 bars at 5000 bars/s take two frames
        if (deadline := s.next_deadline) is None:
            break
        receive(s.tick(deadline))
    # Played out to the end: the client holds the whole run.
    assert cursor == 199 and seen == times
