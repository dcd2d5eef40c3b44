"""The route template a request matched, for logs and metrics (ids in paths would explode cardinality)."""

from __future__ import annotations

from starlette.types import Scope


def route_template(scope: Scope) -> str:
    """The matched route's template with its router prefix, e.g. ``/api/v1/runs/{run_id}/complete``."""
    # FastAPI records the template of included routers (prefix and all) here; the route object alone only
    # knows the path relative to its router.
    context = (scope.get("fastapi") or {}).get("effective_route_context")
    path = getattr(context, "path_format", None)
    if not isinstance(path, str):
        path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) else "unmatched"


# The status logged for a request whose client left before any answer (nginx's convention): not a server error.
CLIENT_CLOSED_REQUEST = 499


def answered_status(status: int | None, failed: bool) -> int:
    """The status an access log records: the one sent, else 500 for a failure or 499 for a client that left."""
    if status is not None:
        return status
    return 500 if failed else CLIENT_CLOSED_REQUEST
