"""HEAD is answered as GET without the body (RFC 9110, section 9.3.2) on every route that answers GET.

FastAPI routes accept only the methods they were declared with, so without this an uptime check or
``curl -I`` would get 405 from routes that serve GET. The app is handed a GET; the status and headers it
answers with (``Content-Length`` included) go out as they are, and the body is dropped here, whatever the
server does with bodies of HEAD responses. Layers outside this one (access log, rate limit) still see HEAD.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGetMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_without_body)


def with_head(methods: set[str]) -> set[str]:
    """The methods a path allows, HEAD included wherever GET is."""
    return methods | {"HEAD"} if "GET" in methods else methods
