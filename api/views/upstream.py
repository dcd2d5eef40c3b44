"""The api's only way to reach the backend: pooled keep-alive connections, one pool per app.

Every call forwards the caller's ``Authorization`` unchanged and the correlation id. Only idempotent calls
are retried, only when the connection could not be made (the request never reached the backend), with a
bounded number of attempts. Failures become errors a browser can act on: unreachable → 503, too slow → 504,
nonsense → 502, and the backend's own 4xx errors keep their status, code and message.

The api's own calls (access checks, chart and run parts) go through an ``httpx.AsyncClient``. The passthrough
(:meth:`Upstream.forward`) has its own pool of raw HTTP/1.1 connections (``api.views.backend_pool``): its
request is already bytes (a checked target, headers as they arrived) and its answer goes back as bytes, so a
general client's request and response models and its pure-Python parser would be most of a passthrough's cost.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterable, Awaitable, Callable
from typing import Any, TypeVar

import httpx
import orjson

from api import request_info
from api.metrics import DependencyMetrics
from api.settings import ApiSettings
from api.views.backend_pool import BackendBroken, BackendPool, BackendResponse, BackendTimeout, BackendUnreachable
from common.correlation import correlation_headers
from common.errors import HewstonError, ServiceUnavailable, UpstreamError
from common.logging import get_logger

log = get_logger("hewston.api.upstream")

R = TypeVar("R")
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
USER_HEADER = "x-hewston-user"
_USER_HEADER_BYTES = USER_HEADER.encode("ascii")


class UpstreamTimeout(HewstonError):
    status_code = 504
    code = "upstream_timeout"


class BackendFailure(UpstreamError):
    """The backend failed to answer (a 5xx, or the connection broke mid-call): unlike an answer in the wrong
    shape, this may pass, so the prewarm worker tries again later."""


class BackendRefused(HewstonError):
    """The backend answered a call the api needed with a client error; keep its status, code and message."""

    def __init__(self, status_code: int, code: str, message: str, details: list[dict[str, Any]] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message, details=details, headers=headers)
        self.status_code = status_code
        self.code = code


def refusal(response: httpx.Response) -> HewstonError:
    """Turn a non-2xx backend answer into the error the caller should see."""
    if response.status_code >= 500:
        return BackendFailure(f"the backend failed with status {response.status_code}")
    code, message, details = "http_error", f"backend answered {response.status_code}", None
    try:
        body = orjson.loads(response.content)
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            code = str(error.get("code") or code)
            message = str(error.get("message") or message)
            details = error.get("details") if isinstance(error.get("details"), list) else None
    except orjson.JSONDecodeError:
        pass
    headers = {"WWW-Authenticate": response.headers["www-authenticate"]} \
        if "www-authenticate" in response.headers else None
    return BackendRefused(response.status_code, code, message, details, headers)


class Upstream:
    def __init__(self, settings: ApiSettings, metrics: DependencyMetrics) -> None:
        self.settings = settings
        self.metrics = metrics
        self.client = httpx.AsyncClient(
            base_url=settings.backend_url.rstrip("/"),
            timeout=httpx.Timeout(settings.upstream_timeout_s, connect=settings.upstream_connect_timeout_s),
            limits=httpx.Limits(max_connections=settings.upstream_max_connections,
                                max_keepalive_connections=settings.upstream_max_connections,
                                keepalive_expiry=settings.upstream_keepalive_s),
            follow_redirects=False,
        )
        base = self.client.base_url
        self._host_header = (b"host", base.netloc)
        self.pool = BackendPool(base.scheme, base.host, base.port or (443 if base.scheme == "https" else 80),
                                max_connections=settings.upstream_max_connections,
                                keepalive_s=settings.upstream_keepalive_s,
                                connect_timeout_s=settings.upstream_connect_timeout_s,
                                timeout_s=settings.upstream_timeout_s)

    async def aclose(self) -> None:
        await self.client.aclose()
        await self.pool.aclose()

    @staticmethod
    def call_headers(authorization: str | None, extra: dict[str, str] | None = None) -> dict[str, str | bytes]:
        headers: dict[str, str | bytes] = dict(correlation_headers())
        if authorization:
            # The bytes as they arrived (Starlette decodes headers as latin-1): any value reaches the backend,
            # which refuses what is not a token, instead of failing to encode here.
            headers["Authorization"] = authorization.encode("latin-1")
        if extra:
            headers.update(extra)
        return headers

    async def send(self, request: httpx.Request, *, route: str, stream: bool = False) -> httpx.Response:
        """Send with bounded retries for idempotent requests whose connection failed; map transport errors."""
        retryable = request.method in IDEMPOTENT and not request.headers.get("content-length", "0").strip("0")
        response, seconds = await self._attempts(request.method, route, retryable,
                                                 lambda: self.client.send(request, stream=stream))
        self._answered(request.method, route, response.status_code, seconds, response.headers.get(USER_HEADER))
        return response

    async def forward(self, method: str, target: bytes, headers: list[tuple[bytes, bytes]],
                      content: AsyncIterable[bytes] | None, content_length: bytes | None = None, *,
                      route: str) -> BackendResponse:
        """A passthrough call: ``target`` (path and query, checked by the caller) and ``headers`` (without ``host``
        and the body's framing) sent as they are, with the backend's ``Host``; ``content`` streamed with
        ``content_length`` when the caller knows it, else chunked. The answer's body is the caller's to read
        (``aiter_stream``) and close. Retried like :meth:`send` when it has no body."""
        retryable = method in IDEMPOTENT and content is None
        response, seconds = await self._attempts(method, route, retryable, lambda: self.pool.request(
            method.encode("ascii"), target, [self._host_header, *headers], content, content_length,
            retry_if_dropped=retryable))
        user = next((value for name, value in response.headers if name == _USER_HEADER_BYTES), None)
        self._answered(method, route, response.status, seconds, user.decode("latin-1") if user is not None else None)
        return response

    @staticmethod
    async def read_body(response: BackendResponse) -> bytes:
        """A forwarded answer's whole body (a small one), then closed; failing to read it is the backend's."""
        try:
            return await response.aread()
        except BackendTimeout as exc:
            raise UpstreamTimeout("the backend did not answer in time") from exc
        except BackendBroken as exc:
            raise BackendFailure("the backend connection failed") from exc
        finally:
            await response.aclose()

    async def _attempts(self, method: str, route: str, retryable: bool,
                        call: Callable[[], Awaitable[R]]) -> tuple[R, float]:
        """The call's answer and how long it took; transport failures mapped, connection failures retried."""
        attempts = 1 + (self.settings.upstream_retries if retryable else 0)
        for attempt in range(attempts):
            started = time.perf_counter()
            try:
                response = await call()
            except (httpx.ConnectError, httpx.ConnectTimeout, BackendUnreachable) as exc:
                self.metrics.observe_upstream(method, route, "unreachable", time.perf_counter() - started)
                if attempt + 1 < attempts:
                    await asyncio.sleep(self.settings.upstream_retry_backoff_s * (2 ** attempt))
                    continue
                log.warning("backend_unreachable", route=route, error=type(exc).__name__)
                raise ServiceUnavailable("the backend cannot be reached; try again shortly") from exc
            except (httpx.TimeoutException, BackendTimeout) as exc:
                self.metrics.observe_upstream(method, route, "timeout", time.perf_counter() - started)
                log.warning("backend_timeout", route=route, error=type(exc).__name__)
                raise UpstreamTimeout("the backend did not answer in time") from exc
            except (httpx.HTTPError, BackendBroken) as exc:
                self.metrics.observe_upstream(method, route, "error", time.perf_counter() - started)
                log.warning("backend_error", route=route, error=type(exc).__name__)
                raise BackendFailure("the backend connection failed") from exc
            return response, time.perf_counter() - started
        raise AssertionError("unreachable")

    def _answered(self, method: str, route: str, status: int, seconds: float, user: str | None) -> None:
        self.metrics.observe_upstream(method, route, status, seconds)
        request_info.note_user(user)
        info = request_info.current()
        if info is not None:
            info.upstream_calls += 1

    async def get(self, path: str, *, route: str, authorization: str | None,
                  params: dict[str, Any] | None = None, timeout_s: float | None = None) -> httpx.Response:
        extensions = {"timeout": httpx.Timeout(timeout_s).as_dict()} if timeout_s else None
        request = self.client.build_request("GET", path, params=params, headers=self.call_headers(authorization),
                                            extensions=extensions)
        return await self.send(request, route=route)

    async def get_ok_gzip(self, path: str, *, route: str, authorization: str | None,
                          params: dict[str, Any] | None = None) -> tuple[httpx.Headers, bytes]:
        """GET that must succeed, asking for gzip: the answer's headers and its body as sent, not inflated (the
        caller splices compressed bodies as they are). A backend refusal is raised as with :meth:`get_ok`."""
        request = self.client.build_request("GET", path, params=params, headers=self.call_headers(
            authorization, {"Accept-Encoding": "gzip"}))
        response = await self.send(request, route=route, stream=True)
        try:
            if response.status_code >= 300:
                await response.aread()
                raise refusal(response)
            try:
                return response.headers, b"".join([chunk async for chunk in response.aiter_raw()])
            except httpx.TimeoutException as exc:
                raise UpstreamTimeout("the backend did not answer in time") from exc
            except httpx.HTTPError as exc:
                raise BackendFailure("the backend connection failed") from exc
        finally:
            await response.aclose()

    async def get_ok(self, path: str, *, route: str, authorization: str | None,
                     params: dict[str, Any] | None = None) -> httpx.Response:
        """GET that must succeed: a backend refusal is raised as the error the caller should see."""
        response = await self.get(path, route=route, authorization=authorization, params=params)
        if response.status_code >= 300:
            raise refusal(response)
        return response
