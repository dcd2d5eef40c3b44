"""A FastAPI route whose parameters are read straight from the request, for the routes that serve cache hits.

FastAPI resolves a route's parameters through its general dependency solver on every request: each dependency
gets a cache key and a call, each field of a query model is looked up through several generic checks
(sequence or not, alias or not, header or query). On a cache hit that costs more than the hit's own work.
:class:`DirectRoute` keeps the route exactly as declared (the same signature, so the same OpenAPI document),
and plans once, at start-up, how each parameter is read:

- a query model (``Annotated[Model, Query()]``, frozen): the model's own fields, by alias, from the query
  string, then validated by the very field FastAPI built for it, so errors carry the same locations and
  messages (and the same 422 answer naming the field); a query string validated before gets its model again;
- a path parameter: validated by FastAPI's own field for it, with the same location;
- ``Request``: the request;
- a dependency listed in ``api.deps.DIRECT_DEPENDENCIES``: its plain reader of the request.

Anything else (a body, a header parameter, another dependency, a sequence-valued query field, a model that
keeps extra fields) is refused when the route is built, so a route can never be served with a parameter
silently left out.

Once routed, the request goes straight to the endpoint and its response. FastAPI wraps each route's app for
what a direct route never has (exit stacks for dependencies with ``yield``, which none of its readers are) and
runs the app's exception handlers around it a second time; here an error leaves the route as raised and the
app's exception layer (the same handlers, ``common.errors``) renders it, so every answer is the same.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.dependencies.models import Dependant

# Three of FastAPI's internals (the version is pinned): which model a query parameter is, and the context an
# included route is built in and is served from. A test serves each route both ways and compares documents and answers.
from fastapi.dependencies.utils import _get_param_model
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute, _effective_route_context_var, _get_scope_effective_route_context
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from api.deps import DIRECT_DEPENDENCIES
from api.routers.direct_lane import LEARN_KEY

Reader = Callable[[Request], tuple[Any, list[Any]]]
QUERY_MEMO_SIZE = 1024


def _query_model_reader(field: Any, model: type[BaseModel]) -> Reader:
    if model.model_config.get("extra", "ignore") != "ignore":
        raise TypeError(f"{model.__name__}: only query models that ignore extra fields are read directly")
    if not model.model_config.get("frozen", False):
        raise TypeError(f"{model.__name__}: only frozen query models are read directly (one is shared by requests)")
    aliases = []
    for name, info in model.model_fields.items():
        if getattr(info.annotation, "__origin__", None) in (list, set, tuple, frozenset):
            raise TypeError(f"{model.__name__}.{name}: sequence query fields are not read directly")
        aliases.append(info.alias or name)
    loc = (field.field_info.in_.value,)
    # A query string read before is not parsed and validated again: the same string always makes the same
    # model, and a frozen one can be shared. Only valid queries are kept, at most QUERY_MEMO_SIZE per route
    # (and as many path values per path parameter).
    memo: dict[bytes, Any] = {}

    def read(request: Request) -> tuple[Any, list[Any]]:
        query_string = request.scope["query_string"]
        known = memo.get(query_string)
        if known is not None:
            return known, []
        # As FastAPI does: the last value of a repeated parameter; absent ones are left to the model's defaults.
        params = request.query_params
        values = {alias: params[alias] for alias in aliases if alias in params}
        value, errors = field.validate(values, {}, loc=loc)
        if not errors:
            _remember(memo, query_string, value)
        return value, errors

    return read


def _path_reader(field: Any) -> Reader:
    """A path parameter's validated value; as with queries, one seen before is not validated again."""
    loc = ("path", field.alias)
    memo: dict[str, Any] = {}

    def read(request: Request) -> tuple[Any, list[Any]]:
        raw = request.scope["path_params"][field.alias]
        known = memo.get(raw)
        if known is not None:
            return known, []
        value, errors = field.validate(raw, {}, loc=loc)
        if not errors:
            _remember(memo, raw, value)
        return value, errors

    return read


def _remember(memo: dict[Any, Any], key: Any, value: Any) -> None:
    """Keep ``value`` under ``key``, forgetting the oldest entry beyond QUERY_MEMO_SIZE."""
    if value is None:
        return  # indistinguishable from "not known"
    if len(memo) >= QUERY_MEMO_SIZE:
        del memo[next(iter(memo))]
    memo[key] = value


def plan(dependant: Dependant) -> dict[str, Reader]:
    """How each of the endpoint's parameters is read, by parameter name; TypeError for what cannot be."""
    if dependant.body_params or dependant.header_params or dependant.cookie_params:
        raise TypeError(f"{dependant.call}: bodies, headers and cookies are not read directly")
    # In FastAPI's order (path, then query), so that errors are listed in the same order.
    readers: dict[str, Reader] = {field.name: _path_reader(field) for field in dependant.path_params}
    for field in dependant.query_params:
        model = _get_param_model(field)
        if model is None:
            raise TypeError(f"{dependant.call}: query parameter {field.name} is not a model")
        readers[field.name] = _query_model_reader(field, model)
    for sub in dependant.dependencies:
        direct = DIRECT_DEPENDENCIES.get(sub.call)  # type: ignore[arg-type]
        if direct is None or sub.name is None:
            raise TypeError(f"{dependant.call}: dependency {sub.call} has no direct reader")
        readers[sub.name] = lambda request, direct=direct: (direct(request), [])
    if dependant.request_param_name:
        readers[dependant.request_param_name] = lambda request: (request, [])
    return readers


def _serving(handle: Callable[[Request], Coroutine[Any, Any, Response]]) -> ASGIApp:
    """The route's ASGI app: the handler's response, sent; what it raises is left to the app's handlers."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        response = await handle(Request(scope, receive, send))
        await response(scope, receive, send)

    return app


class DirectRoute(APIRoute):
    """An ``APIRoute`` served without FastAPI's per-request dependency solving (see the module's text)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._served_in: dict[int, ASGIApp] = {}  # APIRoute's own __init__ already builds the handler
        super().__init__(*args, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = self.direct_handler()
        # Built once per router the route is included in (in that router's context), served by :meth:`handle`.
        context = _effective_route_context_var.get()
        if context is not None and context.original_route is self:
            self._served_in[id(context)] = _serving(handle)
        return handle

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        context = _get_scope_effective_route_context(scope)
        served = self._served_in.get(id(context)) if context is not None else None
        # A method the route does not take (405) and a route used outside a router go FastAPI's own way.
        if served is None or context.original_route is not self or (
                context.methods and scope["method"] not in context.methods):
            await super().handle(scope, receive, send)
            return
        learn = scope.get(LEARN_KEY)
        if learn is not None:  # routed by the router behind a DirectLane: the next one need not be
            learn(scope, served)
        await served(scope, receive, send)

    def direct_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The endpoint called with its parameters read directly; subclasses wrap it."""
        # An included route is built in its router's context, as APIRoute.get_route_handler reads it.
        context = _effective_route_context_var.get()
        dependant = context.dependant if context is not None and context.original_route is self else self.dependant
        readers = plan(dependant)
        endpoint = dependant.call
        assert endpoint is not None

        async def handle(request: Request) -> Response:
            kwargs: dict[str, Any] = {}
            errors: list[Any] = []
            for name, read in readers.items():
                value, failed = read(request)
                if failed:
                    errors.extend(failed)
                kwargs[name] = value
            if errors:
                raise RequestValidationError(errors)
            response = await endpoint(**kwargs)
            if not isinstance(response, Response):
                raise TypeError(f"{endpoint.__name__} must answer with a Response to be served directly")
            return response

        return handle
