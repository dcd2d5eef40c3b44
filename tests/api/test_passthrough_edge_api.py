"""The passthrough's edge: paths forwarded exactly or refused, the backend's docs and address never exposed,
405 with the path's real ``Allow``, and an OpenAPI document taken from the backend's own."""

from __future__ import annotations

import httpx
import orjson
import pytest

from api import backend_schema
from api.main import create_app
from api.routers.passthrough import api_location
from tests.api.conftest import SYMBOL, api_settings
from tests.conftest import ALICE_TOKEN, auth
from tests.support.raw_http import request_bytes, send, status_of
from tests.support.servers import live_server

ALICE = auth(ALICE_TOKEN)


@pytest.fixture(scope="module")
def api(shared_backend):
    app = create_app(api_settings(shared_backend.http_url, None))
    with live_server(app) as server:
        yield server, app


def raw_get(port: int, target: bytes) -> tuple[int | None, bytes]:
    response = send(port, request_bytes(b"GET", target, [(b"authorization", b"Bearer " + ALICE_TOKEN.encode())]))
    return status_of(response), response


@pytest.mark.parametrize("target", [b"/api/v1/../docs", b"/api/v1/x/../../openapi.json", b"/api/v1/%2e%2e/docs",
                                   b"/api/v1/symbols/%2E%2E/backtests", b"/api/v1/./symbols",
                                   b"/api/v1/..%2fdocs"])
def test_dot_segments_are_refused_never_resolved(api, target):
    server, _ = api
    status, response = raw_get(server.port, target)
    assert status == 422 and b'"field":"path"' in response, response[:300]


@pytest.mark.parametrize("path", ["/api/v1/docs", "/api/v1/openapi.json", "/api/v1/redoc",
                                  "/api/v1/docs/oauth2-redirect", "/api/v1//docs", "/api/v1/docs/"])
def test_the_backends_docs_are_not_reachable(api, path):
    server, _ = api
    response = httpx.get(server.http_url + path, headers=ALICE)
    assert response.status_code == 404 and "openapi" not in response.text.lower()


def test_paths_and_queries_are_forwarded_byte_for_byte(api, shared_backend):
    server, _ = api
    # An encoded character in a path parameter reaches the backend encoded, as sent.
    via, direct = (raw_get(server.port, b"/api/v1/symbols/TE%53T")[0],
                   httpx.get(f"{shared_backend.http_url}/symbols/TE%53T", headers=ALICE).status_code)
    assert via == direct == 200
    status, response = raw_get(server.port, b"/api/v1/bars/daily?symbol=" + SYMBOL.encode() + b"&from=2024-01-02")
    assert status == 200 and b'"time":[1704153600' in response


def test_a_backend_redirect_is_rewritten_into_the_api(api, shared_backend):
    server, _ = api
    response = httpx.get(f"{server.http_url}/api/v1/symbols/", headers=ALICE)
    assert response.status_code == 307
    assert response.headers["location"] == "/api/v1/symbols"
    assert shared_backend.http_url not in response.text and str(shared_backend.port) not in response.headers[
        "location"]
    assert httpx.get(f"{server.http_url}/api/v1/symbols/", headers=ALICE, follow_redirects=True).status_code == 200


def test_redirects_outside_the_backend_are_refused():
    backend = httpx.URL("http://backend.internal:8000/base")
    request = httpx.URL("http://backend.internal:8000/base/symbols/")
    assert api_location(b"http://backend.internal:8000/base/symbols", request, backend) == b"/api/v1/symbols"
    assert api_location(b"/base/symbols?x=1", request, backend) == b"/api/v1/symbols?x=1"
    assert api_location(b"../symbols", request, backend) == b"/api/v1/symbols"
    assert api_location(b"http://evil.example/base/x", request, backend) is None
    assert api_location(b"https://backend.internal:8000/base/x", request, backend) is None
    assert api_location(b"/other/x", request, backend) is None
    assert api_location(b"http://[::1", request, backend) is None


@pytest.mark.parametrize("method, path, allow", [
    ("DELETE", "/api/v1/chart-data", "GET, HEAD"),
    ("PUT", "/api/v1/backtests", "GET, HEAD, POST"),
    ("PATCH", "/api/v1/backtests/x1/shares/bob", "DELETE"),
    ("POST", "/api/v1/runs/x1/complete", "GET, HEAD"),
    ("OPTIONS", "/api/v1/symbols", "GET, HEAD"),
    ("POST", "/health", "GET, HEAD"),
])
def test_undeclared_methods_get_405_with_the_paths_allow(api, method, path, allow):
    server, _ = api
    response = httpx.request(method, server.http_url + path, headers=ALICE)
    assert response.status_code == 405, response.text
    assert response.headers["allow"] == allow
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_the_backend_answers_405_with_every_method_of_the_path(backend_client):
    response = backend_client.put("/backtests", headers=ALICE)
    assert response.status_code == 405 and response.headers["allow"] == "GET, HEAD, POST"


@pytest.mark.parametrize("path", ["/health", "/api/v1/symbols", "/api/v1/chart-data?symbol=TEST&timeframe=1D",
                                  "/api/v1/backtests"])
def test_head_is_get_without_the_body_on_every_get_route(api, path):
    server, _ = api
    with httpx.Client(base_url=server.http_url, headers=ALICE) as client:
        got, head = client.get(path), client.head(path)
    assert got.status_code == head.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]
    if "content-length" in got.headers:
        assert head.headers["content-length"] == got.headers["content-length"]


def test_the_backend_answers_head_on_get_routes(backend_client):
    got, head = backend_client.get("/symbols", headers=ALICE), backend_client.head("/symbols", headers=ALICE)
    assert got.status_code == head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(got.content))


def test_the_api_document_takes_passthrough_routes_from_the_backends(api):
    _, app = api
    spec = app.openapi()
    paths = spec["paths"]
    health = paths["/api/v1/health"]["get"]
    assert "security" not in health and "401" not in health["responses"]
    bars = paths["/api/v1/bars/minute"]["get"]
    assert {p["name"] for p in bars["parameters"]} == {"symbol", "from", "to", "bucket_minutes"}
    assert {"200", "401", "404", "422", "429", "502", "503", "504"} <= set(bars["responses"])
    create = paths["/api/v1/backtests"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/BacktestRequest"}
    assert {"202", "400", "401", "408", "413", "422", "429"} <= set(create["responses"])
    anything = paths["/api/v1/{path}"]
    assert set(anything) == {"get", "post", "put", "patch", "delete"}
    assert anything["get"]["parameters"][0]["name"] == "path"
    assert "security" not in paths["/health"]["get"] and "429" not in paths["/health"]["get"]["responses"]
    assert spec["paths"]["/api/v1/chart-data"]["get"]["responses"]["429"]["headers"]["Retry-After"]
    assert "HTTPValidationError" not in orjson.dumps(spec).decode()


def test_the_copy_of_the_backend_document_is_current(backend_app):
    """Regenerate with ``hewston backend-openapi > api/backend_openapi.json`` when the backend changes."""
    assert backend_schema.load() == orjson.loads(backend_schema.render(backend_app.openapi()))


def test_shared_components_agree_between_the_documents(api, backend_app):
    _, app = api
    api_components = app.openapi()["components"]["schemas"]
    for name, definition in backend_app.openapi()["components"]["schemas"].items():
        assert api_components[name] == definition, name
