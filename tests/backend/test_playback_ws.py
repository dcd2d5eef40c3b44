"""``WS /backtests/{id}/ws`` through the app: authentication, refusals with close codes, start parameters and
controls (Starlette's test client; the real-socket tests are in test_playback_live.py)."""

from __future__ import annotations

import orjson
import pytest
from starlette.websockets import WebSocketDisconnect

from backend.playback.messages import MessageBuilder
from backend.playback.service import PlaybackConfig, PlaybackService
from backend.runs.artifacts import TIMELINE
from common.close_codes import CloseCode
from common.models.playback import PLAYBACK_MESSAGE
from tests.backend.playback_fixtures import T0, completed_run, queued_run
from tests.conftest import ALICE_TOKEN, BOB_TOKEN, SERVICE_TOKEN, auth


@pytest.fixture
def run_id(backend_app) -> str:
    alice = backend_app.state.catalog.user_by_name("alice")
    return completed_run(backend_app.state.runs, alice.id, n=120)


def url(run_id: str, query: str = "") -> str:
    return f"/backtests/{run_id}/ws" + (f"?{query}" if query else "")


def receive(ws) -> dict:
    message = orjson.loads(ws.receive_text())
    PLAYBACK_MESSAGE.validate_python(message)
    return message


def refusal(client, path: str, headers=None, first: dict | None = None) -> WebSocketDisconnect:
    with pytest.raises(WebSocketDisconnect) as caught, \
            client.websocket_connect(path, headers=dict(headers or {})) as ws:
        if first is not None:
            ws.send_text(orjson.dumps(first).decode())
        ws.receive_text()
    return caught.value


def test_header_auth_starts_with_a_snapshot_before_the_first_bar(backend_client, run_id):
    with backend_client.websocket_connect(url(run_id), headers=auth(ALICE_TOKEN)) as ws:
        snap = receive(ws)
    assert (snap["type"], snap["run_id"], snap["cursor"], snap["state"]) == ("snapshot", run_id, -1, "paused")
    assert snap["total_bars"] == 120 and snap["speed"] == 30.0


def test_first_message_auth(backend_client, run_id):
    with backend_client.websocket_connect(url(run_id)) as ws:
        ws.send_text(orjson.dumps({"type": "auth", "token": ALICE_TOKEN}).decode())
        assert receive(ws)["type"] == "snapshot"


@pytest.mark.parametrize("headers, first", [
    ({"Authorization": "Bearer hw_wrong"}, None),
    ({"Authorization": "Basic abc"}, None),
    (None, {"type": "auth", "token": "hw_wrong"}),
    (None, {"type": "play"}),
    (None, {"type": "auth"}),
])
def test_bad_credentials_close_with_4401(backend_client, run_id, headers, first):
    closed = refusal(backend_client, url(run_id), headers, first)
    assert closed.code == CloseCode.unauthorized
    assert "hw_wrong" not in (closed.reason or "")


def test_a_run_the_caller_may_not_see_is_not_found(backend_client, backend_app, run_id):
    assert refusal(backend_client, url(run_id), auth(BOB_TOKEN)).code == CloseCode.not_found
    assert refusal(backend_client, url("nope"), auth(ALICE_TOKEN)).code == CloseCode.not_found
    backend_app.state.runs.share(run_id, "bob")
    for token in (BOB_TOKEN, SERVICE_TOKEN):
        with backend_client.websocket_connect(url(run_id), headers=auth(token)) as ws:
            assert receive(ws)["type"] == "snapshot"


def test_a_run_that_has_not_completed_closes_with_4409(backend_client, backend_app):
    alice = backend_app.state.catalog.user_by_name("alice")
    closed = refusal(backend_client, url(queued_run(backend_app.state.runs, alice.id)), auth(ALICE_TOKEN))
    assert closed.code == CloseCode.run_not_completed and "queued" in closed.reason


def test_no_auth_message_in_time_closes_with_4408(backend_client, backend_app, run_id):
    backend_app.state.playback = PlaybackService(PlaybackConfig(auth_timeout_s=0.2))
    assert refusal(backend_client, url(run_id)).code == CloseCode.auth_timeout


@pytest.mark.parametrize("query, field", [
    ("cursor=abc", "cursor"), ("cursor=120", "cursor"), ("cursor=-2", "cursor"), ("time=soon", "time"),
    ("cursor=1&time=5", "cursor"), ("state=stopped", "state"), ("speed=0.1", "speed"), ("speed=5001", "speed"),
    ("speed=nan", "speed"), (f"token={ALICE_TOKEN}", "token"),
])
def test_bad_start_parameters_close_with_4400_naming_the_field(backend_client, run_id, query, field):
    closed = refusal(backend_client, url(run_id, query), auth(ALICE_TOKEN))
    assert closed.code == CloseCode.bad_request
    assert closed.reason.startswith(f"{field}:")
    assert ALICE_TOKEN not in closed.reason


