"""The backend's OpenAPI document, from which the api documents its passthrough routes.

The api never imports the backend, so it keeps a copy of the backend's document next to this module
(``backend_openapi.json``, written by ``hewston backend-openapi``; a test fails when it is out of date). Every
operation in it becomes an api route under ``/api/v1`` with the backend's own parameters, bodies and
statuses, plus the statuses the api's own layers add. The backend's interactive docs and its document are
never reachable through the api: they describe the backend's URL space, not the api's.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import orjson

from common.openapi import operations

DOCUMENT_PATH = Path(__file__).with_name("backend_openapi.json")
# Backend paths (first segment) that the api refuses to pass through.
HIDDEN_SEGMENTS = frozenset({"docs", "redoc", "openapi.json", "metrics"})


def render(schema: dict[str, Any]) -> bytes:
    """The stored form of a document: stable key order, so a diff shows what changed."""
    return orjson.dumps(schema, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def load() -> dict[str, Any]:
    return orjson.loads(DOCUMENT_PATH.read_bytes())


def routes(schema: dict[str, Any]) -> dict[str, list[str]]:
    """Backend path template -> its methods, upper-case, in document order."""
    found: dict[str, list[str]] = {}
    for path, method, _operation in operations(schema):
        found.setdefault(path, []).append(method.upper())
    return found


def merge(api_schema: dict[str, Any], backend_schema: dict[str, Any], prefix: str) -> None:
    """Add every backend operation to ``api_schema`` under ``prefix`` (in place), with its components.

    Components that both documents define come from the same shared models (``common.models``), so the
    api's own definition is kept; a test checks that they agree.
    """
    paths = api_schema.setdefault("paths", {})
    for path, method, operation in operations(backend_schema):
        documented = copy.deepcopy(operation)
        documented["operationId"] = "passthrough_" + str(operation.get("operationId", f"{method}_{path}"))
        documented["tags"] = ["passthrough"]
        paths.setdefault(prefix + path, {})[method] = documented
    components = api_schema.setdefault("components", {})
    for section, definitions in backend_schema.get("components", {}).items():
        target = components.setdefault(section, {})
        for name, definition in definitions.items():
            target.setdefault(name, copy.deepcopy(definition))
