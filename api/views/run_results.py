"""A completed run's immutable results, computed in one place for ``/runs/{id}/complete`` and the prewarm worker.

The backend calls for metrics, equity (decimated by the backend with MinMaxLTTB to ``target_points``) and,
when asked for, orders go out at once. The result is assembled without decoding the large parts: equity and
orders are spliced in as the backend encoded them. The cached entry is the immutable prefix of the response
body, kept with a ready deflate stream, so a cache hit appends only the small per-request suffix (run detail
and metadata) and never compresses the whole body again.

Equity and orders come from the backend already compressed, in a layout made for splicing
(``common.spliceable_gzip``; the backend compresses each once per run and request, and keeps it): the api moves
a fraction of the bytes, deflates none of them, and joins them with its own small pieces into one deflate stream
(``join_prefixes``). A body that is not spliceable (plain JSON) is compressed here, on a worker thread when it
is large. A miss then costs little more than its slowest backend call.

Both the route and the worker go through :meth:`api.views.CachedViews.run_parts`, so what the worker stores is
byte for byte what the route would have computed on a miss.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import orjson
from isal import igzip, isal_zlib

from api.views.cache import COMPRESS_OFF_LOOP_BYTES, Computed, digest
from api.views.gzip_splice import CompressedPrefix, compress_prefix, join_prefixes
from api.views.queries import RunCompleteQuery
from api.views.transform import loads_object
from api.views.upstream import Upstream
from common.errors import HewstonError, UpstreamError
from common.spliceable_gzip import SPLICEABLE_HEADER, SPLICEABLE_VALUE, split_spliceable

_NOT_COMPLETED = 409
# Enough of a deflate stream to reach its first byte of text, whatever its block header.
_OPENING_BYTES = 64 * 1024


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
        prefix = CompressedPrefix.unpack(memoryview(data)[32:])  # a view: no copy of the large prefix
        return cls(prefix, data[:32].decode("ascii")) if prefix is not None and len(data) > 32 else None


class RunNotCompleted(Exception):
    """The backend has no results for this run yet (409): answer with the run detail alone, uncached."""


class MalformedPart(UpstreamError):
    """The backend answered a part in the wrong shape: the whole answer fails, whichever part it was."""


def _json_document(content: bytes, part: str) -> bytes:
    # The backend is ours and its parts are JSON objects; a cheap shape check keeps a broken answer from
    # producing a broken response without paying to decode megabytes of orders.
    stripped = content.strip()
    if not (stripped.startswith(b"{") and stripped.endswith(b"}")):
        raise MalformedPart(f"the backend sent {part} that is not a JSON object")
    return stripped


def _failure(part: str, exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, HewstonError):
        return {"part": part, "status": exc.status_code, "code": exc.code, "message": exc.message}
    return {"part": part, "status": None, "code": "internal_error", "message": f"{part} could not be loaded"}


async def _compressed(raw: bytes, level: int) -> tuple[CompressedPrefix, str]:
    """``raw`` compressed (on a worker thread when large: isa-l releases the GIL) and the digest of the result."""
    def work() -> tuple[CompressedPrefix, str]:
        prefix = compress_prefix(raw, level)
        return prefix, digest(prefix.deflated)

    return await asyncio.to_thread(work) if len(raw) >= COMPRESS_OFF_LOOP_BYTES else work()


async def _part(upstream: Upstream, authorization: str | None, run_id: str, part: str, level: int,
                params: dict[str, Any] | None = None) -> tuple[CompressedPrefix, str]:
    """A large part (equity, orders) compressed, taken as the backend compressed it when it sends a spliceable
    gzip body (it keeps one per run and request): the api then neither reads the JSON off the connection in full
    nor deflates it."""
    answer = await upstream.get_ok_gzip(f"/backtests/{run_id}/{part}", route=f"/backtests/{{id}}/{part}",
                                        authorization=authorization, params=params)
    body = answer.content
    if answer.headers.get("content-encoding", "").lower() == "gzip":
        if answer.headers.get(SPLICEABLE_HEADER.lower()) == SPLICEABLE_VALUE:
            spliced = _spliced(body, part)
            if spliced is not None:
                return spliced
        body = await asyncio.to_thread(_inflated, body, part)
    return await _compressed(_json_document(body, part), level)


def _spliced(body: bytes, part: str) -> tuple[CompressedPrefix, str] | None:
    """A spliceable body as a compressed part and what identifies it; None when it is not laid out as promised.

    The identity is the text's CRC-32 and length, which the backend sent in the gzip trailer: the part of a
    completed run is immutable, and the ETag built from it is weak, so a checksum of the text serves as well as a
    hash of its compressed bytes, and spares every miss a pass over half a megabyte of orders."""
    stream = split_spliceable(body)
    if stream is None:
        return None
    if opening(stream.deflated) != b"{":
        raise MalformedPart(f"the backend sent {part} that is not a JSON object")
    return CompressedPrefix.of(stream), f"crc{stream.crc32:08x}:{stream.raw_length:x}"


def opening(deflated: bytes | memoryview) -> bytes:
    """The first byte of a raw deflate stream's text. Inflating it all to check its shape would undo the point of
    splicing; the opening shows a JSON object. The stream's first 64 KiB go in (a block's Huffman tables come
    before its first byte and take at most a few hundred bytes), and inflating stops at the first byte out."""
    try:
        return isal_zlib.decompressobj(-isal_zlib.MAX_WBITS).decompress(memoryview(deflated)[:_OPENING_BYTES], 1)
    except isal_zlib.error:
        return b""


def _inflated(body: bytes, part: str) -> bytes:
    try:
        return igzip.decompress(body)
    except (OSError, EOFError) as exc:
        raise MalformedPart(f"the backend sent {part} that is not valid gzip") from exc


async def compute_run_parts(upstream: Upstream, authorization: str | None, run_id: str, query: RunCompleteQuery,
                            gzip_level: int) -> Computed:
    """Metrics and equity are required; orders are optional and a failure there is reported, not hidden."""
    # The slowest part first: the backend decimates the curve in a worker process while it answers the others.
    calls = {"equity": _part(upstream, authorization, run_id, "equity", gzip_level,
                             {"max_points": query.target_points})}
    if query.include_orders:
        calls["orders"] = _part(upstream, authorization, run_id, "orders", gzip_level)
    calls["metrics"] = upstream.get_ok(f"/backtests/{run_id}/metrics", route="/backtests/{id}/metrics",
                                       authorization=authorization)
    tasks = {part: asyncio.ensure_future(call) for part, call in calls.items()}
    results = dict(zip(tasks, await asyncio.gather(*tasks.values(), return_exceptions=True), strict=True))
    for part in ("metrics", "equity"):
        outcome = results[part]
        if isinstance(outcome, HewstonError) and outcome.status_code == _NOT_COMPLETED:
            raise RunNotCompleted()
        if isinstance(outcome, BaseException):
            raise outcome
    metrics = loads_object(results["metrics"].content, "metrics")
    equity: tuple[CompressedPrefix, str] = results["equity"]
    failures: list[dict[str, Any]] = []
    orders: tuple[CompressedPrefix, str] | None = None
    if query.include_orders:
        outcome = results["orders"]
        if isinstance(outcome, MalformedPart):
            raise outcome
        if isinstance(outcome, BaseException):
            failures.append(_failure("orders", outcome))
        else:
            orders = outcome
    head = (b'{"metrics":' + orjson.dumps(metrics.get("metrics")) + b',"periods_per_year":'
            + orjson.dumps(metrics.get("periods_per_year")) + b',"equity":')
    pieces = [await _compressed(head, gzip_level), equity, await _compressed(b',"orders":', gzip_level),
              orders or await _compressed(b"null", gzip_level)]
    prefix = join_prefixes([piece[0] for piece in pieces])
    # Each piece's identity makes the ETag's: a spliced part's CRC-32 and length of its text, or the digest of
    # what the api compressed itself (deterministic compressors: the compressed bytes stand for the text, and are
    # several times shorter to hash).
    parts = RunParts(prefix, digest("".join(piece[1] for piece in pieces).encode("ascii")), tuple(failures))
    return Computed(b"", failures=tuple(failures), encoded=parts)


def encode_run_parts(computed: Computed, gzip_level: int) -> RunParts:
    if isinstance(computed.encoded, RunParts):
        return computed.encoded
    prefix = compress_prefix(computed.raw, gzip_level)
    # The compressed bytes stand for the text (one compressor, deterministic output) and are several times
    # shorter, so hashing them for the ETag costs a fraction of hashing megabytes of orders.
    return RunParts(prefix, digest(prefix.deflated), computed.failures)
