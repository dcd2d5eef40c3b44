"""gzip bodies that another gzip body can take in whole, without inflating them: the contract between a role
that serves a large, immutable JSON document compressed and the api that splices it into its own answer.

A spliceable body is one ordinary gzip member (RFC 1952) that any client decodes, laid out so its parts can be
cut out by position: the fixed 10-byte header below (no name, no comment, mtime 0), the document as a raw
deflate stream ended with a sync flush (byte-aligned and not final), then an empty final block (the two bytes
``03 00``), then the CRC-32 and length of the document. Whoever splices drops the header, the empty final block
and the trailer, and keeps the sync-flushed stream with its CRC-32 and length: deflate streams ended with a
sync flush concatenate, and CRC-32s combine without the text. A body that is not laid out exactly so is not
spliceable, and its reader falls back to reading it whole.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import lru_cache

from isal import isal_zlib

# Magic, deflate, no flags, mtime 0 (deterministic bytes, so digests of them stay stable), no extra flags, unknown OS.
GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
# A final fixed-Huffman block holding only its end-of-block code: what ends a sync-flushed stream.
_EMPTY_FINAL_BLOCK = b"\x03\x00"
_SYNC_FLUSH_MARK = b"\x00\x00\xff\xff"
_TRAILER = struct.Struct("<II")  # crc32, length mod 2**32
# Named in the answer, so a reader knows the layout is promised and not a coincidence.
SPLICEABLE_HEADER = "X-Hewston-Gzip"
SPLICEABLE_VALUE = "spliceable"


@dataclass(frozen=True)
class SyncFlushed:
    """A document as a raw deflate stream ended with a sync flush, with the document's CRC-32 and length."""

    deflated: bytes
    crc32: int
    raw_length: int


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether an ``Accept-Encoding`` value takes gzip (``gzip`` or ``*`` without ``q=0``)."""
    return _accepts_gzip(accept_encoding) if accept_encoding else False


@lru_cache(maxsize=256)  # browsers send one of a handful of values, on every request
def _accepts_gzip(accept_encoding: str) -> bool:
    for part in accept_encoding.split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() in ("gzip", "*"):
            return params.replace(" ", "").lower() not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def sync_flushed(raw: bytes, level: int) -> SyncFlushed:
    compressor = isal_zlib.compressobj(level, isal_zlib.DEFLATED, -isal_zlib.MAX_WBITS)
    deflated = compressor.compress(raw) + compressor.flush(isal_zlib.Z_SYNC_FLUSH)
    return SyncFlushed(deflated=deflated, crc32=isal_zlib.crc32(raw), raw_length=len(raw))


def spliceable_gzip(raw: bytes, level: int) -> bytes:
    """``raw`` as a spliceable gzip body (isa-l releases the GIL: large documents compress well on a thread)."""
    part = sync_flushed(raw, level)
    return b"".join((GZIP_HEADER, part.deflated, _EMPTY_FINAL_BLOCK,
                     _TRAILER.pack(part.crc32, part.raw_length & 0xFFFFFFFF)))


def split_spliceable(body: bytes) -> SyncFlushed | None:
    """The sync-flushed stream inside a spliceable body; None when the body is not laid out as promised.

    Only the layout is checked, not the text (that would mean inflating it, which splicing exists to avoid):
    the sender is one of ours and says it kept the layout."""
    end = len(body) - _TRAILER.size - len(_EMPTY_FINAL_BLOCK)
    if (end < len(GZIP_HEADER) + len(_SYNC_FLUSH_MARK) or not body.startswith(GZIP_HEADER)
            or body[end:end + len(_EMPTY_FINAL_BLOCK)] != _EMPTY_FINAL_BLOCK
            or body[end - len(_SYNC_FLUSH_MARK):end] != _SYNC_FLUSH_MARK):
        return None
    crc, length = _TRAILER.unpack_from(body, len(body) - _TRAILER.size)
    return SyncFlushed(deflated=body[len(GZIP_HEADER):end], crc32=crc, raw_length=length)
