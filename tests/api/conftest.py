"""Fixtures of the api tests: a real backend over loopback with bars and a completed run, and api apps."""

from __future__ import annotations

import ssl
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.main import create_app as create_api
from api.settings import ApiSettings
from backend.auth import hash_token
from backend.main import create_app as create_backend
from backend.market.bars import BarArrays
from backend.settings import BackendSettings
from common.keys import KeySpace
from common.models.bars import AssetClass, Instrument
from tests.backend import market_data
from tests.conftest import ALICE_TOKEN, BOB_TOKEN, SERVICE_TOKEN
from tests.support.redis_keys import delete_key_space
from tests.support.servers import LiveServer, live_server
from tests.support.tls import Certificates

SYMBOL = "TEST"
START = 1_704_067_200  # 2024-01-01 00:00 UTC
MINUTES = 3 * 1440  # three days of 24x7 minutes


def make_minutes(n: int = MINUTES, seed: int = 7) -> BarArrays:
    return market_data.make_minutes(n, start=START, seed=seed)


INSTRUMENT = Instrument(symbol=SYMBOL, name="Test instrument", asset_class=AssetClass.crypto, synthetic=True)


def build_backend(data_dir: Path, **settings):
    app = create_backend(BackendSettings(data_dir=data_dir, service_token=SERVICE_TOKEN, redis_url=None,
                                         _env_file=None, **settings))
    app.state.catalog.add_user("alice", hash_token(ALICE_TOKEN))
    app.state.catalog.add_user("bob", hash_token(BOB_TOKEN))
    app.state.bar_store.write_minutes(INSTRUMENT, make_minutes())
    return app


@pytest.fixture(scope="module")
def shared_backend(tmp_path_factory) -> Iterator[LiveServer]:
    """A real backend on loopback with three days of minute bars of ``SYMBOL``, shared by a module's tests
    that do not change its data."""
    with live_server(build_backend(tmp_path_factory.mktemp("backend") / "data")) as server:
        yield server


def served_over_tls(tmp_path_factory, certificate: tuple[Path, Path]) -> Iterator[LiveServer]:
    """A real backend like ``shared_backend``, served over TLS with (certificate file, key file)."""
    server = LiveServer(build_backend(tmp_path_factory.mktemp("backend") / "data"), tls=certificate).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def tls_backend(tmp_path_factory, tls_certificates: Certificates) -> Iterator[LiveServer]:
    """The backend over TLS (``https://127.0.0.1:…``), its certificate signed by the session's throwaway CA."""
    yield from served_over_tls(tmp_path_factory, (tls_certificates.cert_file, tls_certificates.key_file))


@pytest.fixture
def market_backend(backend_app) -> Iterator[LiveServer]:
    """A backend of this test alone (for tests that change its data)."""
    backend_app.state.bar_store.write_minutes(INSTRUMENT, make_minutes())
    with live_server(backend_app) as server:
        yield server


def api_settings(backend_url: str, redis_url: str | None, **overrides) -> ApiSettings:
    values = dict(backend_url=backend_url, redis_url=redis_url, redis_key_prefix=f"hwtest-{uuid.uuid4().hex[:8]}",
                  upstream_retries=0, _env_file=None)
    values.update(overrides)
    return ApiSettings(**values)


@pytest.fixture
def clean_redis(redis_url) -> Iterator[list[str]]:
    """Key prefixes registered here are deleted from the test's broker after the test."""
    prefixes: list[str] = []
    yield prefixes
    for prefix in prefixes:
        delete_key_space(redis_url, KeySpace(prefix))


@pytest.fixture
def make_api(redis_url, clean_redis):
    """Start api servers against a given backend and the test's broker (a real Redis when there is one, else the
    embedded broker they all share); each gets its own key prefix."""
    servers: list[LiveServer] = []
    broker_url = redis_url

    def start(backend_url: str, *, redis_url: str | None = broker_url, prefix: str | None = None,
              **overrides) -> LiveServer:
        settings = api_settings(backend_url, redis_url, **overrides)
        if prefix is not None:
            settings = settings.model_copy(update={"redis_key_prefix": prefix})
        clean_redis.append(settings.redis_key_prefix)
        server = LiveServer(create_api(settings)).start()
        server.app_settings = settings  # type: ignore[attr-defined]
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def create_run(backend_url: str, token: str = ALICE_TOKEN, strategy: str = "ma_crossover",
               wait: bool = True, verify: ssl.SSLContext | bool = True) -> dict:
    """POST a backtest to the backend and, if asked, wait (bounded) until it has finished (``verify``: how an
    ``https://`` backend's certificate is checked, as httpx takes it)."""
    import time

    import httpx

    headers = {"Authorization": f"Bearer {token}"}
    body = {"symbol": SYMBOL, "strategy": strategy, "timeframe": "minute", "from": START,
            "to": START + 60 * (MINUTES - 1)}
    run = httpx.post(f"{backend_url}/backtests", json=body, headers=headers, verify=verify).json()
    deadline = time.monotonic() + 20
    while wait and run["status"] not in ("completed", "failed"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"run {run['id']} did not finish")
        time.sleep(0.05)
        run = httpx.get(f"{backend_url}/backtests/{run['id']}", headers=headers, verify=verify).json()
    return run


@pytest.fixture(scope="module")
def completed_run(shared_backend) -> dict:
    run = create_run(shared_backend.http_url)
    assert run["status"] == "completed", run
    return run
