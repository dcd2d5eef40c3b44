"""Tell callers who the backend authenticated: ``X-Hewston-User`` on every authenticated response.

The BFF logs this name in its access log; auth decisions stay the backend's, so the BFF never has to decode a
token to know whose request it was.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

USER_HEADER = b"x-hewston-user"


class UserHeaderMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})

        async def send_with_user(message: Message) -> None:
            if message["type"] == "http.response.start":
                principal = state.get("principal")
                if principal is not None:
                    message["headers"] = [*message.get("headers", []),
                                          (USER_HEADER, principal.name.encode("utf-8", "replace"))]
            await send(message)

        await self.app(scope, receive, send_with_user)
