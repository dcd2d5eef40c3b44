"""What reaches the stream from a backend connection: the resume preamble and repeated ends are dropped,
snapshots are marked keyframe or reset, ``seq`` never leaks, and the envelope leads every message."""

from __future__ import annotations

import orjson
from redis.cluster import key_slot

from common.keys import KeySpace
from common.models.stream import ResetCause, SnapshotKind
from common.stream.envelope import Outgoing, PlaybackPosition, Republisher, encode_published, relabel_snapshot


def snapshot(cursor: int, state: str = "paused", speed: float = 30.0) -> dict:
    return {"type": "snapshot", "run_id": "r", "cursor": cursor, "time": None, "state": state, "speed": speed}


def frame(cursor: int, seq: int = 0) -> dict:
    return {"type": "frame", "run_id": "r", "cursor": cursor, "time": 1, "seq": seq}


def status(cursor: int, state: str, speed: float = 30.0) -> dict:
    return {"type": "status", "run_id": "r", "cursor": cursor, "time": 1, "state": state, "speed": speed,
            "reason": "play"}


def end(cursor: int) -> dict:
    return {"type": "end", "run_id": "r", "cursor": cursor, "time": 1}


def publish(republisher: Republisher, messages: list[dict]) -> list[Outgoing]:
    """Feed messages through, updating the position as the relay does after each append."""
    out = []
    for message in messages:
        accepted = republisher.accept(message)
        if accepted is not None:
            republisher.position.observe(accepted.message)
            out.append(accepted)
    return out


def test_a_new_stream_starts_with_a_reset_and_then_tells_keyframes_from_seeks():
    out = publish(Republisher(PlaybackPosition()), [
        snapshot(-1), status(-1, "playing"), frame(9), frame(19, seq=1), snapshot(19, "playing"),
        snapshot(5, "playing"), frame(15, seq=2)])
    kinds = [(o.type, o.kind, o.cause) for o in out]
    assert kinds == [("snapshot", SnapshotKind.reset, ResetCause.connect), ("status", None, None),
                     ("frame", None, None), ("frame", None, None), ("snapshot", SnapshotKind.keyframe, None),
                     ("snapshot", SnapshotKind.reset, ResetCause.seek), ("frame", None, None)]
    assert all("seq" not in o.message for o in out)


def test_a_resumed_connection_repeats_nothing():
    position = PlaybackPosition(cursor=19, state="playing", speed=30.0)
    republisher = Republisher(position)
    assert position.resume_params() == {"cursor": "19", "state": "playing", "speed": "30.0"}
    out = publish(republisher, [snapshot(19, "playing"), frame(29)])
    assert [o.type for o in out] == ["frame"]


def test_a_resume_on_the_last_bar_does_not_repeat_the_end():
    position = PlaybackPosition(cursor=99, state="ended", speed=30.0, end_cursor=99)
    assert position.resume_params()["state"] == "paused"  # `ended` is not a start state
    assert publish(Republisher(position), [snapshot(99, "ended"), end(99)]) == []


def test_an_end_that_was_never_published_is_published_on_resume():
    # The relay died between the last frame and the end: the playing state was the last one published.
    position = PlaybackPosition(cursor=99, state="playing", speed=30.0)
    out = publish(Republisher(position), [snapshot(99, "ended"), end(99)])
    assert [(o.type, o.kind) for o in out] == [("snapshot", SnapshotKind.keyframe), ("end", None)]


def test_a_stream_restarting_after_its_history_was_lost_says_so():
    out = publish(Republisher(PlaybackPosition(), first_cause=ResetCause.history_lost), [snapshot(40)])
    assert (out[0].kind, out[0].cause) == (SnapshotKind.reset, ResetCause.history_lost)


def test_errors_answer_one_control_and_are_not_published():
    error = {"type": "error", "run_id": "r", "cursor": 1, "time": 1, "code": "at_end", "message": "x", "ref": "7"}
    assert Republisher(PlaybackPosition()).accept(error) is None


def test_the_envelope_leads_the_message_and_a_relabelled_snapshot_is_a_reset():
    data = encode_published(Outgoing(snapshot(3), SnapshotKind.keyframe), epoch="e1", offset=42, ts_ms=1000)
    assert data.startswith(b'{"type":"snapshot","epoch":"e1","offset":42,"ts":1000,"kind":"keyframe","cause":null')
    relabelled = orjson.loads(relabel_snapshot(data, ResetCause.resync))
    assert (relabelled["kind"], relabelled["cause"], relabelled["offset"]) == ("reset", "resync", 42)


def test_every_key_of_one_run_is_in_one_cluster_slot():
    for run_id in ["abc", "r{1}", "with:colon", "x" * 64]:
        keys = KeySpace("hw").run_stream(run_id).all()
        assert len({key_slot(key.encode()) for key in keys}) == 1
        assert all(key.startswith("hw:{run:") for key in keys)
    # The user part is encoded: a run id can never close the hash tag or forge a separator.
    assert "{run:r%7B1%7D}" in KeySpace("hw").run_stream("r{1}").stream
