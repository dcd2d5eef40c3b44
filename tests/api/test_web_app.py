"""The browser app at ``/`` and its configuration at ``/api/v1/config``: files, page paths, and the api's own
paths that the app's fallback must never answer."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import ApiSettings


def _settings(web_app_dir, **overrides) -> ApiSettings:
    values = dict(redis_url=None, web_app_dir=web_app_dir, _env_file=None)
    values.update(overrides)
    return ApiSettings(**values)


@pytest.fixture
def built(tmp_path):
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><div id=root></div>")
    (root / "assets" / "index-abc123.js").write_text("console.log('app')")
    (root / "icon.svg").write_text("<svg/>")
    (tmp_path / "secret.txt").write_text("not for browsers")
    return root


@pytest.fixture
def client(built):
    with TestClient(create_app(_settings(built))) as client:
        yield client


def test_pages_get_the_app_and_its_files_are_served(client):
    for path in ("/", "/runs/abc", "/runs/abc/playback?history=2000"):
        page = client.get(path)
        assert page.status_code == 200 and "id=root" in page.text, path
        assert page.headers["content-type"].startswith("text/html")
        assert page.headers["cache-control"] == "no-cache"
    asset = client.get("/assets/index-abc123.js")
    assert asset.status_code == 200 and asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert client.get("/icon.svg").text == "<svg/>"
    assert client.head("/runs/x").status_code == 200
    assert client.get("/assets/missing.js").status_code == 404


def test_the_api_keeps_its_own_paths(client):
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/openapi.json").json()["info"]["title"] == "Hewston api"
    assert "swagger" in client.get("/docs").text.lower()
    assert client.get("/metrics").headers["content-type"].startswith("text/plain")
    for path in ("/api/v2/runs", "/api", "/metricsx", "/docs/extra", "/ready/now"):
        answer = client.get(path)
        assert answer.status_code == 404, path
        assert answer.json()["error"]["code"] == "not_found", path


def test_no_file_outside_the_app_is_served(client):
    for path in ("/..%2Fsecret.txt", "/%2E%2E/secret.txt", "/assets/..%2F..%2Fsecret.txt"):
        answer = client.get(path)
        assert "not for browsers" not in answer.text, path


def test_an_unbuilt_app_serves_nothing_at_the_root(tmp_path):
    with TestClient(create_app(_settings(tmp_path / "missing"))) as client:
        assert client.get("/").status_code == 404
        assert client.get("/api/v1/config").status_code == 200


def test_the_fallback_is_not_in_the_openapi_document(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert "/{path}" not in paths and "/api/v1/config" in paths


def test_config_serves_the_data_path_defaults_and_the_backend_for_browsers(tmp_path):
    defaults = _settings(tmp_path, backend_url="http://10.0.0.5:8000/")
    with TestClient(create_app(defaults)) as client:
        assert client.get("/api/v1/config").json() == {
            "data_paths": {"charts": "bff", "runs": "bff", "playback": "bff"},
            "backend_url": "http://10.0.0.5:8000"}
    rolled_back = _settings(tmp_path, default_charts_path="direct", default_playback_path="direct",
                            public_backend_url="https://backend.example")
    with TestClient(create_app(rolled_back)) as client:
        assert client.get("/api/v1/config").json() == {
            "data_paths": {"charts": "direct", "runs": "bff", "playback": "direct"},
            "backend_url": "https://backend.example"}


def test_a_backend_path_behind_the_proxy_is_on_the_origin_the_browser_called(tmp_path):
    behind_proxy = _settings(tmp_path, backend_url="http://backend:8000", public_backend_url="/direct")
    with TestClient(create_app(behind_proxy), base_url="http://hewston.example:8443") as client:
        assert client.get("/api/v1/config").json()["backend_url"] == "http://hewston.example:8443/direct"


def test_a_data_path_must_be_one_the_app_knows():
    with pytest.raises(ValueError, match="default_runs_path"):
        ApiSettings(default_runs_path="sideways", _env_file=None)
