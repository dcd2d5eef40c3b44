"""Fixtures shared by the whole suite.

Real Redis: tests marked ``redis`` use the server named by ``HEWSTON_TEST_REDIS_URL``. Without one they are
skipped, unless ``HEWSTON_REQUIRE_REDIS=1`` (set by CI), which turns the missing server into a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from backend.auth import hash_token
from backend.main import create_app
from backend.settings import BackendSettings

ALICE_TOKEN = "hw_test_alice_token_0123456789abcdef"
BOB_TOKEN = "hw_test_bob_token_0123456789abcdef"
SERVICE_TOKEN = "hw_test_service_token_0123456789abcdef"


@pytest.fixture
def backend_settings(tmp_path) -> BackendSettings:
    return BackendSettings(data_dir=tmp_path / "data", service_token=SERVICE_TOKEN, redis_url=None,
                           _env_file=None)


@pytest.fixture
def backend_app(backend_settings):
    app = create_app(backend_settings)
    app.state.catalog.add_user("alice", hash_token(ALICE_TOKEN))
    app.state.catalog.add_user("bob", hash_token(BOB_TOKEN))
    return app


@pytest.fixture
def backend_client(backend_app) -> Iterator[TestClient]:
    with TestClient(backend_app) as client:
        yield client


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def real_redis_url() -> str:
    url = os.environ.get("HEWSTON_TEST_REDIS_URL")
    if not url:
        if os.environ.get("HEWSTON_REQUIRE_REDIS") == "1":
            pytest.fail("HEWSTON_REQUIRE_REDIS=1 but HEWSTON_TEST_REDIS_URL is not set")
        pytest.skip("no real Redis: set HEWSTON_TEST_REDIS_URL to run this test")
    return url
