"""Playback over real sockets: uvicorn on 127.0.0.1 and the ``websockets`` client."""

from __future__ import annotations

import asyncio
import time

import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from common.close_codes import CloseCode
from common.models.playback import PLAYBACK_MESSAGE
from tests.backend.playback_fixtures import T0, completed_run
from tests.conftest import ALICE_TOKEN, auth
from tests.support.servers import live_server


@pytest.fixture
def server(backend_app):
    with live_server(backend_app) as srv:
        yield srv


@pytest.fixture
def run_id(backend_app) -> str:
    alice = backend_app.state.catalog.user_by_name("alice")
    return completed_run(backend_app.state.runs, alice.id, n=300)


async def receive(ws) -> dict:
    message = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
    PLAYBACK_MESSAGE.validate_python(message)
    return message


async def wait_until(predicate, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


async def test_a_client_watches_a_run_from_start_to_end(server, run_id):
    async with connect(f"{server.ws_url}/backtests/{run_id}/ws?speed=1000", max_size=None) as ws:
        await ws.send(orjson.dumps({"type": "auth", "token": ALICE_TOKEN}).decode())
        snap = await receive(ws)
        assert snap["cursor"] == -1
        await ws.send('{"type": "play"}')
        messages = [await receive(ws)]
        while messages[-1]["type"] != "end":
            messages.append(await receive(ws))
    frames = [m for m in messages if m["type"] == "frame"]
    # Every bar exactly once, in order, and each frame's cursor is its last bar.
    assert [t for f in frames for t in f["bars"]["time"]] == [T0 + 60 * i for i in range(300)]
    assert all(f["time"] == f["bars"]["time"][-1] for f in frames)
    assert [f["seq"] for f in frames] == list(range(len(frames)))
    assert messages[-1]["stats"]["bars_played"] == 300


async def test_disconnecting_mid_stream_leaves_no_task_running(server, backend_app, run_id):
    service = backend_app.state.playback
    async with connect(f"{server.ws_url}/backtests/{run_id}/ws?state=playing&speed=60",
                       additional_headers=auth(ALICE_TOKEN)) as ws:
        await receive(ws)
        await receive(ws)  # a frame: the playback loop is running
        [connection] = list(service.connections)
        tasks = list(connection.tasks)
        assert len(tasks) == 3 and not any(task.done() for task in tasks)  # send, receive, access re-check
    await wait_until(lambda: not service.connections)
    await wait_until(lambda: all(task.done() for task in tasks))
    assert all(task.done() for task in tasks)


async def test_real_time_pacing_is_about_thirty_frames_a_second(server, run_id):
    async with connect(f"{server.ws_url}/backtests/{run_id}/ws?state=playing&speed=60",
                       additional_headers=auth(ALICE_TOKEN)) as ws:
        await receive(ws)
        started = time.monotonic()
        frames = []
        while time.monotonic() - started < 1.0:
            message = await receive(ws)
            if message["type"] == "frame":
                frames.append(message)
    bars = sum(len(f["bars"]["time"]) for f in frames)
    # Generous bounds: the machine is shared; the exact pacing is tested with a fake clock.
    assert 15 <= len(frames) <= 40
    assert 40 <= bars <= 75


async def test_refusal_reaches_a_real_client_with_code_and_reason(server, run_id):
    async with connect(f"{server.ws_url}/backtests/{run_id}/ws",
                       additional_headers={"Authorization": "Bearer hw_wrong"}) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd.code == CloseCode.unauthorized
    assert closed.value.rcvd.reason
