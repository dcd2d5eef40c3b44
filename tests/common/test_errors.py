from fastapi import FastAPI, Query
from fastapi.testclient import TestClient

from common.correlation import CorrelationIdMiddleware
from common.errors import InvalidInput, NotFound, RateLimited, install_error_handlers


def make_app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(CorrelationIdMiddleware)

    @app.get("/items")
    def items(limit: int = Query(ge=1, le=10)) -> dict:
        return {"limit": limit}

    @app.get("/missing")
    def missing() -> dict:
        raise NotFound("no such item")

    @app.get("/invalid")
    def invalid() -> dict:
        raise InvalidInput("from", "must not be after to")

    @app.get("/limited")
    def limited() -> dict:
        raise RateLimited(7)

    @app.get("/boom")
    def boom() -> dict:
        raise RuntimeError("secret internals")

    return app


def test_validation_error_names_the_field_and_reason():
    client = TestClient(make_app())
    r = client.get("/items", params={"limit": "zero"}, headers={"X-Request-ID": "req-1"})
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "invalid_input"
    assert error["correlation_id"] == "req-1"
    assert error["details"][0]["field"] == "limit"
    assert error["details"][0]["location"] == "query"
    assert "integer" in error["details"][0]["reason"]


def test_hewston_errors_render_one_shape():
    client = TestClient(make_app())
    r = client.get("/missing")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"
    assert r.json()["error"]["message"] == "no such item"
    assert r.json()["error"]["correlation_id"] == r.headers["x-request-id"]

    r = client.get("/invalid")
    assert r.status_code == 422
    assert r.json()["error"]["details"] == [{"field": "from", "location": "query", "reason": "must not be after to"}]

    r = client.get("/limited")
    assert r.status_code == 429
    assert r.headers["retry-after"] == "7"


def test_unknown_route_and_unexpected_errors_keep_the_shape():
    client = TestClient(make_app(), raise_server_exceptions=False)
    r = client.get("/nowhere")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"

    r = client.get("/boom", headers={"X-Request-ID": "boom-1"})
    assert r.status_code == 500
    assert r.json()["error"]["code"] == "internal_error"
    assert r.json()["error"]["correlation_id"] == "boom-1" and r.headers["x-request-id"] == "boom-1"
    assert "secret internals" not in r.text
