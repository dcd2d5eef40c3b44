"""A Redis server for a benchmark whose roles run as separate processes (they cannot share an embedded broker).

The one named by ``HEWSTON_TEST_REDIS_URL`` or ``REDIS_URL`` when set; otherwise a throwaway ``redis-server`` on a
free loopback port (``bench.processes.RedisServer``: no persistence), stopped afterwards; ``None`` when neither is
available.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.processes import RedisServer


@contextmanager
def redis_for_bench() -> Iterator[str | None]:
    configured = os.environ.get("HEWSTON_TEST_REDIS_URL") or os.environ.get("REDIS_URL")
    if configured:
        yield configured
        return
    if not RedisServer.installed():
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="hewston-bench-redis-") as workdir, RedisServer(Path(workdir)) as server:
        yield server.url
