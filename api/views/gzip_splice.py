"""gzip bodies assembled from a cached compressed prefix and a small per-request suffix.

A complete run's immutable parts are large (a decimated equity curve, thousands of orders) but its run detail
and load metadata differ per request. Compressing the whole body per request would cost milliseconds, so the
cache keeps the immutable prefix as a raw deflate stream ended with a sync flush (byte-aligned, not final)
together with its CRC-32 and length. Per request only the short suffix (the run detail and load metadata,
well under a kilobyte) is appended, as stored deflate blocks: compressing it would need a fresh compressor
per request, which costs a cache hit more than building the suffix, to save about a third of a few hundred
bytes in a body of a hundred kilobytes or more. The gzip trailer's CRC continues from the stored one.
A cache hit therefore moves and sends only compressed bytes.
The result is one ordinary gzip member (RFC 1952) that any client decodes. Deflate and CRC come from isa-l
(``isal``), which is several times faster than zlib at its fastest levels and compresses JSON smaller.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

from isal import isal_zlib

from common.spliceable_gzip import GZIP_HEADER, SyncFlushed, sync_flushed

_PACK_HEADER = struct.Struct("<II")  # crc32, raw length
_STORED_HEADER = struct.Struct("<HH")  # a stored block's length and its one's complement (RFC 1951, 3.2.4)
_STORED_MAX = 0xFFFF


@dataclass(frozen=True)
class CompressedPrefix:
    """Only the deflated bytes are kept: clients that take gzip (nearly all) never need the raw text, and the
    rare one that does not gets it inflated on demand. Read from the cache, ``deflated`` is a view into the
    stored value rather than a copy: a complete run with orders is over half a megabyte, and on a hit each such
    copy costs a fresh allocation the size of the body."""

    deflated: bytes | memoryview
    crc32: int
    raw_length: int

    def raw(self) -> bytes:
        return isal_zlib.decompressobj(-isal_zlib.MAX_WBITS).decompress(self.deflated)

    def pack(self) -> bytes:
        return _PACK_HEADER.pack(self.crc32, self.raw_length) + self.deflated

    @classmethod
    def of(cls, part: SyncFlushed) -> CompressedPrefix:
        return cls(deflated=part.deflated, crc32=part.crc32, raw_length=part.raw_length)

    @classmethod
    def unpack(cls, data: bytes | memoryview) -> CompressedPrefix | None:
        if len(data) <= _PACK_HEADER.size:
            return None  # not ours: treat as a miss
        crc, raw_length = _PACK_HEADER.unpack_from(data)
        return cls(deflated=data[_PACK_HEADER.size:], crc32=crc, raw_length=raw_length)


def compress_prefix(raw: bytes, level: int) -> CompressedPrefix:
    return CompressedPrefix.of(sync_flushed(raw, level))


def join_prefixes(parts: Sequence[CompressedPrefix]) -> CompressedPrefix:
    """One prefix from prefixes compressed separately (each by its own compressor, so on separate threads and as
    soon as its text is there): raw deflate streams ended with a sync flush concatenate into one stream, and their
    CRC-32s combine without the text."""
    crc, length = 0, 0
    for part in parts:
        crc = isal_zlib.crc32_combine(crc, part.crc32, part.raw_length)
        length += part.raw_length
    return CompressedPrefix(deflated=b"".join(part.deflated for part in parts), crc32=crc, raw_length=length)


def stored_blocks(data: bytes) -> bytes:
    """``data`` as uncompressed deflate blocks ending the stream, to follow a stream that ends byte-aligned (a
    sync flush does): each block is a header byte (the last one final), its length and that length's
    complement, and the bytes themselves."""
    if len(data) <= _STORED_MAX:  # a request's suffix: one final block
        return b"\x01" + _STORED_HEADER.pack(len(data), len(data) ^ 0xFFFF) + data
    blocks: list[bytes] = []
    for start in range(0, max(len(data), 1), _STORED_MAX):
        chunk = data[start:start + _STORED_MAX]
        last = start + _STORED_MAX >= len(data)
        blocks += (b"\x01" if last else b"\x00", _STORED_HEADER.pack(len(chunk), len(chunk) ^ 0xFFFF), chunk)
    return b"".join(blocks)


def gzip_with_suffix(prefix: CompressedPrefix, suffix: bytes) -> bytes:
    crc = isal_zlib.crc32(suffix, prefix.crc32)
    size = (prefix.raw_length + len(suffix)) & 0xFFFFFFFF
    return b"".join((GZIP_HEADER, prefix.deflated, stored_blocks(suffix), struct.pack("<II", crc, size)))
