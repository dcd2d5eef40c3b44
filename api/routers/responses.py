"""HTTP responses for encoded bytes: ETag and ``If-None-Match`` (304), gzip when accepted, cache outcome."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from api import request_info
from api.views import Encoded, Outcome, accepts_gzip, etag_matches
from common.request_headers import conditional_headers

JSON = "application/json"
CACHE_HEADER = "X-Cache"
# Cached bytes are served only after the backend said the caller may see them, so shared caches must not
# keep them, and browsers must revalidate (cheap: a 304 when nothing changed).
CACHE_CONTROL = "private, no-cache"
# Every cached view's answer carries these; encoded once, not per answer (a cache hit is a few hundred µs).
_CACHED_VIEW_HEADERS = [(b"vary", b"Accept-Encoding"), (b"cache-control", CACHE_CONTROL.encode("latin-1"))]
_X_CACHE = {outcome: (CACHE_HEADER.lower().encode("latin-1"), outcome.encode("latin-1")) for outcome in Outcome}
_GZIP = (b"content-encoding", b"gzip")


def cached_view_response(body: bytes | None, etag: str, outcome: Outcome, *, gzipped: bool = False) -> Response:
    """The answer of a cached view: ``body`` (JSON) with its ETag, ``Vary``, ``Cache-Control`` and ``X-Cache``;
    without a body, ``304 Not Modified`` with the same headers."""
    response = Response(status_code=304) if body is None else Response(body, media_type=JSON)
    response.raw_headers += [(b"etag", etag.encode("latin-1")), *_CACHED_VIEW_HEADERS, _X_CACHE[outcome]]
    if gzipped:
        response.raw_headers.append(_GZIP)
    return response


def encoded_response(request: Request, entry: Encoded, *, outcome: Outcome) -> Response:
    request_info.note_cache(outcome)
    if_none_match, accept_encoding = conditional_headers(request.scope)
    etag = entry.etag  # formatted from the digest on each use: once per request
    if etag_matches(if_none_match, etag):
        return cached_view_response(None, etag, outcome)
    body, encoding = entry.body(accepts_gzip(accept_encoding))
    return cached_view_response(body, etag, outcome, gzipped=encoding == "gzip")
