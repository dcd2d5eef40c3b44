"""``hewston up``: what it prints before serving, and that every role answers in one process."""

from __future__ import annotations

import asyncio

import httpx

from api.main import create_app as create_api
from api.settings import ApiSettings
from backend.auth import hash_token
from backend.demo.data import DEMO_USERS
from backend.main import create_app as create_backend
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


def test_a_port_in_use_is_one_line_naming_the_setting_and_nothing_starts(tmp_path, monkeypatch, capsys):
    import socket

    import pytest

    from hewston.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HEWSTON_DATA_DIR", str(tmp_path / "data"))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for argv, setting in [(["up", "--port", str(port), "--api-port", "0"], "HEWSTON_PORT or --port"),
                              (["up", "--port", "0", "--api-port", str(port)], "HEWSTON_API_PORT or --api-port"),
                              (["api", "--port", str(port)], "HEWSTON_API_PORT or --port"),
                              (["backend", "--port", str(port)], "HEWSTON_PORT or --port")]:
            assert main(argv) == 2
            out, err = capsys.readouterr()
            assert out == "" and err == f"error: port {port} on 127.0.0.1 is already in use; choose another with " \
                                         f"{setting}\n", argv
    with pytest.raises(SystemExit):
        main(["up", "--port", "x"])


async def test_the_banner_comes_once_every_server_listens(tmp_path):
    from bench.processes import accepting
    from common import serving
    from relay.settings import RelaySettings

    backend_app = create_backend(BackendSettings(data_dir=tmp_path, redis_url=None, _env_file=None))
    servers = [(serving.server(backend_app, handle_signals=False), serving.bind("127.0.0.1", 0, setting="port"))
               for _ in range(2)]
    ports = [sock.getsockname()[1] for _server, sock in servers]
    printed: list[bool] = []

    def banner() -> None:
        printed.append(all(server.started for server, _sock in servers) and all(accepting(p) for p in ports))
        for server, _sock in servers:
            server.should_exit = True

    relay = RelaySettings(service_token="hw_unused_token_0123456789", redis_url=None, metrics_port=None,
                          _env_file=None)
    await asyncio.wait_for(up._serve_all(servers, relay, None, banner), 20)
    assert printed == [True]
    assert not any(accepting(p) for p in ports)


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
    from types import SimpleNamespace

    served = []
    backend_port, api_port = free_port(), free_port()
    monkeypatch.setenv("HEWSTON_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HEWSTON_PORT", str(backend_port))
    monkeypatch.setenv("HEWSTON_API_PORT", str(api_port))
    api_app = SimpleNamespace(state=SimpleNamespace(stream_hub=SimpleNamespace(going_away=None)))
    monkeypatch.setattr(up, "create_backend", lambda settings: served.append(settings) or "backend")
    monkeypatch.setattr(up, "create_api", lambda settings: served.append(settings) or api_app)

    async def serve_all(servers, *_roles):
        for _server, sock in servers:
            sock.close()

    monkeypatch.setattr(up, "_serve_all", serve_all)
    assert up.run_all(host="127.0.0.1", worker=False) == 0
    backend, api = served
    assert backend.cors_origins == [f"http://127.0.0.1:{api_port}", f"http://localhost:{api_port}"]
    assert api.public_backend_url == f"http://127.0.0.1:{backend_port}"
    assert api.backend_url == f"http://127.0.0.1:{backend_port}"
