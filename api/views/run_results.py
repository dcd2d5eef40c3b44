"""A completed run's immutable results, computed in one place for ``/runs/{id}/complete`` and the prewarm worker.

The backend calls for metrics, equity (decimated by the backend with MinMaxLTTB to ``target_points``) and,
when asked for, orders go out at once. The result is assembled without decoding the large parts: equity and
orders are spliced in as the backend encoded them. The cached entry is the immutable prefix of the response
body, kept with a ready deflate stream, so a cache hit appends only the small per-request suffix (run detail
and metadata) and never compresses the whole body again.

Both the route and the worker go through :meth:`api.views.CachedViews.run_parts`, so what the worker stores is
byte for byte what the route would have computed on a miss.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import orjson

from api.views.cache import Computed, digest
from api.views.gzip_splice import CompressedPrefix, compress_prefix
from api.views.queries import RunCompleteQuery
from api.views.transform import loads_object
from api.views.upstream import Upstream
from common.errors import HewstonError, UpstreamError

_NOT_COMPLETED = 409


@dataclass(frozen=True)
class RunParts:
    """The cached prefix of a completed run's body, its digest (for the ETag) and any failed optional part."""

    prefix: CompressedPrefix
    digest: str
    failures: tuple[dict[str, Any], ...] = ()

    def pack(self) -> bytes:
        return self.digest.encode("ascii") + self.prefix.pack()

    @classmethod
    def unpack(cls, data: bytes) -> RunParts | None:
        prefix = CompressedPrefix.unpack(data[32:])
        return cls(prefix, data[:32].decode("ascii")) if prefix is not None and len(data) > 32 else None


class RunNotCompleted(Exception):
    """The backend has no results for this run yet (409): answer with the run detail alone, uncached."""


def _json_document(content: bytes, part: str) -> bytes:
    # The backend is ours and its parts are JSON objects; a cheap shape check keeps a broken answer from
    # producing a broken response without paying to decode megabytes of orders.
    stripped = content.strip()
    if not (stripped.startswith(b"{") and stripped.endswith(b"}")):
        raise UpstreamError(f"the backend sent {part} that is not a JSON object")
    return stripped


def _failure(part: str, exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, HewstonError):
        return {"part": part, "status": exc.status_code, "code": exc.code, "message": exc.message}
    return {"part": part, "status": None, "code": "internal_error", "message": f"{part} could not be loaded"}


async def compute_run_parts(upstream: Upstream, authorization: str | None, run_id: str,
                            query: RunCompleteQuery) -> Computed:
    """Metrics and equity are required; orders are optional and a failure there is reported, not hidden."""
    calls = {
        "metrics": upstream.get_ok(f"/backtests/{run_id}/metrics", route="/backtests/{id}/metrics",
                                   authorization=authorization),
        "equity": upstream.get_ok(f"/backtests/{run_id}/equity", route="/backtests/{id}/equity",
                                  authorization=authorization, params={"max_points": query.target_points}),
    }
    if query.include_orders:
        calls["orders"] = upstream.get_ok(f"/backtests/{run_id}/orders", route="/backtests/{id}/orders",
                                          authorization=authorization)
    results = dict(zip(calls, await asyncio.gather(*calls.values(), return_exceptions=True), strict=True))
    for part in ("metrics", "equity"):
        outcome = results[part]
        if isinstance(outcome, HewstonError) and outcome.status_code == _NOT_COMPLETED:
            raise RunNotCompleted()
        if isinstance(outcome, BaseException):
            raise outcome
    metrics = loads_object(results["metrics"].content, "metrics")
    equity = _json_document(results["equity"].content, "equity")
    failures: list[dict[str, Any]] = []
    orders = b"null"
    if query.include_orders:
        if isinstance(results["orders"], BaseException):
            failures.append(_failure("orders", results["orders"]))
        else:
            orders = _json_document(results["orders"].content, "orders")
    prefix = (b'{"metrics":' + orjson.dumps(metrics.get("metrics")) + b',"periods_per_year":'
              + orjson.dumps(metrics.get("periods_per_year")) + b',"equity":' + equity + b',"orders":' + orders)
    return Computed(prefix, failures=tuple(failures))


def encode_run_parts(computed: Computed, gzip_level: int) -> RunParts:
    prefix = compress_prefix(computed.raw, gzip_level)
    # The compressed bytes stand for the text (one compressor, deterministic output) and are several times
    # shorter, so hashing them for the ETag costs a fraction of hashing megabytes of orders.
    return RunParts(prefix, digest(prefix.deflated), computed.failures)
