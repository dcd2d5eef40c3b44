"""A Redis server for a benchmark whose roles run as separate processes (they cannot share an embedded broker).

The one named by ``HEWSTON_TEST_REDIS_URL`` or ``REDIS_URL`` when set; otherwise a throwaway ``redis-server`` on a
free loopback port, without persistence, stopped afterwards; ``None`` when neither is available.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import redis

from tests.support.servers import free_port


@contextmanager
def redis_for_bench() -> Iterator[str | None]:
    configured = os.environ.get("HEWSTON_TEST_REDIS_URL") or os.environ.get("REDIS_URL")
    if configured:
        yield configured
        return
    binary = shutil.which("redis-server")
    if binary is None:
        yield None
        return
    port, workdir = free_port(), tempfile.mkdtemp(prefix="hewston-bench-redis-")
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", workdir], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        client = redis.Redis.from_url(url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        client.close()
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)
