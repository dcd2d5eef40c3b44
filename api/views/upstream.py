"""The api's only way to reach the backend: pooled keep-alive connections, one pool per app.

Every call forwards the caller's ``Authorization`` unchanged and the correlation id. Only idempotent calls
are retried, only when the connection could not be made (the request never reached the backend), with a
bounded number of attempts, and never when the backend's certificate failed verification (no retry can mend
it). Failures become errors a browser can act on: unreachable → 503, too slow → 504, nonsense → 502, and the
backend's own 4xx errors keep their status, code and message.

Both kinds of call share one pool of raw keep-alive HTTP/1.1 connections (``api.views.backend_pool``) and one
way of retrying and mapping failures: the passthrough (:meth:`Upstream.forward`), whose request is already bytes
and whose answer streams back as it arrives, and the api's own GETs (access checks, chart and run parts, ``/me``,
readiness, the worker's catalog), whose answer is read whole into a :class:`BackendAnswer`. A general client's
request and response models and its pure-Python parser would cost several times what the backend call itself
costs the api.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterable, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

import httpx
import orjson

from api import request_info
from api.metrics import DependencyMetrics
from api.settings import ApiSettings
from api.views.backend_pool import (
    BackendBroken,
    BackendPool,
    BackendResponse,
    BackendTimeout,
    BackendUnreachable,
    BackendUntrusted,
)
from common.backend_tls import backend_ssl_context
from common.correlation import correlation_headers
from common.errors import HewstonError, InvalidInput, ServiceUnavailable, UpstreamError
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


@dataclass(frozen=True, slots=True)
class BackendAnswer:
    """One of the api's own calls answered, read whole: header names lower-case, the body as sent (a gzip body
    stays compressed)."""

    status: int
    headers: dict[str, str]
    content: bytes

    def json(self) -> Any:
        return orjson.loads(self.content)


def refusal(response: BackendAnswer) -> HewstonError:
    """Turn a non-2xx backend answer into the error the caller should see."""
    if response.status >= 500:
        return BackendFailure(f"the backend failed with status {response.status}")
    code, message, details = "http_error", f"backend answered {response.status}", None
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
    return BackendRefused(response.status, code, message, details, headers)


class Upstream:
    def __init__(self, settings: ApiSettings, metrics: DependencyMetrics) -> None:
        self.settings = settings
        self.metrics = metrics
        # Parsed once: the passthrough maps the backend's redirects against it.
        self.base_url = base = httpx.URL(settings.backend_url.rstrip("/") + "/")
        self._base_path = base.raw_path.rstrip(b"/")
        self._host_header = (b"host", base.netloc)
        self.pool = BackendPool(base.scheme, base.host, base.port or (443 if base.scheme == "https" else 80),
                                max_connections=settings.upstream_max_connections,
                                keepalive_s=settings.upstream_keepalive_s,
                                connect_timeout_s=settings.upstream_connect_timeout_s,
                                timeout_s=settings.upstream_timeout_s,
                                ssl_context=backend_ssl_context(settings.backend_ca_file))

    async def aclose(self) -> None:
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

    async def forward(self, method: str, target: bytes, headers: list[tuple[bytes, bytes]],
                      content: AsyncIterable[bytes] | None, content_length: bytes | None = None, *,
                      route: str) -> BackendResponse:
        """A passthrough call: ``target`` (path and query, checked by the caller) and ``headers`` (without ``host``
        and the body's framing) sent as they are, with the backend's ``Host``; ``content`` streamed with
        ``content_length`` when the caller knows it, else chunked. The answer's body is the caller's to read
        (``aiter_stream``) and close. Retried like the own calls when it is idempotent and has no body."""
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
            except BackendUnreachable as exc:
                self.metrics.observe_upstream(method, route, "unreachable", time.perf_counter() - started)
                if attempt + 1 < attempts and not isinstance(exc, BackendUntrusted):
                    await asyncio.sleep(self.settings.upstream_retry_backoff_s * (2 ** attempt))
                    continue
                # The cause names what to mend (refused, no route, a certificate not trusted); never a header.
                log.warning("backend_unreachable", route=route, error=type(exc).__name__, cause=str(exc))
                raise ServiceUnavailable("the backend cannot be reached; try again shortly") from exc
            except BackendTimeout as exc:
                self.metrics.observe_upstream(method, route, "timeout", time.perf_counter() - started)
                log.warning("backend_timeout", route=route, error=type(exc).__name__)
                raise UpstreamTimeout("the backend did not answer in time") from exc
            except BackendBroken as exc:
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
                  params: dict[str, Any] | None = None, timeout_s: float | None = None) -> BackendAnswer:
        """GET ``path`` (with ``params`` encoded) and read the whole answer, whatever its status."""
        return await self._call(path, route, authorization, params, timeout_s)

    async def get_ok_gzip(self, path: str, *, route: str, authorization: str | None,
                          params: dict[str, Any] | None = None) -> BackendAnswer:
        """GET that must succeed, asking for gzip: the body as sent, not inflated (the caller splices compressed
        bodies as they are). A backend refusal is raised as with :meth:`get_ok`."""
        response = await self._call(path, route, authorization, params, None, _ACCEPT_GZIP)
        if response.status >= 300:
            raise refusal(response)
        return response

    async def get_ok(self, path: str, *, route: str, authorization: str | None,
                     params: dict[str, Any] | None = None) -> BackendAnswer:
        """GET that must succeed: a backend refusal is raised as the error the caller should see."""
        response = await self._call(path, route, authorization, params, None)
        if response.status >= 300:
            raise refusal(response)
        return response

    async def _call(self, path: str, route: str, authorization: str | None, params: dict[str, Any] | None,
                    timeout_s: float | None, extra: tuple[tuple[bytes, bytes], ...] = ()) -> BackendAnswer:
        """One of the api's own GETs on the pool, read whole; retried and mapped as :meth:`forward` is (reading
        the body is part of the attempt, so a backend that stops mid-body is a 504 or 502 too)."""
        target = self._base_path + quote(path, safe=_PATH_SAFE).encode("ascii")
        if params:
            target += b"?" + urlencode(_query_items(params), doseq=True).encode("ascii")
        headers = [self._host_header, *_header_pairs(self.call_headers(authorization)), *extra]

        async def attempt() -> BackendAnswer:
            response = await self.pool.request(b"GET", target, headers, retry_if_dropped=True, timeout_s=timeout_s)
            return BackendAnswer(response.status, {name.decode("latin-1"): value.decode("latin-1")
                                                   for name, value in response.headers}, await response.aread())

        answer, seconds = await self._attempts("GET", route, True, attempt)
        self._answered("GET", route, answer.status, seconds, answer.headers.get(USER_HEADER))
        return answer


_ACCEPT_GZIP = ((b"accept-encoding", b"gzip"),)
# What a path may hold as it is (RFC 3986's pchar and "/"); "%" too, so an escape the caller made stays one.
_PATH_SAFE = "/:@!$&'()*+,;=[]%~"


def _query_value(value: Any) -> str:
    """A query value as it is written: booleans in JSON's spelling, None as empty, the rest as ``str``."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    return "" if value is None else str(value)


def _query_items(params: dict[str, Any]) -> list[tuple[str, str | list[str]]]:
    """Each parameter once, a list or tuple as the same name repeated (in order)."""
    return [(name, [_query_value(v) for v in value] if isinstance(value, list | tuple) else _query_value(value))
            for name, value in params.items()]


def _header_pairs(headers: dict[str, str | bytes]) -> list[tuple[bytes, bytes]]:
    pairs = []
    for name, value in headers.items():
        raw = value if isinstance(value, bytes) else value.encode("latin-1")
        if b"\r" in raw or b"\n" in raw or b"\0" in raw:
            # Would end the header early and write the rest as the request's own: never sent.
            raise InvalidInput(name.lower(), "a header value may not hold line breaks", location="header")
        pairs.append((name.lower().encode("ascii"), raw))
    return pairs
