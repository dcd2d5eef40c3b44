"""``hewston up``: what it prints before serving, and that every role answers in one process."""

from __future__ import annotations

import httpx

from api.main import create_app as create_api
from api.settings import ApiSettings
from backend.auth import hash_token
from backend.main import create_app as create_backend
from backend.market.demo import DEMO_USERS
from backend.settings import BackendSettings
from hewston.up import _banner
from tests.support.servers import free_port, live_server


def test_banner_names_the_urls_and_only_demo_tokens_that_exist(tmp_path):
    backend = BackendSettings(data_dir=tmp_path, _env_file=None)
    api = ApiSettings(_env_file=None)
    without_demo = _banner("127.0.0.1", backend, api)
    assert "http://127.0.0.1:8001/api/v1/" in without_demo and "http://127.0.0.1:8000/" in without_demo
    assert "embedded in-process broker" in without_demo and "hw_demo_alice" not in without_demo

    create_backend(backend).state.catalog.add_user("alice", hash_token(DEMO_USERS["alice"]))
    with_demo = _banner("127.0.0.1", backend, api)
    assert "alice: hw_demo_alice" in with_demo and "bob:" not in with_demo
    assert "chart-data?symbol=BTCUSD" in with_demo


def test_the_api_reaches_the_backend_it_is_given(tmp_path):
    backend_app = create_backend(BackendSettings(data_dir=tmp_path, redis_url=None, _env_file=None))
    backend_app.state.catalog.add_user("alice", hash_token(DEMO_USERS["alice"]))
    with live_server(backend_app) as backend:
        api_app = create_api(ApiSettings(backend_url=backend.http_url, redis_url=None, port=free_port(),
                                         _env_file=None))
        with live_server(api_app) as api:
            ready = httpx.get(f"{api.http_url}/ready").json()
            assert ready["status"] == "ok" and ready["backend"]["state"] == "ok"
            symbols = httpx.get(f"{api.http_url}/api/v1/symbols",
                                headers={"Authorization": f"Bearer {DEMO_USERS['alice']}"})
            assert symbols.status_code == 200 and symbols.headers["x-hewston-user"] == "alice"
