"""No input makes the api answer 5xx or log a traceback: arbitrary header bytes, paths and bodies on every
route, clients that leave mid-body, and bodies that stall (answered 408 on both services)."""

from __future__ import annotations

import re
import socket
import time

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.main import create_app
from tests.api.conftest import SYMBOL, api_settings
from tests.conftest import ALICE_TOKEN, auth
from tests.support.logs import captured_logs
from tests.support.raw_http import read_response, request_bytes, send, status_of
from tests.support.servers import live_server

HEADER_NAMES = [b"authorization", b"x-forwarded-for", b"x-request-id", b"accept-encoding", b"if-none-match",
                b"content-type", b"cookie", b"origin", b"x-anything"]
# Header bytes a client can put on the wire (CR and LF would end the header instead).
HEADER_VALUE = st.binary(max_size=40).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b""))
PATH_PARTS = st.one_of(st.sampled_from([b"..", b".", b"%2e%2e", b"%2F", b"docs", b"openapi.json", b"\xc3\x84",
                                        b"%00", b"", b"ws", SYMBOL.encode()]),
                       st.binary(min_size=1, max_size=12).map(lambda b: b.replace(b" ", b"%20")))


@pytest.fixture(scope="module")
def api_server(shared_backend):
    app = create_app(api_settings(shared_backend.http_url, None, rate_limit_requests=10**9,
                                  rate_limit_address_requests=10**9))
    with live_server(app) as server:
        yield server, app.openapi()


def route_targets(spec: dict) -> list[bytes]:
    """Every documented path with its parameters filled in with plausible values."""
    targets = []
    for path in spec["paths"]:
        filled = re.sub(r"\{[^}]+\}", lambda m: {"{symbol}": SYMBOL, "{path}": "anything"}.get(m.group(0), "x1"),
                        path)
        targets.append(filled.encode())
    return targets


@st.composite
def hostile_requests(draw, targets: list[bytes]):
    target = draw(st.sampled_from(targets))
    if draw(st.booleans()):
        target += b"/" + b"/".join(draw(st.lists(PATH_PARTS, min_size=1, max_size=3)))
    if draw(st.booleans()):
        target += b"?" + draw(st.sampled_from([b"token=x", b"symbol=" + SYMBOL.encode() + b"&timeframe=1D",
                                                b"limit=\xff", b"a=%zz", b"from=2024-02-30"]))
    headers = draw(st.lists(st.tuples(st.sampled_from(HEADER_NAMES), HEADER_VALUE), max_size=4))
    method = draw(st.sampled_from([b"GET", b"POST", b"PUT", b"PATCH", b"DELETE", b"HEAD", b"OPTIONS"]))
    body = draw(st.one_of(st.just(b""), st.binary(max_size=80), st.just(b'{"symbol": "\xff"}')))
    return method, target, headers, body


def test_no_header_path_or_body_gets_a_5xx_or_a_traceback(api_server):
    server, spec = api_server
    targets = route_targets(spec)
    seen: set[int] = set()

    @settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(hostile_requests(targets))
    def check(request):
        method, target, headers, body = request
        response = send(server.port, request_bytes(method, target, headers, body))
        status = status_of(response)
        assert status is not None and status < 500, (request, response[:300])
        seen.add(status)

    with captured_logs() as lines:
        check()
    log = "".join(lines)
    assert "Traceback" not in log and "unhandled_error" not in log
    assert {200, 401, 404, 405} <= seen


@pytest.mark.parametrize("value", [b"Bearer hw_\xc3\x84", b"Bearer \xff\xfe", b"\xc3\x84", b"bEaReR  hw_\xe2\x80\xae"])
@pytest.mark.parametrize("path", [b"/api/v1/symbols", b"/api/v1/chart-data?symbol=TEST&timeframe=1D",
                                  b"/api/v1/runs/x1/complete", b"/api/v1/backtests/x1/metrics"])
