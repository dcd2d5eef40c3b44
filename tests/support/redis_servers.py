"""Tests that start Redis servers of their own (to pause, kill, restart or cluster them) need redis-server and
redis-cli: without them such a test is skipped, or fails where a real Redis is required (CI)."""

from __future__ import annotations

import os

import pytest

from bench.processes import RedisServer


def require_redis_server(what: str) -> None:
    """Skip the calling test (fail it under ``HEWSTON_REQUIRE_REDIS=1``) when redis-server is not installed."""
    if RedisServer.installed():
        return
    if os.environ.get("HEWSTON_REQUIRE_REDIS") == "1":
        pytest.fail("HEWSTON_REQUIRE_REDIS=1 but redis-server is not installed")
    pytest.skip(f"needs redis-server ({what})")
