"""docs/stream.md stays true to the code: its JSON schema is the models', its close codes are the ones defined
(with the same reconnect rule), and a published message validates against the models."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import pytest

from common.close_codes import MEANINGS, CloseCode, should_reconnect
from common.models import stream
from common.models.stream import ResetCause, SnapshotKind
from common.stream.envelope import Outgoing, encode_published
from tests.support.schema_docs import render, schema_block

DOC = Path(__file__).resolve().parents[2] / "docs" / "stream.md"


@pytest.mark.parametrize("name, schema", [("messages", stream.message_schema), ("controls", stream.control_schema)])
def test_the_documented_json_schema_is_the_models_schema(name, schema):
    match = schema_block(name).search(DOC.read_text())
    assert match, f"docs/stream.md has no {name} schema block"
    assert match.group(2) == render(schema()), "regenerate: python -m tests.support.schema_docs docs/stream.md " \
                                               "common.models.stream"


def test_documented_close_codes_exist_with_the_same_reconnect_rule():
    rows = re.findall(r"^\| (\d{4}) \| .*? \| (yes|no)\b", DOC.read_text(), re.M)
    assert len(rows) >= 9
    for code, reconnect in rows:
        assert int(code) in MEANINGS, code
        assert should_reconnect(int(code)) == (reconnect == "yes"), code
    assert str(int(CloseCode.access_withdrawn)) in dict(rows)


def test_a_published_snapshot_validates_against_the_models():
    snapshot = {"type": "snapshot", "run_id": "r", "cursor": 0, "time": 60, "state": "paused", "speed": 30.0,
                "total_bars": 2, "position": 0.0, "cash": 1.0, "equity": 1.0,
                "bar": {"time": 60, "open": 1, "high": 1, "low": 1, "close": 1, "volume": 0},
                "stats": {"bars_played": 1, "progress": 0.5, "initial_cash": 1.0, "equity": 1.0,
                          "total_return": 0.0, "peak_equity": 1.0, "drawdown": 0.0, "max_drawdown": 0.0,
                          "fills": 0, "closed_trades": 0, "winning_trades": 0, "realized_pnl": 0.0, "fees": 0.0}}
    data = encode_published(Outgoing(snapshot, SnapshotKind.reset, ResetCause.connect), epoch="e", offset=1,
                            ts_ms=5)
    parsed = stream.STREAM_MESSAGE.validate_python(orjson.loads(data))
    assert (parsed.kind, parsed.cause, parsed.offset) == (SnapshotKind.reset, ResetCause.connect, 1)
