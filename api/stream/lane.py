"""A viewer's handshake goes from the layers that apply to it straight to the stream's endpoint.

Everything under the api's own middleware (FastAPI's exception layers, its exit stack, the router trying each
route, Starlette's WebSocket session wrappers) does nothing for the stream: it has no dependencies, raises no
exception for a handler and is the only WebSocket route. It is not free either: a coroutine resumes through every
caller that awaits it, so each await of a joining viewer (the accept, the token, the access decision, the join)
walked those two dozen frames again, a tenth of a node's time while thousands of viewers joined at once.

:class:`StreamLane` sits inside the layers a handshake needs (the client address, the correlation id, the rate
limit) and serves a WebSocket for the stream's path itself, with the path parameters the route would have found.
Any other scope goes on through the app as before.
"""

from __future__ import annotations

from starlette.routing import Match, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket


class StreamLane:
    def __init__(self, app: ASGIApp, *, route: WebSocketRoute) -> None:
        self.app = app
        self.route = route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            match, child_scope = self.route.matches(scope)
            if match is Match.FULL:
                scope.update(child_scope)
                await self.route.endpoint(WebSocket(scope, receive, send))
                return
        await self.app(scope, receive, send)
