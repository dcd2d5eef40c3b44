"""A request for a path the router has already sent to a direct route goes there again without routing.

FastAPI finds a route by trying every earlier one in turn, and an included router is tried twice (once to
see whether it matches, once to pick its route) with its own bookkeeping each time: for a cache hit on a
route near the end of the list, that costs more than the route's own work. Where a request ends up depends
only on its method and path (the routes are fixed once the app is built), so :class:`DirectLane`, just
inside the router, remembers for each method and path the router sent to a :class:`DirectRoute` what the
routing wrote into the request's scope (the route, the endpoint, the path parameters, FastAPI's record of
the route's template), and the next request for the same method and path gets the same scope and the same
route's app at once. Everything else (an unknown path, a 404, a 405, a WebSocket, any other route) goes
through the router as before, and nothing is remembered for it.

The lane remembers at most ``capacity`` paths (ids in paths make them many), forgetting the oldest first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

# Where the lane leaves, in a scope it routes, the call by which a direct route reports that it serves it.
LEARN_KEY = "hewston.direct_lane.learn"
DEFAULT_CAPACITY = 4096


class DirectLane:
    def __init__(self, app: ASGIApp, *, capacity: int = DEFAULT_CAPACITY) -> None:
        self.app = app
        self.capacity = capacity
        # (method, root path, path) -> (what routing wrote into the scope, the route's app)
        self.known: dict[tuple[str, str, str], tuple[dict[str, Any], ASGIApp]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # FastAPI's telemetry records the route while routing: with it on, every request is routed.
        if scope["type"] != "http" or "fastapi.telemetry" in scope:
            await self.app(scope, receive, send)
            return
        key = (scope["method"], scope.get("root_path", ""), scope["path"])
        known = self.known.get(key)
        if known is None:
            scope[LEARN_KEY] = self._learner(key, dict(scope))
            await self.app(scope, receive, send)
            return
        routed, served = known
        scope.update(routed)
        # Fresh containers per request, as routing makes them: a handler may add to them.
        scope["path_params"] = dict(routed["path_params"])
        scope["fastapi"] = dict(routed["fastapi"])
        await served(scope, receive, send)

    def _learner(self, key: tuple[str, str, str], before: dict[str, Any]) -> Callable[[Scope, ASGIApp], None]:
        def learn(scope: Scope, served: ASGIApp) -> None:
            routed = {name: value for name, value in scope.items()
                      if name != LEARN_KEY and (name not in before or before[name] is not value)}
            if "path_params" not in routed or not isinstance(routed.get("fastapi"), dict):
                return  # not routed the way this lane replays: leave it to the router every time
            routed["fastapi"] = dict(routed["fastapi"])
            if len(self.known) >= self.capacity:
                del self.known[next(iter(self.known))]
            self.known[key] = (routed, served)

        return learn


def install_direct_lane(app: Any, *, capacity: int = DEFAULT_CAPACITY) -> None:
    """Put a :class:`DirectLane` just inside ``app``'s router (as a router-level middleware is placed)."""
    app.router.middleware_stack = DirectLane(app.router.middleware_stack, capacity=capacity)
