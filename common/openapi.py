"""An OpenAPI document that says what a Hewston service really answers.

FastAPI documents a ``HTTPValidationError`` body for 422 and nothing for the errors that dependencies and
middleware produce. Every Hewston error is ``{"error": {...}}`` (``common.errors``), so each operation's
document is completed here: every 4xx/5xx response carries that shape, a secured operation documents 401,
an operation with parameters or a body documents 422, and each service adds the statuses its own layers
can answer (rate limit, size limits, body timeouts, an unreachable backend).
"""

from __future__ import annotations

from typing import Any

from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field

ERROR_SCHEMA_NAME = "Error"
# How a JSON schema made for an OpenAPI document refers to its models (pydantic's ``ref_template``).
COMPONENT_REF = "#/components/schemas/{model}"
_ERROR_REF = {"$ref": f"#/components/schemas/{ERROR_SCHEMA_NAME}"}
_FASTAPI_VALIDATION = ("HTTPValidationError", "ValidationError")
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

DESCRIPTIONS = {
    400: "Bad request, such as a body that cannot be decoded",
    401: "Missing or invalid bearer token",
    403: "The caller may not do this",
    404: "Not found, or not visible to the caller",
    405: "Method not allowed; `Allow` lists the methods the path accepts",
    408: "The request body stalled past the body timeout; the connection is closed",
    409: "Conflict with the resource's state",
    413: "The request body is too large",
    414: "The query string is too long",
    422: "A parameter or the body is invalid; `error.details` names each field and the reason",
    429: "Rate limited; retry after `Retry-After` seconds",
    502: "The backend answered with something unusable",
    503: "The backend cannot be reached",
    504: "The backend did not answer in time",
}
_HEADERS = {
    405: {"Allow": {"description": "Methods the path accepts", "schema": {"type": "string"}}},
    429: {"Retry-After": {"description": "Seconds until the window ends", "schema": {"type": "integer"}}},
}


class ErrorDetail(BaseModel):
    field: str
    location: str
    reason: str


class ErrorBody(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. `invalid_input`, `rate_limited`")
    message: str
    correlation_id: str | None = Field(description="Quote it when reporting a problem (also `X-Request-ID`)")
    details: list[ErrorDetail] | None = None


class Error(BaseModel):
    """Every error answer of every Hewston service."""

    error: ErrorBody


def error_response(status: int) -> dict[str, Any]:
    doc: dict[str, Any] = {"description": DESCRIPTIONS.get(status, "Error"),
                           "content": {"application/json": {"schema": dict(_ERROR_REF)}}}
    if status in _HEADERS:
        doc["headers"] = _HEADERS[status]
    return doc


def operations(schema: dict[str, Any]):
    """(path, method, operation) for every operation of a document."""
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield path, method, operation


def add_component(components: dict[str, Any], name: str, definition: dict[str, Any]) -> None:
    """``definition`` (a JSON schema made with ``ref_template=COMPONENT_REF``) as the component ``name``, the
    models it refers to beside it."""
    components.update(definition.pop("$defs", {}))
    components[name] = definition


def add_error_component(schema: dict[str, Any]) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    add_component(components, ERROR_SCHEMA_NAME, Error.model_json_schema(ref_template=COMPONENT_REF))


def _is_fastapi_default(response: dict[str, Any]) -> bool:
    """No body documented, or FastAPI's validation body (which Hewston's handlers never send)."""
    content = response.get("content")
    return not content or any(name in str(content) for name in _FASTAPI_VALIDATION)


def complete_errors(schema: dict[str, Any], *, statuses_for: Any = None) -> dict[str, Any]:
    """Give every operation of ``schema`` (in place) the error answers it can really produce.

    ``statuses_for(path, method, operation)`` names a service's own extra statuses for an operation.
    """
    add_error_component(schema)
    for path, method, operation in operations(schema):
        responses = operation.setdefault("responses", {})
        wanted = set()
        if operation.get("security"):
            wanted.add(401)
        if operation.get("parameters") or operation.get("requestBody"):
            wanted.add(422)
        if operation.get("requestBody"):
            wanted.add(400)  # a body that is not even text (FastAPI's "error parsing the body")
        if statuses_for is not None:
            wanted |= set(statuses_for(path, method, operation))
        for status in sorted(wanted):
            responses.setdefault(str(status), {})
        for status, response in responses.items():
            if status.isdigit() and int(status) >= 400 and _is_fastapi_default(response):
                documented = error_response(int(status))
                response["content"] = documented["content"]
                response.setdefault("description", documented["description"])
                if "headers" in documented:
                    response.setdefault("headers", documented["headers"])
    components = schema.get("components", {}).get("schemas", {})
    for name in _FASTAPI_VALIDATION:
        components.pop(name, None)
    return schema


def install_openapi(app: Any, *, statuses_for: Any = None, extend: Any = None) -> None:
    """Serve ``app``'s document completed as above; ``extend(schema)`` may add to it first (built once)."""

    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description,
                                 routes=app.routes)
            if extend is not None:
                extend(schema)
            app.openapi_schema = complete_errors(schema, statuses_for=statuses_for)
        return app.openapi_schema

    app.openapi = build
