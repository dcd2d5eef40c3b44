"""A control that asks for a year of bars at once cannot break the run's upstream connection: over the real stack
(backend, relay, api node, a viewer), a step of 10**18 on a year of minute bars ends at the last bar in messages of
at most ``MAX_FRAME_BARS`` bars, and the relay's connection to the backend carries on."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import orjson
import pytest

from common.models.playback import MAX_FRAME_BARS
from tests.api.conftest import INSTRUMENT, START, SYMBOL, build_backend
from tests.backend import market_data
from tests.conftest import ALICE_TOKEN
from tests.stream.conftest import ALICE, upstream_connections
from tests.support.servers import LiveServer, live_server
from tests.support.stream_client import StreamViewer

YEAR_BARS = 525_600
# A snapshot, or a frame of MAX_FRAME_BARS bars, is tens of kilobytes; one frame of a year was 54.6 MB.
MAX_MESSAGE_BYTES = 256 * 1024


@pytest.fixture(scope="module")
def stream_backend(tmp_path_factory) -> Iterator[LiveServer]:
    """This module's backend (the stack's): a year of minute bars."""
    app = build_backend(tmp_path_factory.mktemp("year") / "data")
    app.state.bar_store.write_minutes(INSTRUMENT, market_data.make_minutes(YEAR_BARS, start=START, seed=3))
    with live_server(app) as server:
        yield server


@pytest.fixture(scope="module")
def year_run(stream_backend) -> str:
    body = {"symbol": SYMBOL, "strategy": "ma_crossover", "timeframe": "minute", "from": START,
            "to": START + 60 * (YEAR_BARS - 1)}
    headers = {"Authorization": f"Bearer {ALICE_TOKEN}"}
    run = httpx.post(f"{stream_backend.http_url}/backtests", json=body, headers=headers, timeout=60).json()
    for _ in range(600):
        if run["status"] in ("completed", "failed"):
            break
        run = httpx.get(f"{stream_backend.http_url}/backtests/{run['id']}", headers=headers).json()
    assert run["status"] == "completed", run
    return run["id"]


async def test_a_step_of_10_to_the_18_ends_at_the_end_in_bounded_messages_and_keeps_the_upstream(stack, year_run):
    relay = stack.relay()
    api = stack.api()
    async with StreamViewer(api.http_url, year_run, ALICE) as viewer:
        await viewer.until(lambda m: m["type"] == "snapshot")
        await viewer.send({"type": "step", "bars": 10, "ref": "small"})  # a small step is still a frame
        await viewer.until(lambda m: m["type"] == "frame" and m["cursor"] == 9)
        await viewer.send({"type": "step", "bars": 10**18, "ref": "huge"})
        end = await viewer.until(lambda m: m["type"] == "end", timeout_s=30)
        assert end["cursor"] == YEAR_BARS - 1 and end["stats"]["bars_played"] == YEAR_BARS
        # The same upstream connection still answers controls.
        await viewer.send({"type": "step", "bars": -5, "ref": "back"})
        back = await viewer.until(lambda m: m["type"] == "snapshot" and m["cursor"] == YEAR_BARS - 6)
        assert back["state"] == "paused"
        assert upstream_connections(stack.backend, year_run) == 1
    received = viewer.messages
    jump = next(m for m in received if m["type"] == "snapshot" and m["cursor"] == YEAR_BARS - 1)
    assert (jump["kind"], jump["cause"], jump["state"]) == ("reset", "seek", "ended")
    assert max(len(orjson.dumps(m)) for m in received) <= MAX_MESSAGE_BYTES
    assert all(len(m["bars"]["time"]) <= MAX_FRAME_BARS for m in received if m["type"] == "frame")
    assert not [m for m in received if m["type"] in ("upstream", "error")]
    assert relay.metrics.upstream_events.labels("lost")._value.get() == 0
    assert relay.metrics.upstream_events.labels("connected")._value.get() == 1