def test_start_parameters(backend_client, run_id):
    with backend_client.websocket_connect(url(run_id, "cursor=50&speed=2.5"), headers=auth(ALICE_TOKEN)) as ws:
        snap = receive(ws)
    assert (snap["cursor"], snap["time"], snap["speed"], snap["state"]) == (50, T0 + 50 * 60, 2.5, "paused")
    with backend_client.websocket_connect(url(run_id, f"time={T0 + 10 * 60 + 30}"),
                                          headers=auth(ALICE_TOKEN)) as ws:
        assert receive(ws)["cursor"] == 10
    query = "cursor=100&state=playing&speed=5000"
    with backend_client.websocket_connect(url(run_id, query), headers=auth(ALICE_TOKEN)) as ws:
        snap, frame = receive(ws), receive(ws)
        assert (snap["cursor"], snap["state"]) == (100, "playing")
        # Resuming after bar 100 means the next bar sent is 101.
        assert frame["bars"]["time"][0] == T0 + 101 * 60 and frame["seq"] == 0


def test_invalid_controls_get_an_error_and_the_playback_goes_on(backend_client, run_id):
    bad = ['{"type": "play"', '[1, 2]', '{"type": "rewind"}', '{"cursor": 3}', '{"type": "speed", "value": 0}',
           '{"type": "speed", "value": 100000}', '{"type": "seek"}', '{"type": "seek", "cursor": 1, "time": 2}',
           '{"type": "seek", "cursor": 500}', '{"type": "step", "bars": 0}', '{"type": "seek", "curser": 4}',
           '{"type": "auth", "token": "again"}', "x" * 5000]
    with backend_client.websocket_connect(url(run_id), headers=auth(ALICE_TOKEN)) as ws:
        receive(ws)
        for text in bad:
            ws.send_text(text)
            error = receive(ws)
            assert error["type"] == "error", text
            assert error["code"] == "invalid_control" and error["message"]
        assert "unknown type" in _error_for(ws, '{"type": "rewind"}')
        assert "value" in _error_for(ws, '{"type": "speed", "value": 0}')
        ws.send_text('{"type": "seek", "cursor": 7}')
        assert receive(ws)["cursor"] == 7


def _error_for(ws, text: str) -> str:
    ws.send_text(text)
    return receive(ws)["message"]


def test_controls_play_pause_seek_step_over_the_socket(backend_client, run_id):
    with backend_client.websocket_connect(url(run_id, "speed=5000"), headers=auth(ALICE_TOKEN)) as ws:
        receive(ws)
        ws.send_text('{"type": "step", "bars": 3}')
        frame = receive(ws)
        assert (frame["type"], frame["cursor"], len(frame["bars"]["time"])) == ("frame", 2, 3)
        ws.send_text('{"type": "step", "bars": -2}')
        snap = receive(ws)
        assert (snap["type"], snap["cursor"]) == ("snapshot", 0)
        ws.send_text('{"type": "speed", "value": 4000}')
        status = receive(ws)
        assert (status["type"], status["reason"], status["speed"]) == ("status", "speed", 4000.0)
        ws.send_text('{"type": "play"}')
        assert receive(ws)["state"] == "playing"
        received = [receive(ws)]
        while received[-1]["type"] != "end":
            received.append(receive(ws))
        frames = [m for m in received if m["type"] == "frame"]
        times = [t for f in frames for t in f["bars"]["time"]]
        assert times == [T0 + 60 * i for i in range(1, 120)]  # each bar after the cursor, once, in order
        assert [f["seq"] for f in frames] == list(range(1, len(frames) + 1))
        ws.send_text('{"type": "seek", "cursor": -1}')
        snap, status = receive(ws), receive(ws)
        assert (snap["cursor"], snap["state"], status["state"]) == (-1, "paused", "paused")


def test_unreadable_artifacts_close_with_1011(backend_client, backend_app, run_id):
    (backend_app.state.runs.run_dir(run_id) / TIMELINE).unlink()
    closed = refusal(backend_client, url(run_id), auth(ALICE_TOKEN))
    assert (closed.code, closed.reason) == (CloseCode.internal_error, "internal error")
    assert run_id not in backend_app.state.playback.cache


def test_a_failure_mid_playback_closes_with_1011(backend_client, backend_app, run_id, monkeypatch):
    def broken(*_args):
        raise RuntimeError("frame building failed")

    monkeypatch.setattr(MessageBuilder, "frame", broken)
    with backend_client.websocket_connect(url(run_id), headers=auth(ALICE_TOKEN)) as ws:
        receive(ws)
        ws.send_text('{"type": "step", "bars": 1}')
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text()
    assert closed.value.code == CloseCode.internal_error
    assert not backend_app.state.playback.connections


def test_a_client_leaving_before_authenticating_is_not_an_error(backend_client, backend_app, run_id):
    with backend_client.websocket_connect(url(run_id)) as ws:
        ws.close()
    assert not backend_app.state.playback.connections
