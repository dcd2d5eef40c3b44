"""DirectRoute serves a route exactly as FastAPI's own APIRoute would: the same OpenAPI operation, the same 422
answers naming the same fields, the same arguments reaching the endpoint. Each cached-view endpoint is mounted
twice, once per route class, and both twins answer the same requests."""

from __future__ import annotations

from typing import Annotated, ClassVar

import pytest
from fastapi import APIRouter, FastAPI, Header, Path, Query
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
from starlette.requests import Request
from starlette.responses import Response
from starlette.testclient import TestClient

from api.main import API_PREFIX, create_app
from api.routers import chart_data, runs_complete
from api.routers.direct_route import DirectRoute
from api.settings import ApiSettings
from common.errors import Conflict, UnhandledErrorMiddleware, install_error_handlers
from common.head_requests import HeadAsGetMiddleware

RUN = "/runs/run_1/complete"
CASES = [
    ("/chart-data", ""),
    ("/chart-data", "symbol=AAPL"),
    ("/chart-data", "symbol=AAPL&timeframe=5M"),
    ("/chart-data", "symbol=%20bad&timeframe=1D"),
    ("/chart-data", "symbol=AAPL&timeframe=1D&target_points=1"),
    ("/chart-data", "symbol=AAPL&timeframe=1D&target_points=abc"),
    ("/chart-data", "symbol=AAPL&timeframe=1D&target_points=100001"),
    ("/chart-data", "symbol=AAPL&timeframe=1D&from_date=yesterday"),
    ("/chart-data", "symbol=AAPL&timeframe=1D&from_date=2024-02-01&to_date=2024-01-01"),
    ("/chart-data", "symbol=AAPL&timeframe=1D&from_date=" + "9" * 41),
    ("/chart-data", "symbol=AAPL&timeframe=1D&target_points=5&target_points=7&unknown=1"),
    ("/chart-data", "symbol=AAPL&symbol=MSFT&timeframe=1M_DECIMATED&from_date=2024-01-01&to_date=1706745600"),
    (RUN, ""),
    (RUN, "target_points=2"),
    (RUN, "target_points=x&include_orders=maybe"),
    (RUN, "include_orders=true&target_points=500"),
    ("/runs/bad%20id/complete", "target_points=2"),
    ("/runs/" + "r" * 65 + "/complete", ""),
]


class _Refuse:
    """Services that answer every call with 409 naming the arguments it got, so that what reached the
    endpoint shows in the answer."""

    def __getattr__(self, _name: str) -> _Refuse:
        return self

    async def symbol(self, *args: object) -> None:
        raise Conflict(f"symbol{args!r}")

    async def run(self, *args: object, **kwargs: object) -> None:
        raise Conflict(f"run{args!r}{kwargs!r}")

    async def run_parts(self, *args: object) -> None:
        raise Conflict(f"run_parts{args!r}")


def _twin(route_class: type[APIRoute]) -> FastAPI:
    app = FastAPI()
    app.state.cached_view_services = _Refuse()
    install_error_handlers(app)
    for module in (chart_data, runs_complete):
        router = APIRouter(route_class=route_class)
        for route in module.router.routes:
            assert isinstance(route, APIRoute)
            router.add_api_route(route.path, route.endpoint, methods=list(route.methods), tags=route.tags,
                                 response_model=route.response_model, responses=route.responses,
                                 summary=route.summary)
        app.include_router(router, prefix=API_PREFIX)
    return app


@pytest.fixture(scope="module")
def twins() -> tuple[TestClient, TestClient]:
    return TestClient(_twin(APIRoute)), TestClient(_twin(DirectRoute))


def test_the_cached_view_routes_are_direct() -> None:
    app = create_app(ApiSettings(backend_url="http://127.0.0.1:9", redis_url="redis://127.0.0.1:9/0"))
    direct = {context.path for context in iter_route_contexts(app.routes)
              if isinstance(getattr(context, "original_route", None), DirectRoute)}
    assert {f"{API_PREFIX}/chart-data", f"{API_PREFIX}/runs/{{run_id}}/complete", f"{API_PREFIX}/symbols/{{symbol}}",
            f"{API_PREFIX}/{{path:path}}"} <= direct


def test_the_openapi_document_is_fastapis(twins: tuple[TestClient, TestClient]) -> None:
    plain, direct = (client.get("/openapi.json").json() for client in twins)
    assert direct == plain
    assert set(direct["paths"]) == {f"{API_PREFIX}/chart-data", f"{API_PREFIX}/runs/{{run_id}}/complete"}


@pytest.mark.parametrize(("path", "query"), CASES)
def test_answers_are_fastapis(twins: tuple[TestClient, TestClient], path: str, query: str) -> None:
    headers = {"Authorization": "Bearer some-token"}
    plain, direct = (client.get(f"{API_PREFIX}{path}?{query}", headers=headers) for client in twins)
    assert (direct.status_code, direct.json()) == (plain.status_code, plain.json())
    assert direct.status_code in (409, 422)
    if direct.status_code == 422:
        details = direct.json()["error"]["details"]
        assert details and all(d["field"] and d["reason"] and d["location"] in ("query", "path") for d in details)
    else:  # the endpoint ran, with the caller's token
        assert "Bearer some-token" in direct.json()["error"]["message"]


def test_bad_fields_are_named() -> None:
    client = TestClient(_twin(DirectRoute))
    answer = client.get(f"{API_PREFIX}/chart-data?symbol=AAPL&timeframe=1D&target_points=1").json()["error"]
    assert [d["field"] for d in answer["details"]] == ["target_points"]
    answer = client.get(f"{API_PREFIX}/runs/bad%20id/complete?target_points=x").json()["error"]
    assert [(d["location"], d["field"]) for d in answer["details"]] == [("path", "run_id"),
                                                                       ("query", "target_points")]


