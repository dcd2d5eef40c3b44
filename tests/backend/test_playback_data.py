"""What a loaded run keeps besides its arrays."""

from __future__ import annotations

import orjson

from tests.backend.playback_fixtures import make_data


def test_fills_are_encoded_once_and_counted_in_the_loaded_runs_size():
    data = make_data()
    before = data.nbytes
    encoded = data.fills_json
    assert orjson.loads(encoded) == data.fills.rows() and len(data.fills) > 0
    assert data.fills_json is encoded  # kept, not encoded again
    assert data.nbytes == before + len(encoded)  # the run cache's budget sees it