def test_non_ascii_authorization_is_a_401_on_every_kind_of_route(api_server, value, path):
    server, _ = api_server
    with captured_logs() as lines:
        response = send(server.port, request_bytes(b"GET", path, [(b"authorization", value)]))
    assert status_of(response) == 401, response[:300]
    assert b'"code":"unauthorized"' in response
    assert "Traceback" not in "".join(lines)


def test_non_ascii_forwarded_headers_pass_through(api_server):
    server, _ = api_server
    headers = [(b"authorization", b"Bearer " + ALICE_TOKEN.encode()), (b"accept-language", b"d\xc3\xa9"),
               (b"x-anything", b"\xff\x80")]
    response = send(server.port, request_bytes(b"GET", b"/api/v1/symbols", headers))
    assert status_of(response) == 200, response[:300]


def test_a_client_that_leaves_mid_body_is_logged_as_gone_not_as_an_error(api_server):
    server, _ = api_server
    with captured_logs() as lines:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(request_bytes(b"POST", b"/api/v1/backtests",
                                       [(b"authorization", b"Bearer " + ALICE_TOKEN.encode()),
                                        (b"content-type", b"application/json")], b'{"symbol": ',
                                       content_length=1000))
            time.sleep(0.3)
        deadline = time.monotonic() + 5
        while not any('"status": 499' in line or "status=499" in line or "499" in line for line in lines):
            assert time.monotonic() < deadline, "no access log line for the abandoned request"
            time.sleep(0.05)
    log = "".join(lines)
    assert "Traceback" not in log and "unhandled_error" not in log
    metrics = httpx.get(f"{server.http_url}/metrics").text
    assert 'status="500"' not in metrics


def stalled_body(port: int, path: bytes, token: str) -> tuple[bytes, float]:
    """Send headers and part of a body, then nothing; return what the server answered and when."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request_bytes(b"POST", path, [(b"authorization", b"Bearer " + token.encode()),
                                                   (b"content-type", b"application/json")], b'{"sym',
                                   content_length=500))
        response = read_response(sock)  # returns when the server closes the connection
    return response, time.monotonic() - started


def test_a_stalled_body_is_answered_408_and_closed_by_the_api(shared_backend):
    app = create_app(api_settings(shared_backend.http_url, None, body_timeout_s=0.5))
    with live_server(app) as server, captured_logs() as lines:
        response, took = stalled_body(server.port, b"/api/v1/backtests", ALICE_TOKEN)
    assert status_of(response) == 408, response[:300]
    assert b'"code":"request_timeout"' in response and b"connection: close" in response.lower()
    assert 0.4 < took < 5
    assert "Traceback" not in "".join(lines)


def test_a_stalled_body_is_answered_408_and_closed_by_the_backend(backend_app):
    from backend.main import create_app as create_backend

    app = create_backend(backend_app.state.settings.model_copy(update={"body_timeout_s": 0.5}))
    with live_server(app) as server, captured_logs() as lines:
        response, took = stalled_body(server.port, b"/backtests", ALICE_TOKEN)
    assert status_of(response) == 408, response[:300]
    assert b'"code":"request_timeout"' in response
    assert 0.4 < took < 5
    assert "Traceback" not in "".join(lines)


def test_a_slow_but_steady_body_is_not_cut(shared_backend):
    app = create_app(api_settings(shared_backend.http_url, None, body_timeout_s=0.5))
    body = (b'{"symbol": "%s", "strategy": "nope", "timeframe": "hour"}' % SYMBOL.encode())

    def trickle():
        for i in range(0, len(body), 10):
            time.sleep(0.2)
            yield body[i:i + 10]

    with live_server(app) as server:
        response = httpx.post(f"{server.http_url}/api/v1/backtests", content=trickle(),
                              headers={**auth(ALICE_TOKEN), "Content-Type": "application/json"})
    assert response.status_code == 422, response.text
