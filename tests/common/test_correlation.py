from fastapi import FastAPI, WebSocket
from fastapi.testclient import TestClient

from common.correlation import CorrelationIdMiddleware, correlation_headers, current_correlation_id


def make_app() -> FastAPI:
    app = FastAPI()
    app.add_middleware(CorrelationIdMiddleware)

    @app.get("/echo")
    async def echo() -> dict:
        return {"seen": current_correlation_id(), "forwarded": correlation_headers()}

    return app


def test_incoming_request_id_is_used_and_returned():
    r = TestClient(make_app()).get("/echo", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    assert r.json() == {"seen": "abc-123", "forwarded": {"X-Request-ID": "abc-123"}}


def test_missing_or_unsafe_request_id_is_replaced_by_a_generated_one():
    client = TestClient(make_app())
    generated = client.get("/echo").headers["x-request-id"]
    assert len(generated) == 32
    unsafe = client.get("/echo", headers={"X-Request-ID": "bad id\twith spaces"})
    assert unsafe.headers["x-request-id"] != "bad id\twith spaces"
    assert unsafe.json()["seen"] == unsafe.headers["x-request-id"]


def test_ids_do_not_leak_between_requests():
    client = TestClient(make_app())
    first = client.get("/echo", headers={"X-Request-ID": "first"}).json()["seen"]
    second = client.get("/echo").json()["seen"]
    assert first == "first" and second != "first"
    assert current_correlation_id() is None


def test_websocket_handshake_carries_the_id():
    app = make_app()

    @app.websocket("/ws")
    async def ws(websocket: WebSocket):
        await websocket.accept()
        await websocket.send_json({"seen": current_correlation_id()})
        await websocket.close()

    with TestClient(app).websocket_connect("/ws", headers={"X-Request-ID": "ws-1"}) as conn:
        assert conn.receive_json() == {"seen": "ws-1"}
