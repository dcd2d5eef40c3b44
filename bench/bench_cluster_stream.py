"""The stream's Redis path on one server and on a Redis Cluster of three primaries, at the same load, side by side.

``RUNS`` runs each get an append (the relay's fenced script) 30 times a second for ``SECONDS`` (in ``ROUNDS``
rounds, alternating the two deployments, so that both meet what else the machine runs alike), while one reader
(the api node's: one blocking ``XREAD`` on one server, one per run's slot on the cluster) reads them all. Two
latencies per message: the append's round trip, and from just before the append to the reader having it (the
Redis part of relay → viewer). Both deployments run on this machine's loopback with no persistence; what differs
is only the client and the reads.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

import numpy as np
import orjson

from bench.harness import machine_line, record_section
from bench.processes import RedisClusterServers, RedisServer
from common.keys import KeySpace
from common.redis_client import create_redis
from common.stream.cluster_reader import make_stream_reader
from common.stream.envelope import PlaybackPosition
from common.stream.store import StreamStore, parse_entry

RUNS = 20
RATE = 30
SECONDS = 3.0
ROUNDS = 4  # alternating one server and the cluster, so that both meet the machine's load alike


async def measure(url: str) -> tuple[list[float], list[float]]:
    keys = KeySpace(f"hwbench-{int(time.time())}")
    commands = create_redis(url, socket_timeout_s=5)
    blocking = create_redis(url, socket_timeout_s=6)
    store = StreamStore(commands, keys)
    reader = make_stream_reader(blocking, commands, keys, "bench", block_ms=1000, socket_timeout_s=6)
    runs = [f"run-{i}" for i in range(RUNS)]
    claims = {run: await store.claim(run, f"bench:{run}", lease_ttl_ms=60_000) for run in runs}
    for run in runs:
        await reader.watch(keys.run_stream(run).stream, "0-0")
    sent_at: dict[tuple[str, int], float] = {}
    appends: list[float] = []
    deliveries: list[float] = []
    done = asyncio.Event()

    async def read() -> None:
        by_key = {keys.run_stream(run).stream: run for run in runs}
        while not done.is_set():
            for key, entries in await reader.read():
                now = time.perf_counter()
                for entry_id, fields in entries:
                    entry = parse_entry(entry_id, fields)
                    started = sent_at.pop((by_key[key], entry.offset), None)
                    if started is not None:
                        deliveries.append(now - started)

    async def publish(run: str) -> None:
        claim = claims[run]
        assert claim is not None
        offset = claim.offset
        deadline = time.perf_counter() + SECONDS
        while time.perf_counter() < deadline:
            offset += 1
            data = orjson.dumps({"type": "frame", "offset": offset, "pad": "x" * 400})
            started = time.perf_counter()
            sent_at[(run, offset)] = started
            await store.append(run, f"bench:{run}", offset=offset, message_type="frame", data=data,
                               epoch=claim.epoch, position=PlaybackPosition(cursor=offset))
            appends.append(time.perf_counter() - started)
            await asyncio.sleep(max(0.0, 1 / RATE - (time.perf_counter() - started)))

    reading = asyncio.create_task(read())
    await asyncio.gather(*(publish(run) for run in runs))
    await asyncio.sleep(1.0)
    done.set()
    await reader.watch(keys.run_stream(runs[0]).stream, "$")  # wake the blocked read so it sees done
    await asyncio.wait_for(reading, 5)
    for run in runs:
        await commands.delete(*keys.run_stream(run).all())
    await reader.aclose()
    await commands.aclose()
    await blocking.aclose()
    return appends, deliveries


def main() -> None:
    if not RedisServer.installed():
        record_section("cluster_stream", "Skipped: this benchmark needs redis-server and redis-cli.")
        return
    results: dict[str, tuple[list[float], list[float]]] = {"single": ([], []), "cluster": ([], [])}
    with tempfile.TemporaryDirectory(prefix="hewston-bench-cluster-") as workdir, \
            RedisServer(Path(workdir) / "single") as single, \
            RedisClusterServers(Path(workdir) / "cluster") as cluster:
        for _ in range(ROUNDS):
            for name, url in (("single", single.url), ("cluster", cluster.url)):
                appends, deliveries = asyncio.run(measure(url))
                results[name][0].extend(appends)
                results[name][1].extend(deliveries)
    report(results["single"], results["cluster"])


def report(single: tuple[list[float], list[float]], cluster: tuple[list[float], list[float]]) -> None:
    def ms(samples: list[float], p: float) -> float:
        return float(np.percentile(np.array(samples) * 1000, p)) if samples else float("nan")

    rows = []
    for name, index in (("append (round trip)", 0), ("append → reader", 1)):
        a, b = single[index], cluster[index]
        rows.append(f"| {name} | {ms(a, 50):.2f} | {ms(b, 50):.2f} | {ms(b, 50) / ms(a, 50):.2f}× | "
                    f"{ms(a, 99):.2f} | {ms(b, 99):.2f} | {ms(b, 99) / ms(a, 99):.2f}× | {len(a):,} / {len(b):,} |")
    record_section("cluster_stream", "\n".join([
        "## The stream on one Redis and on a Redis Cluster (`bench/bench_cluster_stream.py`)",
        "",
        f"{machine_line()}. {RUNS} runs appended {RATE} times a second each, {ROUNDS} rounds of {SECONDS:g} s on "
        "each deployment, alternating (the relay's "
        "fenced append script, 400-byte messages) while one reader reads them all (one `XREAD` on one server; one "
        "per run's slot on three primaries); no persistence; one process drives both, side by side.",
        "",
        "| latency | one server p50 ms | cluster p50 ms | ratio | one server p99 ms | cluster p99 ms | ratio | "
        "messages (one / cluster) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        *rows,
    ]))
