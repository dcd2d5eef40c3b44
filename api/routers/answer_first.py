"""The route class of the cached views (chart data, complete runs): a :class:`DirectRoute` that answers first.

A miss stores its entry in Redis after the answer (``api.views.pending_stores``). The store waits until the
endpoint has returned its response: the request's task then writes the response before it next yields, and the
store runs while the rest of the body drains, instead of holding up its start. A failing endpoint releases its
stores at once.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from api.routers.direct_route import DirectRoute
from api.views import answering


class AnswerFirstRoute(DirectRoute):
    def direct_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().direct_handler()

        async def answer_first(request: Request) -> Response:
            answered = answering()
            try:
                return await handle(request)
            finally:
                answered.set()

        return answer_first
