"""What a cache hit makes Python do beyond the floor, counted rather than timed.

``python -m bench.hit_work [section]`` starts a Redis server and a backend (as ``bench/bench_api.py`` does), builds
the api and the floor app (``bench/floor_app.py``) in this process, and calls each as an ASGI app with a
chart-data hit (10,000 candles, gzip) and a complete-run hit (default query), the api with the headers an httpx
client sends. Around 200 requests of each it counts, with the interpreter's own tracing hooks:

- **bytecodes executed** per request (``sys.settrace`` opcode events), by module;
- **Python function calls** per request (``sys.setprofile`` call events; C functions not counted).

Timings on this shared 2-core machine move by tens of percent from one run to the next; these counts do not
move at all, so they show what a change to the hit path saved even when the timed benchmarks cannot. They say
nothing about C code (redis-py's hiredis parser, uvloop, isa-l), which the floor runs too. They are not named
``bench_*``, so ``make bench`` does not run them; they record the ``hit_work`` section of docs/benchmarks.md.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import redis.asyncio as aioredis
import uvloop

from bench.api_layers import CHART_QUERY, PREFIX, _caller, _scope, configure_in_process_api
from bench.bench_api import SYMBOL, TOKEN, YEAR_MINUTES, YEAR_START, _wait_completed, backend_on_redis
from bench.harness import machine_line, record_section
from common.keys import KeySpace
from tests.support.redis_keys import delete_key_space

REQUESTS = 200
TOP = 12
ROOT = str(Path(__file__).resolve().parent.parent) + os.sep
# What an httpx client sends with the bench's requests (bench_api's client): the api looks at its headers.
CLIENT_HEADERS = [(b"host", b"127.0.0.1:8000"), (b"accept", b"*/*"), (b"accept-encoding", b"gzip"),
                  (b"connection", b"keep-alive"), (b"user-agent", b"python-httpx"),
                  (b"authorization", f"Bearer {TOKEN}".encode())]


def _module(filename: str) -> str:
    """A short name for a code object's file: the project's path, a package's path, or the stdlib file."""
    if "site-packages" + os.sep in filename:
        return filename.split("site-packages" + os.sep, 1)[1]
    if filename.startswith(ROOT):
        return filename[len(ROOT):]
    if filename == "<string>":
        return "generated code (dataclasses' __init__)"
    return "stdlib " + os.path.basename(filename)


class Work:
    """Bytecodes and Python calls while counting, by module."""

    def __init__(self) -> None:
        self.bytecodes: Counter[str] = Counter()
        self.calls = 0

    def _trace(self, frame: Any, event: str, _arg: Any) -> Any:
        frame.f_trace_opcodes = True
        if event == "opcode":
            self.bytecodes[frame.f_code.co_filename] += 1
        return self._trace

    def _profile(self, _frame: Any, event: str, _arg: Any) -> None:
        if event == "call":  # Python frames only (C calls are c_call), a resumed coroutine included
            self.calls += 1

    async def count(self, call: Callable[[], Awaitable[Any]], requests: int) -> None:
        sys.settrace(self._trace)
        sys.setprofile(self._profile)
        try:
            for _ in range(requests):
                await call()
        finally:
            sys.setprofile(None)
            sys.settrace(None)


async def _measure(redis_url: str, backend_url: str) -> dict[str, dict[str, Work]]:
    configure_in_process_api(redis_url, backend_url)
    from api.main import create_app
    from bench.floor_app import create_app as create_floor

    with httpx.Client(base_url=backend_url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=120) as backend:
        run = backend.post("/backtests", json={"symbol": SYMBOL, "strategy": "ma_crossover", "timeframe": "minute",
                                               "from": YEAR_START, "to": YEAR_START + 60 * (YEAR_MINUTES - 1)}).json()
        run_id = _wait_completed(backend, run["id"])["id"]
    app, floor = create_app(), create_floor()
    redis = aioredis.Redis.from_url(redis_url)
    cases = {"chart-data hit": _scope(app, "/api/v1/chart-data", CHART_QUERY, CLIENT_HEADERS),
             "complete-run hit": _scope(app, f"/api/v1/runs/{run_id}/complete", b"", CLIENT_HEADERS)}
    measured: dict[str, dict[str, Work]] = {}
    async with app.router.lifespan_context(app), floor.router.lifespan_context(floor):
        for name, scope in cases.items():
            api = _caller(app, scope)
            await api()  # the miss
            body = await api()  # the first hit, which learns what to read ahead
            floor_key = f"{PREFIX}:floor"
            await redis.set(floor_key, body)
            bare = _caller(floor, _scope(floor, "/cached", b"key=" + floor_key.encode(), [(b"host", b"x")]))
            measured[name] = {}
            for side, call in (("floor", bare), ("api", api)):
                for _ in range(50):  # warm: every memo and lease in place, as on a busy node
                    await call()
                work = measured[name][side] = Work()
                await work.count(call, REQUESTS)
    await redis.aclose()
    return measured


def main(section: str = "hit_work") -> None:
    with backend_on_redis("hit_work") as servers:
        if servers is None:
            return
        redis_url, backend_url = servers
        measured = uvloop.run(_measure(redis_url, backend_url))
        delete_key_space(redis_url, KeySpace(PREFIX))
    lines = [f"{machine_line()}. The api and the floor app called as ASGI apps in one process (uvloop), on a Redis "
             f"server and a live backend, {REQUESTS} warm requests each; Python's own tracing hooks count what the "
             "interpreter runs (C code, which both run, is not counted).", "",
             "| hit | bytecodes per request: api / floor | api beyond the floor | Python calls per request: "
             "api / floor |", "| --- | --- | --- | --- |"]
    for name, sides in measured.items():
        api, floor = (sum(sides[s].bytecodes.values()) / REQUESTS for s in ("api", "floor"))
        calls = [sides[s].calls / REQUESTS for s in ("api", "floor")]
        lines.append(f"| {name} | {api:,.0f} / {floor:,.0f} | {api - floor:,.0f} | {calls[0]:.0f} / {calls[1]:.0f} |")
    for name, sides in measured.items():
        beyond = Counter({_module(f): n / REQUESTS for f, n in sides["api"].bytecodes.items()})
        beyond.subtract({_module(f): n / REQUESTS for f, n in sides["floor"].bytecodes.items()})
        lines += ["", f"Where the {name}'s bytecodes beyond the floor are (the {TOP} largest):", "",
                  "| module | bytecodes per request |", "| --- | --- |"]
        lines += [f"| `{module}` | {count:,.0f} |" for module, count in beyond.most_common(TOP)]
    record_section(section, "\n".join(lines))


if __name__ == "__main__":
    main(*sys.argv[1:2])
