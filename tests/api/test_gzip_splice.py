"""A cached deflated prefix plus a per-request suffix is one valid gzip member."""

import gzip
import os
import zlib

from hypothesis import given, settings
from hypothesis import strategies as st

from api.views.gzip_splice import CompressedPrefix, compress_prefix, gzip_with_suffix, join_prefixes, stored_blocks


@settings(max_examples=50, deadline=None)
@given(prefix=st.binary(max_size=5000), suffix=st.binary(max_size=500), level=st.integers(0, 3))
def test_any_prefix_and_suffix_decode_to_their_concatenation(prefix, suffix, level):
    body = gzip_with_suffix(compress_prefix(prefix, level), suffix)
    assert gzip.decompress(body) == prefix + suffix
    # Exactly one member: a decoder that stops after the first member sees everything.
    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    assert decoder.decompress(body) == prefix + suffix and decoder.eof and decoder.unused_data == b""


def test_large_repetitive_prefix_compresses_and_round_trips_through_the_cache_format():
    prefix = b'{"orders":[' + b'{"side":"buy","price":101.25},' * 20_000
    packed = compress_prefix(prefix, 3).pack()
    restored = CompressedPrefix.unpack(packed)
    assert restored is not None and len(restored.deflated) < len(prefix) // 20
    assert gzip.decompress(gzip_with_suffix(restored, b"]}")) == prefix + b"]}"


def test_the_raw_text_is_inflated_on_demand_and_foreign_entries_are_misses():
    raw = os.urandom(100) + b"x" * 1000
    prefix = compress_prefix(raw, 1)
    assert prefix.raw() == raw and prefix.raw_length == len(raw)
    assert CompressedPrefix.unpack(b"short") is None


def test_prefixes_compressed_apart_join_into_one_gzip_body():
    texts = [b'{"metrics":{"a":1},"equity":', b'{"time":[' + b",".join(b"%d" % i for i in range(50_000)) + b"]}",
             b',"orders":', b""]
    joined = join_prefixes([compress_prefix(text, 1) for text in texts])
    whole = b"".join(texts)
    assert joined.raw() == whole and joined.raw_length == len(whole)
    assert joined.crc32 == compress_prefix(whole, 1).crc32
    assert gzip.decompress(gzip_with_suffix(joined, b"null}")) == whole + b"null}"


def test_a_suffix_of_any_length_is_stored_in_blocks_a_decoder_reads_to_the_end():
    for size in (0, 1, 0xFFFF, 0xFFFF + 1, 3 * 0xFFFF + 7):
        suffix = os.urandom(size)
        assert zlib.decompressobj(-zlib.MAX_WBITS).decompress(stored_blocks(suffix)) == suffix
        assert len(stored_blocks(suffix)) == size + 5 * max(1, -(-size // 0xFFFF))
        body = gzip_with_suffix(compress_prefix(b'{"metrics":', 1), suffix)
        decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
        assert decoder.decompress(body) == b'{"metrics":' + suffix and decoder.eof and decoder.unused_data == b""
