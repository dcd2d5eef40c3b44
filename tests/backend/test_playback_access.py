"""An open playback socket re-checks its caller's access and closes with 4403 when it ends."""

from __future__ import annotations

import time

import orjson
import pytest
from starlette.websockets import WebSocketDisconnect

from backend.auth import hash_token
from backend.playback.service import PlaybackConfig, PlaybackService
from common.close_codes import CloseCode, should_reconnect
from tests.backend.playback_fixtures import completed_run
from tests.conftest import ALICE_TOKEN, BOB_TOKEN, auth

RECHECK_S = 0.1


@pytest.fixture
def run_id(backend_app) -> str:
    backend_app.state.playback = PlaybackService(PlaybackConfig(access_recheck_s=RECHECK_S))
    alice = backend_app.state.catalog.user_by_name("alice")
    run = completed_run(backend_app.state.runs, alice.id, n=120)
    backend_app.state.runs.share(run, "bob")
    return run


def closed_within(ws, seconds: float) -> WebSocketDisconnect:
    """Keep the socket busy with steps until the server closes it; fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    with pytest.raises(WebSocketDisconnect) as caught:
        while time.monotonic() < deadline:
            ws.send_text(orjson.dumps({"type": "step", "bars": 1}).decode())
            ws.receive_text()
            time.sleep(RECHECK_S / 4)
    return caught.value


def test_unsharing_closes_an_open_playback_with_4403(backend_app, backend_client, run_id):
    with backend_client.websocket_connect(f"/backtests/{run_id}/ws", headers=auth(BOB_TOKEN)) as ws:
        assert orjson.loads(ws.receive_text())["type"] == "snapshot"
        # Still shared: several re-checks pass and the playback goes on.
        for _ in range(4):
            ws.send_text(orjson.dumps({"type": "step", "bars": 1}).decode())
            assert orjson.loads(ws.receive_text())["type"] in ("frame", "status")
            time.sleep(RECHECK_S)
        backend_app.state.runs.unshare(run_id, "bob")
        closed = closed_within(ws, 5)
    assert closed.code == CloseCode.access_withdrawn and "withdrawn" in closed.reason
    assert not should_reconnect(closed.code)
    assert not backend_app.state.playback.connections


def test_a_revoked_token_closes_an_open_playback_with_4403(backend_app, backend_client, run_id):
    with backend_client.websocket_connect(f"/backtests/{run_id}/ws", headers=auth(ALICE_TOKEN)) as ws:
        assert orjson.loads(ws.receive_text())["type"] == "snapshot"
        backend_app.state.catalog.add_user("alice", hash_token("hw_rotated_token_for_alice_0123456789"))
        closed = closed_within(ws, 5)
    assert closed.code == CloseCode.access_withdrawn


def test_the_owner_keeps_playing_while_others_lose_access(backend_app, backend_client, run_id):
    with backend_client.websocket_connect(f"/backtests/{run_id}/ws", headers=auth(ALICE_TOKEN)) as ws:
        assert orjson.loads(ws.receive_text())["type"] == "snapshot"
        backend_app.state.runs.unshare(run_id, "bob")
        for _ in range(5):
            ws.send_text(orjson.dumps({"type": "step", "bars": 1}).decode())
            assert orjson.loads(ws.receive_text())["type"] in ("frame", "status")
            time.sleep(RECHECK_S)
