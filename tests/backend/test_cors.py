"""The backend lets the browser app call it directly (the direct data path) from the origins in its settings."""

from __future__ import annotations

from fastapi.testclient import TestClient

from backend.main import create_app
from backend.settings import BackendSettings
from tests.conftest import ALICE_TOKEN, auth


def test_allowed_origins_may_call_with_a_bearer_token(tmp_path, backend_settings):
    settings = backend_settings.model_copy(update={"cors_origins": ["http://127.0.0.1:8001"]})
    with TestClient(create_app(settings)) as client:
        preflight = client.options("/backtests", headers={
            "Origin": "http://127.0.0.1:8001", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type"})
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "http://127.0.0.1:8001"
        assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
        other = client.get("/health", headers={"Origin": "https://elsewhere.example", **auth(ALICE_TOKEN)})
        assert "access-control-allow-origin" not in other.headers


def test_no_origin_is_allowed_by_default(tmp_path):
    with TestClient(create_app(BackendSettings(data_dir=tmp_path, _env_file=None))) as client:
        answer = client.get("/health", headers={"Origin": "http://127.0.0.1:8001"})
        assert answer.status_code == 200 and "access-control-allow-origin" not in answer.headers
