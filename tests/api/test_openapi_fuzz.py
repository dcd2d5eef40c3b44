"""Property-based fuzzing of every GET route in the api's OpenAPI: no input may produce a 500."""

from __future__ import annotations

import re
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.main import create_app
from tests.api.conftest import SYMBOL, api_settings
from tests.conftest import ALICE_TOKEN, auth

# Values a schema allows, values it does not, and plain garbage.
GARBAGE = st.one_of(
    st.text(max_size=40), st.integers(-10**20, 10**20).map(str), st.sampled_from(
        ["", "0", "-1", "1e309", "NaN", "true", "null", "2024-02-30", "2024-01-01T25:00", "9999-12-31",
         "0001-01-01T00:00:00+23:59", SYMBOL, "1M_DECIMATED", "1D", "../..", "%00", "\u202e"]))


def value_for(schema: dict) -> st.SearchStrategy[str]:
    options = [GARBAGE]
    if "enum" in schema:
        options.append(st.sampled_from([str(v) for v in schema["enum"]]))
    if schema.get("type") == "integer":
        options.append(st.integers(schema.get("minimum", -10**6) - 5, schema.get("maximum", 10**6) + 5).map(str))
    if schema.get("type") == "boolean":
        options.append(st.sampled_from(["true", "false", "1", "0"]))
    for sub in schema.get("anyOf", []):
        if sub.get("type") != "null":
            options.append(value_for(sub))
    return st.one_of(options)


def get_operations(spec: dict) -> list[tuple[str, list[dict]]]:
    ops = []
    for path, methods in spec["paths"].items():
        if "get" in methods and path not in ("/metrics",):
            ops.append((path, methods["get"].get("parameters", [])))
    return ops


@pytest.fixture(scope="module")
def fuzz_target(shared_backend):
    # Embedded Redis and a generous rate limit: the fuzzer must find 500s, not 429s.
    from tests.support.servers import live_server

    app = create_app(api_settings(shared_backend.http_url, None, rate_limit_requests=10**9))
    with live_server(app) as server:
        yield server, app.openapi()


@st.composite
def requests(draw, operations):
    path, parameters = draw(st.sampled_from(operations))
    url = path
    query = {}
    for param in parameters:
        schema = param.get("schema", {})
        if param["in"] == "path":
            value = draw(value_for(schema).filter(lambda v: v and "/" not in v and v not in (".", "..")))
            url = url.replace("{" + param["name"] + "}", quote(value, safe=""))
        elif param["in"] == "query" and (param.get("required") or draw(st.booleans())):
            query[param["name"]] = draw(value_for(schema))
    return url, query


def test_openapi_lists_models_for_the_api_routes(fuzz_target):
    _, spec = fuzz_target
    chart = spec["paths"]["/api/v1/chart-data"]["get"]
    names = {p["name"] for p in chart["parameters"]}
    assert names == {"symbol", "timeframe", "from_date", "to_date", "target_points"}
    assert re.search("ChartDataResponse", str(chart["responses"]["200"]))
    assert "RunCompleteResponse" in str(spec["paths"]["/api/v1/runs/{run_id}/complete"]["get"]["responses"])
    assert "BacktestRequest" in spec["components"]["schemas"]


def test_no_get_route_answers_500(fuzz_target):
    """Neither the api nor the backend behind its passthrough may answer 500 to any generated request."""
    server, spec = fuzz_target
    operations = get_operations(spec)
    client = httpx.Client(base_url=server.http_url, headers=auth(ALICE_TOKEN), timeout=10)

    @settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(requests(operations))
    def check(request):
        url, query = request
        response = client.get(url, params=query)
        assert response.status_code < 500, (url, query, response.status_code, response.text[:300])
        if response.status_code == 422:
            assert response.json()["error"]["details"]

    try:
        check()
    finally:
        client.close()
