"""What viewers see when parts of the system fail: the broker's history lost, Redis unreachable, the backend
stopped and started again."""

from __future__ import annotations

import asyncio

import httpx

from api.main import create_app as create_api
from backend.main import create_app as create_backend
from backend.settings import BackendSettings
from common.keys import KeySpace
from common.redis_client import create_redis
from tests.api.conftest import api_settings, build_backend, create_run
from tests.conftest import SERVICE_TOKEN
from tests.stream.conftest import ALICE, Stack, upstream_connections
from tests.support.redis_keys import delete_key_space
from tests.support.servers import LiveServer, free_port
from tests.support.stream_client import StreamViewer

SPEED = {"type": "speed", "value": 300}


async def test_a_lost_history_resets_viewers_who_continue_where_the_playback_was(stack, alice_run):
    stack.relay()
    api = stack.api()
    async with StreamViewer(api.http_url, alice_run, ALICE) as viewer:
        await viewer.play()
        await viewer.until_cursor(600)
        before = viewer.continuity.cursor
        # What a Redis restart without persistence does to the run: every key gone, lease and demand included.
        if stack.broker_url:
            delete_key_space(stack.broker_url, KeySpace(stack.prefix))
        else:
            redis = create_redis(None)
            try:
                found = [key async for key in redis.scan_iter(KeySpace(stack.prefix).pattern())]
                await redis.delete(*found)
            finally:
                await redis.aclose()
        reset = await viewer.until(lambda m: m["type"] == "snapshot" and m["kind"] == "reset", timeout_s=30)
        assert reset["cause"] == "history_lost" and reset["epoch"] != viewer.messages[0]["epoch"]
        assert reset["cursor"] >= before  # it went on from where it was, not from the start
        await viewer.until_cursor(reset["cursor"] + 200)
    assert viewer.continuity.resets == ["connect", "history_lost"]


async def test_without_redis_a_viewer_gets_a_private_direct_playback(stream_backend, alice_run):
    unreachable = f"redis://127.0.0.1:{free_port()}/0"
    api = LiveServer(create_api(api_settings(stream_backend.http_url, unreachable))).start()
    try:
        async with StreamViewer(api.http_url, alice_run, ALICE, resume=("someepoch", 5)) as viewer:
            hello = await viewer.recv()
            assert hello["degraded"] and hello["can_control"] and hello["resume"] == "reset"
            assert hello["epoch"].startswith("direct-")
            first = await viewer.recv()
            assert first["type"] == "snapshot" and first["kind"] == "reset"
            await viewer.send(SPEED)
            await viewer.send({"type": "play", "ref": "p1"})
            await viewer.until_cursor(300)
            await viewer.send({"type": "speed", "value": 0, "ref": "bad"})
            error = await viewer.until(lambda m: m["type"] == "error")
            assert error["ref"] == "bad" and "value" in error["message"]
        metrics = httpx.get(f"{api.http_url}/metrics").text
        assert "hewston_stream_degraded_viewers_total 1.0" in metrics
    finally:
        api.stop()


async def test_the_stream_reports_a_stopped_backend_and_resumes_without_a_gap(tmp_path, broker_url):
    port = free_port()
    data_dir = tmp_path / "data"
    backend = LiveServer(build_backend(data_dir), port=port).start()
    stack = Stack(backend, broker_url, f"hwtest-backend-{port}")
    try:
        run_id = create_run(backend.http_url, ALICE)["id"]
        stack.relay()
        api = stack.api()
        async with StreamViewer(api.http_url, run_id, ALICE) as viewer:
            await viewer.play()
            await viewer.until_cursor(300)
            backend.stop()
            lost = await viewer.until(lambda m: m["type"] == "upstream")
            assert lost["state"] == "lost"
            await asyncio.sleep(0.5)
            restarted = create_backend(BackendSettings(data_dir=data_dir, service_token=SERVICE_TOKEN,
                                                       redis_url=None, _env_file=None))
            backend = LiveServer(restarted, port=port).start()
            stack.backend = backend
            resumed = await viewer.until(lambda m: m["type"] == "upstream" and m["state"] == "resumed",
                                         timeout_s=30)
            assert "cannot be reached" in resumed["reason"] or "closed" in resumed["reason"]
            await viewer.until_cursor(viewer.continuity.cursor + 300)
            assert upstream_connections(backend, run_id) == 1
        bars = viewer.continuity.bar_times
        assert all(later - earlier == 60 for earlier, later in zip(bars, bars[1:], strict=False))
    finally:
        await stack.stop()
        backend.stop()
        if broker_url:
            delete_key_space(broker_url, KeySpace(stack.prefix))


async def test_stream_metrics_are_exported(stack, alice_run):
    stack.relay()
    api = stack.api()
    async with StreamViewer(api.http_url, alice_run, ALICE) as viewer:
        await viewer.until(lambda m: m["type"] == "snapshot")
        metrics = httpx.get(f"{api.http_url}/metrics").text
    assert "hewston_stream_viewers 1.0" in metrics
    assert 'hewston_stream_resumes_total{outcome="fresh"} 1.0' in metrics
    assert "hewston_stream_messages_in_total" in metrics
