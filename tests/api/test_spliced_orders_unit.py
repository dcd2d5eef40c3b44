"""The api's check of a spliceable orders body: only the opening is inflated, and it must open a JSON object."""

from __future__ import annotations

import random

import orjson
from isal import isal_zlib

from api.views.run_results import opening
from common.spliceable_gzip import spliceable_gzip, split_spliceable


def orders_document(count: int) -> bytes:
    rng = random.Random(7)
    rows = [{"bar_index": i, "time": 1_735_689_600 + 60 * i, "side": rng.choice(("buy", "sell")),
             "quantity": rng.random() * 10, "price": 100 + rng.random(), "fee": rng.random() / 100,
             "reason": "signal", "realized_pnl": rng.gauss(0, 50)} for i in range(count)]
    return b'{"run_id":"r1","count":' + str(count).encode() + b',"orders":' + orjson.dumps(rows) + b"}"


def test_a_realistic_document_opens_an_object():
    part = split_spliceable(spliceable_gzip(orders_document(20_000), 1))
    assert part is not None and opening(part.deflated) == b"{"


def test_the_opening_is_found_past_long_huffman_tables():
    # Text using every byte value makes the first block's code tables longer than 64 bytes (a year of real
    # orders does so too): inflating a fixed few bytes from the start yields nothing yet.
    rng = random.Random(3)
    text = b"{" + bytes(min(255, int(rng.expovariate(0.1))) for _ in range(200_000)) + b"}"
    part = split_spliceable(spliceable_gzip(text, 0))
    assert part is not None
    assert isal_zlib.decompressobj(-isal_zlib.MAX_WBITS).decompress(part.deflated[:64], 1) == b""
    assert opening(part.deflated) == b"{"


def test_anything_else_does_not_open_an_object():
    array = split_spliceable(spliceable_gzip(b"[" + b"1," * 50_000 + b"2]", 1))
    assert array is not None and opening(array.deflated) == b"["
    assert opening(b"not deflate at all") == b""
    assert opening(b"") == b""
