"""The protocol's published parts: control and start-parameter parsing, close codes, the documented schema,
and the shared cache of loaded runs."""

from __future__ import annotations

import asyncio
import re
import threading
from pathlib import Path

import orjson
import pytest

from backend.playback.cache import RunCache
from backend.playback.controls import StartError, parse_start
from common.close_codes import MAX_REASON_BYTES, MEANINGS, CloseCode, close_reason, should_reconnect
from common.controls import ControlError, parse_control
from common.models.playback import (
    DEFAULT_SPEED,
    PlaybackState,
    SeekControl,
    SpeedControl,
    StepControl,
    control_schema,
    message_schema,
)
from tests.backend.playback_fixtures import make_data
from tests.support.schema_docs import schema_block

DOC = Path(__file__).resolve().parents[2] / "docs" / "playback.md"


def test_controls_parse_into_their_models():
    assert parse_control('{"type": "seek", "time": 1700000000}') == SeekControl(type="seek", time=1700000000)
    assert parse_control(b'{"type": "speed", "value": 1000}') == SpeedControl(type="speed", value=1000)
    assert parse_control('{"type": "step", "bars": -3}') == StepControl(type="step", bars=-3)


@pytest.mark.parametrize("raw, fragment", [
    ("{", "not JSON"),
    ("3", "JSON object"),
    ('{"type": "rewind"}', "unknown type"),
    ('{"value": 3}', "missing type"),
    ('{"type": "speed", "value": 0.1}', "value:"),
    ('{"type": "speed", "value": 5000.5}', "value:"),
    ('{"type": "seek", "cursor": -2}', "cursor:"),
    ('{"type": "seek"}', "exactly one"),
    ('{"type": "step", "bars": 0}', "not be 0"),
    ('{"type": "play", "now": true}', "now:"),
])
def test_bad_controls_say_what_is_wrong(raw, fragment):
    with pytest.raises(ControlError, match=re.escape(fragment)):
        parse_control(raw)


def test_start_parameters_defaults_and_values():
    assert parse_start({}) == parse_start({"unrelated": "1"})
    start = parse_start({})
    assert (start.cursor, start.time, start.state, start.speed) == (-1, None, PlaybackState.paused, DEFAULT_SPEED)
    start = parse_start({"time": "1700000000", "state": "playing", "speed": "0.5"})
    assert (start.time, start.state, start.speed) == (1_700_000_000, PlaybackState.playing, 0.5)
    data = make_data(10)
    assert parse_start({"cursor": "9"}).resolve(data.last, data.cursor_at_time) == 9
    with pytest.raises(StartError, match="^cursor:"):
        parse_start({"cursor": "10"}).resolve(data.last, data.cursor_at_time)
    assert parse_start({"time": "0"}).resolve(data.last, data.cursor_at_time) == -1
    with pytest.raises(StartError, match="^Access_Token:"):
        parse_start({"Access_Token": "x"})


def test_every_close_code_is_documented_with_a_reconnect_rule():
    doc = DOC.read_text()
    for code in CloseCode:
        assert code in MEANINGS
        assert f"| {int(code)} |" in doc
    assert not should_reconnect(CloseCode.unauthorized) and not should_reconnect(CloseCode.not_found)
    assert should_reconnect(CloseCode.going_away) and should_reconnect(CloseCode.internal_error)
    assert should_reconnect(1006) and not should_reconnect(4999)


def test_close_reasons_fit_a_close_frame():
    assert close_reason("short") == "short"
    trimmed = close_reason("é" * 100)
    assert len(trimmed.encode()) <= MAX_REASON_BYTES and set(trimmed) == {"é"}


@pytest.mark.parametrize("name, schema", [("messages", message_schema), ("controls", control_schema)])
def test_the_documented_json_schema_is_the_models_schema(name, schema):
    match = schema_block(name).search(DOC.read_text())
    assert match, f"docs/playback.md has no {name} schema block"
    assert orjson.loads(match.group(2)) == schema()


async def test_the_run_cache_loads_once_for_concurrent_callers_and_evicts_least_recent():
    loads: list[str] = []
    gate = threading.Event()

    def loader(run_id: str):
        def load():
            loads.append(run_id)
            gate.wait(5)
            return make_data(100)
        return load

    size = make_data(100).nbytes
    cache = RunCache(max_bytes=2 * size)
    waiting = [asyncio.create_task(cache.get("a", loader("a"))) for _ in range(5)]
    await asyncio.sleep(0.05)
    waiting[0].cancel()  # one caller leaving does not cancel the load for the others
    gate.set()
    results = await asyncio.gather(*waiting[1:])
    assert loads == ["a"] and all(r is results[0] for r in results)
    assert await cache.get("a", loader("a")) is results[0] and cache.hits == 1
    await cache.get("b", loader("b"))
    await cache.get("a", loader("a"))  # a is now the most recent
    await cache.get("c", loader("c"))
    assert "a" in cache and "c" in cache and "b" not in cache
    assert loads == ["a", "b", "c"]


async def test_a_failed_load_is_not_cached():
    cache = RunCache(max_bytes=1 << 20)

    def broken():
        raise FileNotFoundError("timeline.parquet")

    with pytest.raises(FileNotFoundError):
        await cache.get("x", broken)
    assert "x" not in cache
    assert (await cache.get("x", lambda: make_data(5))).total_bars == 5
