"""Fixtures shared by the whole suite.

Real Redis: tests marked ``redis`` use the server named by ``HEWSTON_TEST_REDIS_URL``. Without one they are
skipped, unless ``HEWSTON_REQUIRE_REDIS=1`` (set by CI), which turns the missing server into a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from backend.auth import hash_token
from backend.main import create_app
from backend.market.demo import DEMO_USERS
from backend.settings import BackendSettings
from common.logging import add_log_tap, remove_log_tap
from tests.support.tokens import token

ALICE_TOKEN = token("hw_test_alice_token_0123456789abcdef")
BOB_TOKEN = token("hw_test_bob_token_0123456789abcdef")
SERVICE_TOKEN = token("hw_test_service_token_0123456789abcdef")
# Tokens that tests send as wrong, revoked or invented credentials; none may be logged either.
for _other in ("hw_wrong", "hw_x", "hw_secret_value", "hw_not_a_token", "hw_rotated_token_for_alice_0123456789",
               *DEMO_USERS.values()):
    token(_other)
RUN_LOG_TEST = "test_no_token_the_suite_used_was_ever_logged"


@pytest.fixture(scope="session", autouse=True)
def run_log(tmp_path_factory) -> Iterator[Path]:
    """Every log line of the whole run, as the services wrote it, kept in one file (pytest's own capture
    swaps stderr per test; the tap sees every line whatever stderr is at the time)."""
    path = tmp_path_factory.mktemp("run-log") / "run.log"
    with path.open("a", encoding="utf-8", buffering=1) as sink:
        add_log_tap(sink.write)
        try:
            yield path
        finally:
            remove_log_tap(sink.write)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The run-log check goes last, so that it reads the logs of every other test."""
    items.sort(key=lambda item: item.name == RUN_LOG_TEST)


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