def test_parameters_it_cannot_read_are_refused_when_the_route_is_built() -> None:
    async def with_header(x_thing: Annotated[str, Header()]) -> None:
        return None

    router = APIRouter(route_class=DirectRoute)
    with pytest.raises(TypeError, match="headers"):
        router.add_api_route("/x", with_header)


def _raising_twin(route_class: type[APIRoute]) -> FastAPI:
    """An app like the api's (its error handlers and HEAD layer) whose one route fails as its query asks."""
    async def failing(request: Request) -> Response:
        how = request.query_params.get("fail")
        if how == "conflict":
            raise Conflict("taken")
        if how == "crash":
            raise RuntimeError("boom")
        # What a served request carries: FastAPI's wrapper adds its exit stacks, a direct route has no use for them.
        return Response(f"{'fastapi_function_astack' in request.scope}", headers={"x-route": "ok"})

    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(UnhandledErrorMiddleware)
    app.add_middleware(HeadAsGetMiddleware)
    router = APIRouter(route_class=route_class)
    router.add_api_route("/failing", failing, methods=["GET"])
    app.include_router(router, prefix=API_PREFIX)
    return app


@pytest.mark.parametrize(("method", "query"), [("GET", "fail=conflict"), ("GET", "fail=crash"), ("GET", ""),
                                                ("HEAD", ""), ("HEAD", "fail=conflict"), ("POST", ""),
                                                ("DELETE", "fail=crash")])
def test_what_the_endpoint_raises_is_answered_as_fastapi_answers_it(method: str, query: str) -> None:
    plain, direct = (TestClient(_raising_twin(route_class), raise_server_exceptions=False).request(
        method, f"{API_PREFIX}/failing?{query}") for route_class in (APIRoute, DirectRoute))
    assert direct.status_code == plain.status_code
    assert direct.content == plain.content.replace(b"True", b"False")
    assert {k: v for k, v in direct.headers.items() if k != "content-length"} == {
        k: v for k, v in plain.headers.items() if k != "content-length"}
    expected = {"fail=conflict": 409, "fail=crash": 500, "": 200}[query] if method in ("GET", "HEAD") else 405
    assert direct.status_code == expected
    if method == "GET" and not query:
        assert (plain.text, direct.text) == ("True", "False")  # the direct route was served without the wrapper


class _Counted(BaseModel):
    """A frozen query model that counts its validations."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    validations: ClassVar[list[int]] = []

    n: int = Field(ge=0)

    @field_validator("n")
    @classmethod
    def _count(cls, value: int) -> int:
        cls.validations.append(value)
        return value


def _counting_app() -> TestClient:
    async def endpoint(query: Annotated[_Counted, Query()]) -> Response:
        return Response(str(query.n))

    app = FastAPI()
    install_error_handlers(app)
    router = APIRouter(route_class=DirectRoute)
    router.add_api_route("/n", endpoint)
    app.include_router(router)
    return TestClient(app)


def test_a_query_string_read_before_is_not_validated_again(monkeypatch: pytest.MonkeyPatch) -> None:
    client = _counting_app()
    _Counted.validations.clear()
    answers = [client.get(f"/n?{query}").text for query in ("n=1", "n=1", "n=2", "n=1&x=0", "n=1")]
    assert answers == ["1", "1", "2", "1", "1"]
    assert _Counted.validations == [1, 2, 1]  # once per distinct query string
    # An invalid query is refused every time, and validated every time (nothing invalid is kept).
    assert [client.get("/n?n=-1").status_code for _ in range(2)] == [422, 422]
    assert _Counted.validations == [1, 2, 1]
    # At most QUERY_MEMO_SIZE query strings per route, the oldest forgotten first.
    monkeypatch.setattr("api.routers.direct_route.QUERY_MEMO_SIZE", 3)
    _Counted.validations.clear()
    for query in ("n=3", "n=1", "n=3"):
        client.get(f"/n?{query}")
    assert _Counted.validations == [3, 1]  # n=1, the oldest, made way for n=3, so it was validated again


def test_a_query_model_that_is_not_frozen_is_refused_when_the_route_is_built() -> None:
    class Open(BaseModel):
        model_config = ConfigDict(extra="ignore")
        n: int = 0

    async def endpoint(query: Annotated[Open, Query()]) -> Response:
        return Response()

    router = APIRouter(route_class=DirectRoute)
    with pytest.raises(TypeError, match="frozen"):
        router.add_api_route("/x", endpoint)


_path_validations: list[str] = []


def _counted_path(value: str) -> str:
    _path_validations.append(value)
    return value


def test_a_path_value_read_before_is_not_validated_again() -> None:
    async def endpoint(name: Annotated[str, Path(pattern=r"^[a-z]+$"), AfterValidator(_counted_path)]) -> Response:
        return Response(name)

    app = FastAPI()
    install_error_handlers(app)
    router = APIRouter(route_class=DirectRoute)
    router.add_api_route("/things/{name}", endpoint)
    app.include_router(router)
    client = TestClient(app)
    _path_validations.clear()
    assert [client.get(f"/things/{name}").text for name in ("a", "a", "b", "a")] == ["a", "a", "b", "a"]
    assert [client.get("/things/A1").status_code for _ in range(2)] == [422, 422]
    assert _path_validations == ["a", "b"]  # each valid value once (an invalid one fails before this validator)
