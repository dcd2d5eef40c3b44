"""The rate limit on a real api and Redis: one budget per credential however it is spelt, one per client
address whatever token it carries, and X-Forwarded-For believed from trusted proxies only."""

from __future__ import annotations

import time

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.conftest import ALICE_TOKEN, BOB_TOKEN, auth
from tests.support.logs import captured_logs
from tests.support.rate_windows import start_in_fresh_window
from tests.support.redis_keys import sync_client

pytestmark = pytest.mark.redis


def codes(client: httpx.Client, path: str, headers_list: list[dict[str, str]]) -> list[int]:
    return [client.get(path, headers=headers).status_code for headers in headers_list]


def test_per_credential_limit_with_retry_after(shared_backend, make_api):
    api = make_api(shared_backend.http_url, rate_limit_requests=3, rate_limit_address_requests=100,
                   rate_limit_window_s=30)
    start_in_fresh_window(api.app_settings.rate_limit_window_s)
    with httpx.Client(base_url=api.http_url) as client:
        assert codes(client, "/api/v1/health", [auth(ALICE_TOKEN)] * 4) == [200, 200, 200, 429]
        limited = client.get("/api/v1/health", headers=auth(ALICE_TOKEN))
        # Five requests in this window: the next fits once this window has become the previous one and 3/5
        # of it (18 s) has slid out, so after the rest of this window plus 18 s.
        rest_s = 30 - time.time() % 30
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) == pytest.approx(rest_s + 18, abs=1)
        assert limited.json()["error"]["code"] == "rate_limited" and limited.json()["error"]["correlation_id"]
        # Another token, and operations routes, have their own budget.
        assert client.get("/api/v1/health", headers=auth(BOB_TOKEN)).status_code == 200
        assert client.get("/health").status_code == 200
        assert "hewston_api_rate_limited_total" in client.get("/metrics").text


def test_every_spelling_of_one_token_shares_its_budget_and_still_authenticates(shared_backend, make_api):
    api = make_api(shared_backend.http_url, rate_limit_requests=4, rate_limit_address_requests=100)
    spellings = [f"bearer {ALICE_TOKEN}", f"BEARER {ALICE_TOKEN}", f"Bearer  {ALICE_TOKEN}",
                 f"Bearer\t{ALICE_TOKEN}"]
    start_in_fresh_window(api.app_settings.rate_limit_window_s)
    with httpx.Client(base_url=api.http_url) as client:
        assert codes(client, "/api/v1/symbols", [{"Authorization": s} for s in spellings]) == [200] * 4
        assert client.get("/api/v1/symbols", headers=auth(ALICE_TOKEN)).status_code == 429


def test_invented_tokens_count_against_the_address_and_stop_reaching_the_backend(shared_backend, make_api):
    api = make_api(shared_backend.http_url, rate_limit_requests=100, rate_limit_address_requests=5)
    start_in_fresh_window(api.app_settings.rate_limit_window_s)
    with httpx.Client(base_url=api.http_url) as client:
        got = codes(client, "/api/v1/symbols", [auth(f"invented-{i}") for i in range(8)])
        assert got[:5] == [401] * 5 and got[5:] == [429] * 3
        # Bad input counts too: a malformed header, or none at all.
        assert client.get("/api/v1/symbols", headers={"Authorization": "Bearer \u00c4".encode()}).status_code == 429
        assert client.get("/api/v1/symbols").status_code == 429
        metrics = client.get("/metrics").text
    assert 'hewston_api_upstream_duration_seconds_count{method="GET",route="/symbols",status="401"} 5.0' in metrics


def test_x_forwarded_for_from_an_untrusted_peer_is_ignored(shared_backend, make_api):
    api = make_api(shared_backend.http_url, rate_limit_address_requests=3)
    start_in_fresh_window(api.app_settings.rate_limit_window_s)
    with httpx.Client(base_url=api.http_url) as client:
        got = codes(client, "/api/v1/health", [{"X-Forwarded-For": f"203.0.113.{i}"} for i in range(5)])
    assert got == [200, 200, 200, 429, 429]


