"""``hewston up``: what it prints before serving, and that every role answers in one process."""

from __future__ import annotations

import asyncio

import httpx

from api.main import create_app as create_api
from api.settings import ApiSettings
from backend.auth import hash_token
from backend.main import create_app as create_backend
from backend.market.demo import DEMO_USERS
from backend.settings import BackendSettings
from hewston import up
from hewston.up import _banner, browser_origins
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


def test_banner_says_where_to_open_the_web_app_or_why_it_is_not_there(tmp_path):
    backend = BackendSettings(data_dir=tmp_path, _env_file=None)
    built = tmp_path / "dist"
    built.mkdir()
    (built / "index.html").write_text("<!doctype html>")
    with_app = _banner("127.0.0.1", backend, ApiSettings(web_app_dir=built, _env_file=None))
    assert "open this:       http://127.0.0.1:8001/" in with_app
    without_app = _banner("127.0.0.1", backend, ApiSettings(web_app_dir=tmp_path / "none", _env_file=None))
    assert "not built" in without_app and "Node 20+ and npm" in without_app


def test_the_web_app_origins_of_a_host():
    assert browser_origins("127.0.0.1", 8001) == ["http://127.0.0.1:8001", "http://localhost:8001"]
    assert browser_origins("hewston.example", 80) == ["http://hewston.example:80"]


def test_up_lets_the_web_app_reach_the_backend_directly(tmp_path, monkeypatch):
    served = []
    monkeypatch.setenv("HEWSTON_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HEWSTON_PORT", "18500")
    monkeypatch.setenv("HEWSTON_API_PORT", "18501")
    monkeypatch.setattr(up, "create_backend", lambda settings: served.append(settings) or "backend")
    monkeypatch.setattr(up, "create_api", lambda settings: served.append(settings) or "api")
    monkeypatch.setattr(up, "_serve_all", lambda *_servers_and_roles: asyncio.sleep(0))
    assert up.run_all(host="127.0.0.1", worker=False) == 0
    backend, api = served
    assert backend.cors_origins == ["http://127.0.0.1:18501", "http://localhost:18501"]
    assert api.public_backend_url == "http://127.0.0.1:18500"
    assert api.backend_url == "http://127.0.0.1:18500"
