"""A relay in trouble: killed between passing a control upstream and recording it, or running on a clock that
is off. Controls are applied exactly once; a skewed clock neither starves a run nor trims its history early."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

import relay.run_relay
import relay.service
from common.keys import KeySpace
from common.redis_client import create_redis
from relay.run_relay import RunRelay
from tests.stream.conftest import ALICE
from tests.support.stream_client import StreamViewer


async def _paused_at(viewer: StreamViewer, cursor: int) -> int:
    await viewer.play(speed=300)
    await viewer.until_cursor(cursor)
    await viewer.send({"type": "pause"})
    status = await viewer.until(lambda m: m["type"] == "status" and m["state"] == "paused")
    return status["cursor"]


async def test_a_relay_killed_between_applying_a_step_and_recording_it_applies_it_exactly_once(
        stack, alice_run, monkeypatch):
    victim = stack.relay()
    api = stack.api()
    async with StreamViewer(api.http_url, alice_run, ALICE) as viewer:
        paused_at = await _paused_at(viewer, 300)
        original = RunRelay.control

        async def control_then_die(self, entry_id, client, raw):
            await original(self, entry_id, client, raw)
            if any(held.relay is self for held in victim.held.values()):
                # The relay's process dies right here: the step went upstream, its answer is never read.
                for held in victim.held.values():
                    held.task.cancel()
                victim.held.clear()
                stack.relays.pop(victim).cancel()

        monkeypatch.setattr(RunRelay, "control", control_then_die)
        await viewer.send({"type": "step", "bars": 25, "ref": "one-step"})
        stack.relay()  # takes the run over once the victim's lease has expired
        frame = await viewer.until(lambda m: m["type"] == "frame", timeout_s=30)
        assert frame["cursor"] == paused_at + 25
        # Applied once, not twice: nothing moves any more (heartbeats only while paused).
        with pytest.raises(TimeoutError):
            await viewer.until(lambda m: m["type"] == "frame", timeout_s=2)
    assert viewer.continuity.cursor == paused_at + 25


@pytest.mark.parametrize("skew_s", [30.0, 400.0])
async def test_a_relay_whose_clock_is_off_neither_starves_nor_trims_early(stack, alice_run, monkeypatch, skew_s):
    first = stack.relay()
    api = stack.api()
    async with StreamViewer(api.http_url, alice_run, ALICE) as viewer:
        await viewer.play(speed=300)
        await viewer.until_cursor(300)
        await stack.kill(first)
        skewed = SimpleNamespace(time=lambda: time.time() + skew_s, monotonic=time.monotonic,
                                 perf_counter=time.perf_counter)
        monkeypatch.setattr(relay.service, "time", skewed)
        monkeypatch.setattr(relay.run_relay, "time", skewed)
        stack.relay()
        # It claims the run (demand deadlines are Redis's clock, not its own) and playback goes on.
        await viewer.until_cursor(viewer.continuity.cursor + 600, timeout_s=30)
    redis = create_redis(stack.broker_url)
    try:
        first_entry = await redis.xrange(KeySpace(stack.prefix).run_stream(alice_run).stream, count=1)
    finally:
        await redis.aclose()
    # Nothing was trimmed by age: the relay's clock is not what the entries' ages are measured on.
    assert first_entry[0][0] == b"1-0"
