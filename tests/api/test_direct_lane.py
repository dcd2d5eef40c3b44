"""DirectLane: a request for a path the router already sent to a direct route is served by that route again,
with the same scope, without routing; everything else is routed as before."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.testclient import TestClient
from starlette.types import Receive, Scope, Send

from api.main import API_PREFIX
from api.routers.direct_lane import DirectLane, install_direct_lane
from api.routers.direct_route import DirectRoute
from common.routes import route_template
from tests.api.test_direct_route import CASES, _raising_twin, _twin


class _CountedRouting:
    def __init__(self, lane: DirectLane) -> None:
        self.inner, self.calls = lane.app, 0
        lane.app = self

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.calls += 1
        await self.inner(scope, receive, send)


def _laned(app: FastAPI, capacity: int = 4096) -> tuple[TestClient, DirectLane, _CountedRouting]:
    install_direct_lane(app, capacity=capacity)
    lane = app.router.middleware_stack
    assert isinstance(lane, DirectLane)
    return TestClient(app, raise_server_exceptions=False), lane, _CountedRouting(lane)


def test_cached_view_answers_are_the_same_when_served_again_by_the_lane() -> None:
    plain = TestClient(_twin(DirectRoute))
    laned, lane, routing = _laned(_twin(DirectRoute))
    headers = {"Authorization": "Bearer some-token"}
    for path, query in CASES * 2:
        expected = plain.get(f"{API_PREFIX}{path}?{query}", headers=headers)
        answer = laned.get(f"{API_PREFIX}{path}?{query}", headers=headers)
        assert (answer.status_code, answer.json()) == (expected.status_code, expected.json())
    # Each distinct path was routed once; the second round went by the lane (the query is not part of a path).
    assert routing.calls == len({path for path, _ in CASES}) == len(lane.known)


def _echo_app() -> FastAPI:
    app = _raising_twin(DirectRoute)

    async def echo(request: Request) -> Response:
        return JSONResponse({"route": route_template(request.scope), "params": request.path_params,
                             "endpoint": request.scope["endpoint"].__name__})

    router = APIRouter(route_class=DirectRoute)
    router.add_api_route("/items/{item_id}", echo, methods=["GET"])
    app.include_router(router, prefix=API_PREFIX)
    return app


def test_a_known_path_skips_routing_with_the_same_scope() -> None:
    client, lane, routing = _laned(_echo_app())
    first = client.get(f"{API_PREFIX}/items/a1").json()
    again = client.get(f"{API_PREFIX}/items/a1").json()
    other = client.get(f"{API_PREFIX}/items/b2").json()
    assert first == again == {"route": f"{API_PREFIX}/items/{{item_id}}", "params": {"item_id": "a1"},
                              "endpoint": "echo"}
    assert other["params"] == {"item_id": "b2"}
    assert routing.calls == 2  # a1 once, b2 once
    assert client.head(f"{API_PREFIX}/items/a1").status_code == 200 and routing.calls == 2  # HEAD is served as GET


@pytest.mark.parametrize(("method", "path", "status"), [("POST", "/items/a1", 405), ("GET", "/nothing", 404),
                                                         ("DELETE", "/failing", 405)])
def test_what_is_not_a_direct_route_is_routed_every_time(method: str, path: str, status: int) -> None:
    client, lane, routing = _laned(_echo_app())
    client.get(f"{API_PREFIX}/items/a1")
    for _ in range(3):
        assert client.request(method, f"{API_PREFIX}{path}").status_code == status
    assert routing.calls == 4 and list(lane.known) == [("GET", "", f"{API_PREFIX}/items/a1")]


def test_the_oldest_path_is_forgotten_first() -> None:
    client, lane, routing = _laned(_echo_app(), capacity=2)
    for item in ("a", "b", "c", "a"):
        assert client.get(f"{API_PREFIX}/items/{item}").json()["params"] == {"item_id": item}
    assert routing.calls == 4  # "a" was forgotten when "c" came, and "b" when "a" came back
    assert [key[2] for key in lane.known] == [f"{API_PREFIX}/items/c", f"{API_PREFIX}/items/a"]


def test_the_api_serves_its_routes_through_the_lane() -> None:
    from api.main import create_app
    from api.settings import ApiSettings

    app: Any = create_app(ApiSettings(backend_url="http://127.0.0.1:9", redis_url="redis://127.0.0.1:9/0"))
    assert isinstance(app.router.middleware_stack, DirectLane)