def test_x_forwarded_for_from_a_trusted_proxy_names_the_client(shared_backend, make_api):
    api = make_api(shared_backend.http_url, rate_limit_address_requests=3, trusted_proxies=["127.0.0.0/8"])
    start_in_fresh_window(api.app_settings.rate_limit_window_s)
    with httpx.Client(base_url=api.http_url) as client:
        rotating = codes(client, "/api/v1/health", [{"X-Forwarded-For": f"203.0.113.{i}"} for i in range(5)])
        assert rotating == [200] * 5
        # A client that claims another hop in front of the proxy is still counted by the proxy's word.
        same = codes(client, "/api/v1/health", [{"X-Forwarded-For": f"10.9.9.{i}, 198.51.100.7"} for i in range(4)])
        assert same == [200, 200, 200, 429]


def test_malformed_credentials_get_no_bucket_of_their_own(shared_backend, make_api, redis_url):
    api = make_api(shared_backend.http_url)
    values = [f"Bearer hw_\u00c4{i}".encode() for i in range(5)] + [b"Basic abc", b"Bearer", b"Bearer a b"]
    start_in_fresh_window(api.app_settings.rate_limit_window_s)
    with httpx.Client(base_url=api.http_url) as client:
        for value in values:
            assert client.get("/api/v1/symbols", headers={"Authorization": value}).status_code == 401
    prefix = api.app_settings.redis_key_prefix
    keys = sync_client(redis_url).keys(f"{prefix}:ratelimit:*")
    assert len(keys) == 1 and b":{a%3A127.0.0.1}:" in keys[0]


def test_a_burst_across_a_window_boundary_is_not_a_second_budget(shared_backend, make_api):
    """A fixed window would take the budget at the end of one window and again at the start of the next; the
    sliding window counts what came just before the boundary."""
    window_s = 2
    api = make_api(shared_backend.http_url, rate_limit_requests=5, rate_limit_address_requests=100,
                   rate_limit_window_s=window_s)
    with httpx.Client(base_url=api.http_url) as client:
        time.sleep((window_s - time.time() % window_s) + window_s - 0.6)  # 0.6 s before a boundary
        assert codes(client, "/api/v1/health", [auth(ALICE_TOKEN)] * 5) == [200] * 5
        time.sleep(window_s - time.time() % window_s + 0.1)  # just past it
        limited = client.get("/api/v1/health", headers=auth(ALICE_TOKEN))
        assert limited.status_code == 429
        # Retry-After is honest: after waiting it, the next request fits.
        time.sleep(int(limited.headers["retry-after"]))
        assert client.get("/api/v1/health", headers=auth(ALICE_TOKEN)).status_code == 200


def test_websocket_handshakes_count_against_the_address(shared_backend, make_api):
    api = make_api(shared_backend.http_url, rate_limit_address_requests=3)
    url = f"{api.ws_url}/api/v1/runs/some-run/stream"
    start_in_fresh_window(api.app_settings.rate_limit_window_s)
    with httpx.Client(base_url=api.http_url) as client:
        assert codes(client, "/api/v1/health", [{}] * 2) == [200, 200]
    with connect(url, open_timeout=5):
        pass  # the third request of the window: the handshake is accepted
    with captured_logs() as lines:
        with pytest.raises(InvalidStatus) as refused:
            connect(url, open_timeout=5)
        time.sleep(0.3)  # the server logs after the app returns, just after the client has its answer
    response = refused.value.response
    assert response.status_code == 429 and int(response.headers["Retry-After"]) >= 1
    assert b'"rate_limited"' in response.body
    # A refusal is an answer, not a server error.
    assert not [line for line in lines if "handshake" in line or "ERROR" in line or "error" in line.lower()]
