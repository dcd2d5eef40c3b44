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


def encoded_response(request: Request, entry: Encoded, *, outcome: Outcome) -> Response:
    request_info.note_cache(outcome)
    headers = {"ETag": entry.etag, "Vary": "Accept-Encoding", "Cache-Control": CACHE_CONTROL,
               CACHE_HEADER: outcome}
    if_none_match, accept_encoding = conditional_headers(request.scope)
    if etag_matches(if_none_match, entry.etag):
        return Response(status_code=304, headers=headers)
    body, encoding = entry.body(accepts_gzip(accept_encoding))
    if encoding:
        headers["Content-Encoding"] = encoding
    return Response(body, media_type=JSON, headers=headers)
