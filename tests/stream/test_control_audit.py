"""Playback controls through the api leave audit events: who, which run, what, and what became of it."""

from __future__ import annotations

import asyncio
import time

from common.keys import KeySpace
from tests.conftest import ALICE_TOKEN, BOB_TOKEN
from tests.support.redis_keys import sync_client
from tests.support.stream_client import StreamViewer


def audit_events(stack) -> list[dict[str, str]]:
    client = sync_client(stack.broker_url)
    try:
        entries = client.xrange(KeySpace(stack.prefix).audit_stream())
    finally:
        client.close()
    return [{k.decode(): v.decode() for k, v in fields.items()} for _id, fields in entries]


async def test_controls_forwarded_and_forbidden_are_audited_without_tokens(stack, shared_run):
    stack.relay()
    api = stack.api()
    async with StreamViewer(api.http_url, shared_run, ALICE_TOKEN) as owner, \
            StreamViewer(api.http_url, shared_run, BOB_TOKEN) as follower:
        await owner.until(lambda m: m["type"] == "snapshot")
        await follower.until(lambda m: m["type"] == "snapshot")
        await owner.send({"type": "seek", "cursor": 120})
        await follower.send({"type": "play", "ref": "bob-1"})
        await follower.until(lambda m: m["type"] == "error")
        deadline = time.monotonic() + 5
        while len(audit_events(stack)) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    events = sorted(audit_events(stack), key=lambda e: e["user"])
    assert [(e["action"], e["user"], e["run_id"], e["control"], e["outcome"]) for e in events] == [
        ("playback_control", "alice", shared_run, "seek", "forwarded"),
        ("playback_control", "bob", shared_run, "refused", "forbidden")]
    assert all(e["client_id"] and e["correlation_id"] for e in events)
    assert not any(token in str(events) for token in (ALICE_TOKEN, BOB_TOKEN))
