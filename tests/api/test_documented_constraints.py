"""The OpenAPI documents say what is accepted: a symbol or a time that the schema allows has the shape the
services accept, and the shapes they refuse (an empty symbol or time) are outside the schema."""

from __future__ import annotations

import re

import pytest

from api.main import create_app as create_api
from common.models.bars import SYMBOL_SCHEMA
from common.times import TIME_SCHEMA, parse_time
from tests.api.conftest import api_settings


def parameters(document: dict, path: str) -> dict[str, dict]:
    return {p["name"]: p["schema"] for p in document["paths"][path]["get"]["parameters"]}


def constrained(schema: dict) -> dict:
    """Where a parameter's string constraints sit: beside an optional one's ``anyOf`` (string or null, and
    JSON Schema applies them to the string only), or in its string branch."""
    if "pattern" in schema:
        return schema
    return next((s for s in schema.get("anyOf", []) if s.get("type") == "string"), schema)


@pytest.fixture(scope="module")
def documents(tmp_path_factory):
    from backend.main import create_app as create_backend
    from backend.settings import BackendSettings

    backend = create_backend(BackendSettings(data_dir=tmp_path_factory.mktemp("data"), redis_url=None,
                                             _env_file=None))
    api = create_api(api_settings("http://127.0.0.1:9", None))
    return backend.openapi(), api.openapi()


def test_symbols_and_times_carry_their_shapes_in_both_documents(documents):
    backend, api = documents
    for document, prefix in ((backend, ""), (api, "/api/v1")):
        bars = parameters(document, f"{prefix}/bars/minute")
        assert constrained(bars["symbol"])["pattern"] == SYMBOL_SCHEMA["pattern"]
        assert constrained(bars["from"])["pattern"] == constrained(bars["to"])["pattern"] == TIME_SCHEMA["pattern"]
        assert constrained(parameters(document, f"{prefix}/symbols/{{symbol}}")["symbol"])["pattern"] \
            == SYMBOL_SCHEMA["pattern"]
    chart = parameters(api, "/api/v1/chart-data")
    assert constrained(chart["from_date"])["pattern"] == TIME_SCHEMA["pattern"]


@pytest.mark.parametrize("text", ["2025-03-01", "2025-03-01T14:30:00Z", "2025-03-01 09:30:00-05:00",
                                  "2025-03-01T14:30", "1735689600", "-86400", "1735689600.5"])
def test_times_of_the_documented_shape_are_accepted(text):
    assert re.match(TIME_SCHEMA["pattern"], text)
    parse_time(text)


@pytest.mark.parametrize("text", ["", "yesterday", "2025-13-01", "03/01/2025", "2025-03-01T25:00"])
def test_times_the_services_refuse_are_outside_the_documented_shape(text):
    assert not re.match(TIME_SCHEMA["pattern"], text)
    with pytest.raises(ValueError):
        parse_time(text)


@pytest.mark.parametrize("symbol, inside", [("BTCUSD", True), ("brk.b", True), ("", False), (".X", False),
                                            ("A" * 33, False), ("A B", False)])
def test_the_documented_symbol_shape(symbol, inside):
    from backend.market.validate import BarValidationError, normalize_symbol

    assert bool(re.match(SYMBOL_SCHEMA["pattern"], symbol)) is inside
    if inside:
        normalize_symbol(symbol)
    else:
        with pytest.raises(BarValidationError):
            normalize_symbol(symbol)
