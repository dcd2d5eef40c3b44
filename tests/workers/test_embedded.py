"""The worker over the embedded broker, as ``hewston up`` runs it: in the api's process, loop and broker."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import httpx
import pytest
from structlog.testing import capture_logs

from api.main import create_app as create_api
from api.settings import ApiSettings
from bench.processes import accepting
from common import serving
from common.default_views import run_chart_view, run_page_query, symbol_views
from common.keys import KeySpace
from common.redis_client import create_redis
from hewston import up
from relay.settings import RelaySettings
from tests.api.conftest import build_backend
from tests.conftest import ALICE_TOKEN, SERVICE_TOKEN, auth
from tests.support.servers import free_port
from tests.workers.conftest import service_get, wait_for, worker_config
from workers.broker import embedded_pool
from workers.config import WorkerConfig
from workers.worker import in_process_worker


def _embedded_api(backend_url: str) -> ApiSettings:
    return ApiSettings(backend_url=backend_url, redis_url=None, redis_key_prefix=f"hwtest-{uuid.uuid4().hex[:8]}",
                       upstream_retries=0, _env_file=None)


def _one_cycle_done(worker) -> bool:
    metrics = worker.ctx["metrics"]
    return metrics.discoveries.labels("done")._value.get() >= 1 and metrics.queue_depth._value.get() == 0 \
        and metrics.totals["done"] > 0


async def test_the_embedded_broker_answers_arqs_start_up_info_and_nothing_else_changes():
    pool = embedded_pool(KeySpace(f"hwtest-{uuid.uuid4().hex[:8]}"))
    try:
        async with pool.pipeline(transaction=False) as pipe:
            pipe.info(section="Server")
            pipe.dbsize()
            info, size = await pipe.execute()
        assert info == {} and isinstance(size, int)
        await pool.set("hwtest-embedded-probe", b"1", px=1000)
        # The same broker the api and every other role of this process use.
        assert await create_redis(None).get("hwtest-embedded-probe") == b"1"
    finally:
        await pool.aclose()


async def test_in_process_worker_warms_every_default_view_after_one_cycle(shared_backend, completed_run):
    backend_url = shared_backend.http_url
    api = _embedded_api(backend_url)
    with capture_logs() as logs:
        async with in_process_worker(worker_config(backend_url, None, health_log_interval_s=0.2), api) as worker:
            await wait_for(lambda: _one_cycle_done(worker))
            await wait_for(lambda: any(e["event"] == "worker_health" and e["queue_depth"] == 0 for e in logs))
    health = [e for e in logs if e["event"] == "worker_health" and e["queue_depth"] == 0][-1]
    assert health["done"] > 0 and health["failed"] == health["retried"] == 0
    app = create_api(api)
    views = symbol_views(service_get(backend_url, "/symbols/TEST")) + [run_chart_view(completed_run)]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api",
                                 headers=auth(ALICE_TOKEN)) as client:
        for view in views:
            response = await client.get("/api/v1/chart-data", params=view.query())
            assert response.status_code == 200 and response.headers["x-cache"] == "hit", view
        complete = await client.get(f"/api/v1/runs/{completed_run['id']}/complete", params=run_page_query())
        assert complete.json()["metadata"]["cache"] == "hit"


async def test_hewston_up_serves_the_api_with_its_worker_in_one_loop(tmp_path, monkeypatch):
    # No worker metrics server: its fixed default port may be held by a Hewston already running on this machine.
    monkeypatch.setenv("HEWSTON_WORKER_METRICS_PORT", "0")
    backend_port, api_port = free_port(), free_port()
    backend_app = build_backend(tmp_path / "data")
    api = _embedded_api(f"http://127.0.0.1:{backend_port}").model_copy(update={"port": api_port})
    keys, broker = KeySpace(api.redis_key_prefix), create_redis(None)
    servers = [(serving.server(app, handle_signals=False), serving.bind("127.0.0.1", port, setting="port"))
               for app, port in ((backend_app, backend_port), (create_api(api), api_port))]
    relay = RelaySettings(backend_url=f"http://127.0.0.1:{backend_port}", service_token=SERVICE_TOKEN,
                          redis_url=None, redis_key_prefix=api.redis_key_prefix, metrics_port=None, _env_file=None)
    running = asyncio.create_task(up._serve_all(servers, relay,
                                                up._prewarm_worker(backend_app.state.settings, api)))
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{api_port}", headers=auth(ALICE_TOKEN)) as client:
            symbol: dict = {}

            async def warmed() -> bool:
                # Nobody asks for chart data before every default view is in the cache: the worker put it there.
                try:
                    symbol.update((await client.get("/api/v1/symbols/TEST")).json())
                except httpx.HTTPError:
                    return False
                views = symbol_views(symbol)
                return bool(views) and await broker.exists(*(v.cache_key(keys, 1) for v in views)) == len(views)

            await wait_for(warmed)
            for view in symbol_views(symbol):
                response = await client.get("/api/v1/chart-data", params=view.query())
                assert response.headers["x-cache"] == "hit"
    finally:
        # As on Ctrl-C: the servers stop, then whatever else runs in the loop is cancelled, and the worker
        # (leaving its context) closes.
        for server, _sock in servers:
            server.should_exit = True
        await wait_for(lambda: not accepting(backend_port) and not accepting(api_port))
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(running, 15)


@pytest.mark.parametrize("configured", [None, SERVICE_TOKEN])
def test_hewston_up_gives_its_worker_the_backend_and_a_service_token(tmp_path, monkeypatch, configured):
    monkeypatch.chdir(tmp_path)
    for name in ("REDIS_URL", "HEWSTON_REDIS_URL", "HEWSTON_SERVICE_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    if configured:
        monkeypatch.setenv("HEWSTON_SERVICE_TOKEN", configured)
    monkeypatch.setenv("HEWSTON_DATA_DIR", str(tmp_path / "data"))
    served: list = []

    relays: list[RelaySettings] = []

    async def serve(servers, relay_settings, worker=None, print_banner=None):
        relays.append(relay_settings)
        served.append(worker.enter_result if worker else None)
        for _server, sock in servers:
            sock.close()

    monkeypatch.setattr(up, "in_process_worker", lambda config, api: contextlib.nullcontext(config))
    monkeypatch.setattr(up, "_serve_all", serve)
    backend_port = free_port()
    assert up.run_all(host="127.0.0.1", port=backend_port, api_port=0) == 0
    config: WorkerConfig = served[0]
    # Without a configured token, hewston up makes one for this process (the backend gets the same one).
    assert config.service_token == configured if configured else config.service_token.startswith("hw_")
    assert config.redis_url is None and config.backend_url == f"http://127.0.0.1:{backend_port}"
    # The relay plays runs with the same token, from the same backend, over the same broker.
    assert (relays[0].service_token, relays[0].backend_url, relays[0].redis_url) == \
        (config.service_token, config.backend_url, None)

    assert up.run_all(host="127.0.0.1", worker=False, port=0, api_port=0) == 0 and served[1] is None
