"""``GET /backtests/{id}/orders`` served gzip-compressed: the same document, compressed once per run, spliceable."""

from __future__ import annotations

import gzip
import zlib

import pytest

from common.spliceable_gzip import SPLICEABLE_HEADER, split_spliceable
from tests.backend.test_backtests_api import add_symbol, post, wait_done
from tests.conftest import ALICE_TOKEN, BOB_TOKEN, auth


@pytest.fixture
def run_id(backend_app, backend_client):
    add_symbol(backend_app, "TEST")
    run = post(backend_client, mode="long_short").json()
    assert wait_done(backend_client, run["id"])["status"] == "completed"
    return run["id"]


def raw_get(client, path: str, headers: dict[str, str]):
    """The answer's bytes as they came over the wire (the client would otherwise inflate them)."""
    with client.stream("GET", path, headers=headers) as response:
        return response, b"".join(response.iter_raw())


def test_gzip_answer_inflates_to_exactly_the_plain_one(backend_app, backend_client, run_id):
    path = f"/backtests/{run_id}/orders"
    plain, plain_body = raw_get(backend_client, path, {**auth(ALICE_TOKEN), "Accept-Encoding": "identity"})
    assert plain.status_code == 200 and "content-encoding" not in plain.headers
    assert plain.headers["vary"] == "Accept-Encoding"
    assert plain_body.startswith(b'{"run_id":') and b'"orders":[{' in plain_body

    packed, packed_body = raw_get(backend_client, path, {**auth(ALICE_TOKEN), "Accept-Encoding": "br, gzip"})
    assert packed.status_code == 200 and packed.headers["content-encoding"] == "gzip"
    assert packed.headers[SPLICEABLE_HEADER] == "spliceable" and packed.headers["vary"] == "Accept-Encoding"
    assert len(packed_body) < len(plain_body) / 3
    assert gzip.decompress(packed_body) == plain_body

    part = split_spliceable(packed_body)
    assert part is not None and part.raw_length == len(plain_body)
    # The cut-out stream is the whole document on its own, ready to be spliced.
    assert zlib.decompressobj(-zlib.MAX_WBITS).decompress(part.deflated) == plain_body
    assert part.crc32 == zlib.crc32(plain_body)


def test_compressed_once_per_run_and_kept(backend_app, backend_client, run_id):
    path = f"/backtests/{run_id}/orders"
    _, first = raw_get(backend_client, path, {**auth(ALICE_TOKEN), "Accept-Encoding": "gzip"})
    kept = backend_app.state.playback.cache._runs[run_id].encoded
    assert list(kept.values()) == [first]
    kept_bytes = next(iter(kept.values()))
    _, second = raw_get(backend_client, path, {**auth(ALICE_TOKEN), "Accept-Encoding": "gzip"})
    # The very object kept is what went out again: nothing was compressed a second time.
    assert second == first and next(iter(kept.values())) is kept_bytes


def test_gzip_refused_by_q0_gets_the_plain_document(backend_client, run_id):
    response, body = raw_get(backend_client, f"/backtests/{run_id}/orders",
                             {**auth(ALICE_TOKEN), "Accept-Encoding": "gzip;q=0, identity"})
    assert "content-encoding" not in response.headers and body.startswith(b'{"run_id":')


def test_kept_answer_still_checks_access(backend_client, run_id):
    path = f"/backtests/{run_id}/orders"
    raw_get(backend_client, path, {**auth(ALICE_TOKEN), "Accept-Encoding": "gzip"})
    response, _ = raw_get(backend_client, path, {**auth(BOB_TOKEN), "Accept-Encoding": "gzip"})
    assert response.status_code == 404
