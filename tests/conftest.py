"""Fixtures shared by the whole suite.

Redis for the integration tests: the server named by ``HEWSTON_TEST_REDIS_URL``; without one, a throwaway
``redis-server`` started for the session when one is installed; without that, the embedded broker (fakeredis,
as ``hewston up`` uses it), so a plain ``make test`` runs every integration test body on any machine.
``HEWSTON_REQUIRE_REDIS=1`` (set by CI) insists on the named server: without it the tests fail instead.

- ``redis_url``: the broker of an integration test (a URL, or None for the embedded broker);
- ``real_redis_url``: a real server, for the few tests that need one (another process must reach it); skipped
  when there is none.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from backend.auth import hash_token
from backend.demo.data import DEMO_USERS
from backend.main import create_app
from backend.settings import BackendSettings
from bench.processes import RedisServer
from common.logging import add_log_tap, remove_log_tap
from tests.support.tls import Certificates, make_certificates
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


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Every skip counted by its reason, just above the final line: a skipped body is never silent."""
    reasons = Counter(skip_reason(report) for report in terminalreporter.stats.get("skipped", ()))
    if reasons:
        counted = "; ".join(f"{count} × {reason}" for reason, count in reasons.most_common())
        terminalreporter.write_line(f"skipped by reason: {counted}", yellow=True, bold=True)


def skip_reason(report: pytest.TestReport) -> str:
    """The reason a test was skipped, as ``pytest.skip`` or a ``skipif`` marker gave it."""
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    return reason.removeprefix("Skipped: ")


@pytest.fixture
def backend_settings(tmp_path) -> BackendSettings:
    # Test runs are short: their curves never reach the decimation processes, so none are started.
    return BackendSettings(data_dir=tmp_path / "data", service_token=SERVICE_TOKEN, redis_url=None,
                           decimation_workers=0, _env_file=None)


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


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory) -> Iterator[str | None]:
    """The session's real Redis: the named one, or a throwaway one when redis-server is installed, or None."""
    url = os.environ.get("HEWSTON_TEST_REDIS_URL")
    if url or os.environ.get("HEWSTON_REQUIRE_REDIS") == "1" or not RedisServer.installed():
        yield url or None
        return
    with RedisServer(tmp_path_factory.mktemp("redis")) as server:
        yield server.url


@pytest.fixture
def real_redis_url(redis_server) -> str:
    if not redis_server:
        if os.environ.get("HEWSTON_REQUIRE_REDIS") == "1":
            pytest.fail("HEWSTON_REQUIRE_REDIS=1 but HEWSTON_TEST_REDIS_URL is not set")
        pytest.skip("no real Redis: set HEWSTON_TEST_REDIS_URL or install redis-server to run this test")
    return redis_server


@pytest.fixture
def redis_url(redis_server) -> str | None:
    """The broker of an integration test: the real server when there is one, else the embedded broker (None)."""
    if not redis_server and os.environ.get("HEWSTON_REQUIRE_REDIS") == "1":
        pytest.fail("HEWSTON_REQUIRE_REDIS=1 but HEWSTON_TEST_REDIS_URL is not set")
    return redis_server


@pytest.fixture(scope="session")
def tls_certificates(tmp_path_factory) -> Certificates:
    """A throwaway certificate authority and the certificates it signs, made once per session with ``openssl``."""
    return make_certificates(tmp_path_factory.mktemp("tls"))
