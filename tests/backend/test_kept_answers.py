"""A completed run's equity curves are encoded once per request shape (and compressed once, when gzip is taken)
and kept with the loaded run: a repeated request is the same bytes without decimating again, and still passes
the access check."""

from __future__ import annotations

import gzip

import orjson
import pytest

import backend.routers.backtests as backtests
from backend.playback.answers import KeptAnswers
from common.spliceable_gzip import SPLICEABLE_HEADER, SPLICEABLE_VALUE, split_spliceable
from tests.backend.test_backtests_api import START, add_symbol, post, wait_done
from tests.conftest import ALICE_TOKEN, BOB_TOKEN, auth

HOUR = 3_600


@pytest.fixture
def run_id(backend_app, backend_client) -> str:
    add_symbol(backend_app, "TEST")
    response = post(backend_client, **{"from": "2025-01-01", "to": "2025-01-04"})  # 96 hourly bars
    assert wait_done(backend_client, response.json()["id"])["status"] == "completed"
    return response.json()["id"]


def _equity(client, run_id: str, token: str = ALICE_TOKEN, encoding: str = "identity", **params):
    with client.stream("GET", f"/backtests/{run_id}/equity", params=params,
                       headers={**auth(token), "Accept-Encoding": encoding}) as response:
        # The bytes as they came over the wire: the client would otherwise inflate a gzip body.
        response.raw_body = b"".join(response.iter_raw())
    return response


@pytest.fixture
def curves_built(monkeypatch) -> list[int | None]:
    """The ``max_points`` of every equity curve the backend builds from now on."""
    built: list[int | None] = []
    real = backtests.equity_curve

    def counted(columns, max_points, keep=None):
        built.append(max_points)
        return real(columns, max_points, keep)

    monkeypatch.setattr(backtests, "equity_curve", counted)
    return built


def test_a_repeated_request_is_the_kept_bytes_without_building_the_curve_again(backend_client, run_id,
                                                                               curves_built):
    first = _equity(backend_client, run_id, max_points=20)
    ranged = _equity(backend_client, run_id, max_points=20, **{"from": START + 10 * HOUR, "to": START + 50 * HOUR})
    assert first.status_code == ranged.status_code == 200
    assert orjson.loads(first.raw_body)["count"] == 20 and orjson.loads(ranged.raw_body)["source_points"] == 41
    assert curves_built == [20, 20]
    again = _equity(backend_client, run_id, max_points=20)
    assert again.status_code == 200 and again.raw_body == first.raw_body
    assert again.headers["content-type"] == first.headers["content-type"] == "application/json"
    ranged_again = _equity(backend_client, run_id, max_points=20, **{"from": START + 10 * HOUR,
                                                                     "to": START + 50 * HOUR})
    assert ranged_again.raw_body == ranged.raw_body
    assert curves_built == [20, 20]  # neither was built again
    # Another shape of the request is another answer: it is built, not taken from a kept one.
    assert orjson.loads(_equity(backend_client, run_id, max_points=21).raw_body)["count"] == 21
    assert curves_built == [20, 20, 21]


def test_a_kept_answer_still_checks_access(backend_app, backend_client, run_id):
    assert _equity(backend_client, run_id, max_points=20).status_code == 200
    kept = backend_app.state.playback.cache._runs[run_id].encoded
    assert len(kept) == 1
    refused = _equity(backend_client, run_id, token=BOB_TOKEN, max_points=20)
    assert refused.status_code == 404 and b'"equity"' not in refused.raw_body
    assert _equity(backend_client, run_id, encoding="gzip", max_points=20).status_code == 200
    assert len(kept) == 2
    refused = _equity(backend_client, run_id, token=BOB_TOKEN, encoding="gzip", max_points=20)
    assert refused.status_code == 404 and "content-encoding" not in refused.headers
    assert _equity(backend_client, run_id, token="hw_not_a_token_0123456789abcdef", max_points=20).status_code == 401


def test_kept_answers_count_in_the_loaded_runs_size(backend_app, backend_client, run_id):
    body = _equity(backend_client, run_id, max_points=20).raw_body
    data = backend_app.state.playback.cache._runs[run_id]
    before = data.nbytes
    second = _equity(backend_client, run_id, max_points=30).raw_body
    assert data.nbytes == before + len(second) and data.encoded.nbytes == len(body) + len(second)


def test_gzip_is_the_plain_curve_compressed_once_spliceable_and_kept(backend_app, backend_client, run_id,
                                                                      curves_built):
    plain = _equity(backend_client, run_id, max_points=20)
    assert "content-encoding" not in plain.headers and plain.headers["vary"] == "Accept-Encoding"
    packed = _equity(backend_client, run_id, encoding="gzip, br", max_points=20)
    assert packed.headers["content-encoding"] == "gzip" and packed.headers["vary"] == "Accept-Encoding"
    assert packed.headers[SPLICEABLE_HEADER] == SPLICEABLE_VALUE
    assert gzip.decompress(packed.raw_body) == plain.raw_body
    part = split_spliceable(packed.raw_body)
    assert part is not None and part.raw_length == len(plain.raw_body)
    kept = backend_app.state.playback.cache._runs[run_id].encoded
    kept_body = kept.get(("gzip", "equity", None, None, 20))
    assert kept_body == packed.raw_body
    again = _equity(backend_client, run_id, encoding="gzip", max_points=20)
    # The very object kept went out again, and the curve was built once for both encodings.
    assert again.raw_body == packed.raw_body and kept.get(("gzip", "equity", None, None, 20)) is kept_body
    assert curves_built == [20]


def test_varying_answers_are_bounded_in_number_and_size_and_pinned_ones_stay():
    kept = KeptAnswers(max_answers=2, max_bytes=4)
    kept.keep("orders", b"far too large", pinned=True)
    assert kept.keep("a", b"aa") == b"aa" and kept.keep("b", b"bb") == b"bb"
    assert kept.get("a") == b"aa"  # used: "b" is now the least recently used
    kept.keep("c", b"cc")
    assert kept.get("b") is None and kept.get("a") == b"aa" and kept.get("c") == b"cc"
    assert kept.keep("big", b"12345") == b"12345" and kept.get("big") is None  # served, not kept
    assert kept.get("orders") == b"far too large" and len(kept) == 3
    assert kept.nbytes == len(b"far too large") + 4
    built: list[str] = []
    assert kept.get_or_build("d", lambda: built.append("d") or b"dd") == b"dd"
    assert kept.get_or_build("d", lambda: built.append("d") or b"xx") == b"dd" and built == ["d"]
