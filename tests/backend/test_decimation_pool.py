"""Long lines (equity, indicator lines) are decimated by worker processes: the same bytes as on the event loop, a
pool that starts and stops with the backend (and whose workers leave when the backend is killed), and requests
that are answered whatever the pool does (broken, slow, busy)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from structlog.testing import capture_logs

from backend.auth import hash_token
from backend.main import create_app
from backend.runs import decimation_pool, decimation_worker
from backend.settings import BackendSettings
from tests.backend.playback_fixtures import completed_run
from tests.conftest import ALICE_TOKEN, auth

BARS = 30_000
MA = {"fast": 5, "slow": 40}


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A worker that has exited but not been reaped yet is a zombie: gone for every purpose here.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0] != "Z"


def _children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
        except (OSError, ValueError):
            continue
        if entry.name.isdigit() and int(stat.rsplit(")", 1)[1].split()[1]) == parent:
            found.append(int(entry.name))
    return found


def _gone_within(pids: list[int], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while any(_pid_alive(pid) for pid in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _app(data_dir: Path, workers: int, **settings):
    app = create_app(BackendSettings(data_dir=data_dir, redis_url=None, decimation_workers=workers,
                                     decimation_min_points=1_000, _env_file=None, **settings))
    if app.state.catalog.user_by_name("alice") is None:
        app.state.catalog.add_user("alice", hash_token(ALICE_TOKEN))
    return app


def _ready(app) -> None:
    decimator = app.state.decimator
    deadline = time.monotonic() + 60
    while decimator._ready is None or not decimator._ready.done():
        assert time.monotonic() < deadline, "the decimation worker did not start"
        time.sleep(0.05)


@pytest.fixture
def data_dir(tmp_path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def runs(data_dir) -> dict[str, str]:
    app = _app(data_dir, workers=0)
    alice = app.state.catalog.user_by_name("alice")
    return {"equity": completed_run(app.state.runs, alice.id, n=BARS),
            "indicators": completed_run(app.state.runs, alice.id, n=BARS, strategy="ma_crossover", params=MA)}


@pytest.fixture
def pooled(data_dir, runs) -> Iterator[TestClient]:
    with TestClient(_app(data_dir, workers=1)) as client:
        _ready(client.app)
        yield client


def _get(client: TestClient, path: str, **params) -> bytes:
    response = client.get(path, params=params, headers=auth(ALICE_TOKEN))
    assert response.status_code == 200, response.text
    return response.content


def test_a_worker_decimates_long_lines_into_the_very_bytes_the_loop_builds(data_dir, runs, pooled):
    rid, ind = runs["equity"], runs["indicators"]
    asks = [(f"/backtests/{rid}/equity", {"max_points": 700}),
            (f"/backtests/{rid}/equity", {"max_points": 500, "from": 1_700_000_040 + 60 * 5_000,
                                          "to": 1_700_000_040 + 60 * 25_000}),
            (f"/backtests/{ind}/indicators", {"max_points": 600}),
            (f"/backtests/{ind}/indicators", {"max_points": 300, "from": 1_700_000_040 + 60 * 10}),
            (f"/backtests/{ind}/equity", {"max_points": 900})]
    from_pool = [_get(pooled, path, **params) for path, params in asks]
    decimator = pooled.app.state.decimator
    assert decimator.on_pool == len(asks) and decimator.on_loop == 0
    with TestClient(_app(data_dir, workers=0)) as on_loop:
        assert [_get(on_loop, path, **params) for path, params in asks] == from_pool
    assert b'"count":700' in from_pool[0] and b'"count":600' in from_pool[2]


def test_short_lines_stay_on_the_loop(pooled, runs):
    pooled.app.state.decimator.min_points = BARS + 1
    _get(pooled, f"/backtests/{runs['equity']}/equity", max_points=100)
    assert pooled.app.state.decimator.on_pool == 0


def test_the_pool_starts_with_the_backend_and_its_workers_stop_with_it(data_dir, runs):
    app = _app(data_dir, workers=2)
    assert app.state.decimator.pids == []
    with TestClient(app):
        _ready(app)
        pids = app.state.decimator.pids
        assert len(pids) == 2 and all(_pid_alive(pid) for pid in pids)
    assert _gone_within(pids, 0.5)


def test_workers_leave_when_the_backend_is_killed(tmp_path):
    script = textwrap.dedent("""
        import asyncio, sys, time
        from backend.runs.decimation_pool import LineDecimator

        async def main():
            decimator = LineDecimator(2, 1, 1.0, 1)
            decimator.start()
            while not decimator._ready.done():
                await asyncio.sleep(0.05)
            print(*decimator.pids, flush=True)
            await asyncio.sleep(120)

        asyncio.run(main())
    """)
    backend = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        pids = [int(pid) for pid in backend.stdout.readline().split()]
        assert len(pids) == 2 and all(_pid_alive(pid) for pid in pids)
        # Every child: the workers and multiprocessing's resource tracker.
        children = _children(backend.pid)
        assert set(pids) < set(children)
        pids = children
        backend.send_signal(signal.SIGKILL)
        backend.wait(10)
        # Orphans are re-parented to init (or a subreaper), which reaps them; nobody joins them.
        assert _gone_within(pids, 5.0)
    finally:
        backend.kill()
        backend.wait(10)


def test_a_killed_worker_costs_no_request_and_the_pool_comes_back(pooled, runs, monkeypatch):
    rid = runs["equity"]
    decimator = pooled.app.state.decimator
    (worker,) = decimator.pids
    os.kill(worker, signal.SIGKILL)
    assert _gone_within([worker], 5.0)
    with TestClient(_app(pooled.app.state.settings.data_dir, workers=0)) as on_loop:
        expected = [_get(on_loop, f"/backtests/{rid}/equity", max_points=n) for n in (401, 402, 403)]
    monkeypatch.setattr(decimation_pool, "RESTART_PAUSE_S", 0.0)
    with capture_logs() as logs:
        assert _get(pooled, f"/backtests/{rid}/equity", max_points=401) == expected[0]
        # Meanwhile a new pool starts; until it is ready, lines stay on the loop without a second warning.
        assert _get(pooled, f"/backtests/{rid}/equity", max_points=402) == expected[1]
    warnings = [entry for entry in logs if entry["event"] == "decimation_on_loop"]
    assert len(warnings) == 1 and "stopped" in warnings[0]["reason"]
    assert decimator.on_loop == 2 and decimator.on_pool == 0
    _ready(pooled.app)
    assert _get(pooled, f"/backtests/{rid}/equity", max_points=403) == expected[2]
    assert decimator.on_pool == 1 and decimator.pids and decimator.pids != [worker]
    scraped = pooled.get("/metrics").text
    assert 'hewston_backend_decimations_total{where="loop"} 2.0' in scraped
    assert 'hewston_backend_decimations_total{where="pool"} 1.0' in scraped


def test_a_slow_worker_is_not_waited_for(data_dir, runs):
    with TestClient(_app(data_dir, workers=1, decimation_timeout_s=0.2)) as client:
        _ready(client.app)
        decimator = client.app.state.decimator
        # The only worker is busy with something long: the request's line waits 0.2 s, then the loop takes it.
        busy = decimator._pool.submit(time.sleep, 3)
        started = time.monotonic()
        with capture_logs() as logs:
            body = _get(client, f"/backtests/{runs['equity']}/equity", max_points=333)
        assert time.monotonic() - started < 2.0 and b'"count":333' in body
        (warning,) = [entry for entry in logs if entry["event"] == "decimation_on_loop"]
        assert decimator.on_loop == 1 and "longer than 0.2 s" in warning["reason"]
        # A full queue is not joined at all: lines go to the loop at once.
        decimator._in_flight = decimation_pool.QUEUED_PER_WORKER
        started = time.monotonic()
        _get(client, f"/backtests/{runs['equity']}/equity", max_points=334)
        assert time.monotonic() - started < 0.15 and decimator.on_pool == 0
        decimator._in_flight = 0
        busy.result(10)
        _get(client, f"/backtests/{runs['equity']}/equity", max_points=335)
        assert decimator.on_pool == 1


def test_a_long_run_loading_for_a_chart_is_read_by_the_worker_meanwhile(pooled, runs, data_dir):
    decimator = pooled.app.state.decimator
    assert decimator._pool.submit(decimation_worker.kept).result(10) == {}
    # No decimation asked for: the worker reads the curve's columns all the same, ahead of the next request.
    _get(pooled, f"/backtests/{runs['equity']}/equity")
    run_dir = str(pooled.app.state.runs.run_dir(runs["equity"]))
    assert decimator._pool.submit(decimation_worker.kept).result(10) == {run_dir: ["equity", "time", "time:x"]}
    # A loaded run is not read again, and a run too short for the pool is not read at all.
    decimator.min_points = BARS + 1
    _get(pooled, f"/backtests/{runs['indicators']}/equity")
    assert list(decimator._pool.submit(decimation_worker.kept).result(10)) == [run_dir]
