"""``GET /bars/daily|hour|minute``: columnar bars of one symbol over a time range.

``from`` and ``to`` are inclusive and optional (they default to the first and last bar). Each is epoch seconds
or an ISO-8601 date or datetime (UTC unless it carries an offset); a bare date as ``to`` means the end of that
day. The body is encoded by orjson straight from the numpy arrays the store returns: no Python lists per bar.
"""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Query
from fastapi.responses import Response

from backend.deps import BarStoreDep, CatalogDep, PrincipalDep, SettingsDep
from backend.market.aggregate import aggregate
from backend.market.availability import missing_timeframe
from backend.market.validate import symbol_param
from backend.time_range import FromParam, TimeRange, ToParam
from common.errors import InvalidInput, NotFound
from common.models.bars import SYMBOL_SCHEMA, BarsResponse, Timeframe

router = APIRouter(prefix="/bars", tags=["market data"])


SymbolParam = Annotated[str, Query(description="Instrument symbol, e.g. BTCUSD (case-insensitive)",
                                   json_schema_extra=SYMBOL_SCHEMA)]
# A century of minutes: wide enough for any chart of any range, far from integer overflow.
MAX_BUCKET_MINUTES = 100 * 366 * 1440
BucketParam = Annotated[int | None, Query(ge=1, le=MAX_BUCKET_MINUTES, description=(
    "Aggregate the minute bars into buckets of this many whole minutes, aligned to multiples of the width "
    "since the epoch (UTC): open first, high max, low min, close last, volume summed; empty buckets are left "
    "out. Omit (or 1) for the bars as stored."))]
_RESPONSES = {401: {"description": "Missing or invalid bearer token"},
              404: {"description": "Unknown symbol, or no bars of this timeframe (the message names those there are)"},
              422: {"description": "A bad symbol, date, reversed range or (minute bars) a range over the cap; "
                                   "`details` names the parameter"}}


def _bars(timeframe: Timeframe, symbol: str, from_: str | None, to: str | None, settings: SettingsDep,
          catalog: CatalogDep, store: BarStoreDep, bucket_minutes: int | None = None) -> Response:
    symbol = symbol_param(symbol)
    span = TimeRange.parse(from_, to)
    start, end = span.start, span.end
    record = catalog.dataset(symbol, timeframe)
    if record is None:
        raise NotFound(f"unknown symbol {symbol}" if catalog.instrument(symbol) is None
                       else missing_timeframe(catalog, symbol, timeframe))
    if timeframe is Timeframe.minute and record.first_time is not None:
        # The cap bounds the data a call can return, so it applies to the range clipped to the data.
        lo = max(start, record.first_time) if start is not None else record.first_time
        hi = min(end, record.last_time) if end is not None else record.last_time
        days = (hi - lo) / 86400
        # Wider buckets return proportionally fewer rows, so the cap widens with them.
        cap_days = settings.minute_range_cap_days * (bucket_minutes or 1)
        if days > cap_days:
            hint = "narrow it" if bucket_minutes else "narrow it, aggregate with bucket_minutes or use hourly bars"
            raise InvalidInput("to" if to is not None else "from",
                               f"the minute range covers {days:.1f} days of data; at most {cap_days} days per "
                               f"call ({hint})")
    bars = store.read(symbol, timeframe, start, end, record=record)
    source_count = len(bars)
    bucket_seconds = timeframe.seconds
    if bucket_minutes is not None and bucket_minutes > 1:
        bucket_seconds = bucket_minutes * 60
        bars = aggregate(bars, bucket_seconds)
    body = {"symbol": symbol, "timeframe": timeframe.value, "data_version": record.data_version,
            "count": len(bars), "source_count": source_count, "bucket_seconds": bucket_seconds,
            "time": bars.time, "open": bars.open, "high": bars.high, "low": bars.low,
            "close": bars.close, "volume": bars.volume}
    return Response(orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY), media_type="application/json")


@router.get("/daily", response_model=BarsResponse, responses=_RESPONSES, summary="Daily bars (UTC days)")
def daily_bars(_principal: PrincipalDep, settings: SettingsDep, catalog: CatalogDep, store: BarStoreDep,
               symbol: SymbolParam, from_: FromParam = None, to: ToParam = None) -> Response:
    return _bars(Timeframe.day, symbol, from_, to, settings, catalog, store)


@router.get("/hour", response_model=BarsResponse, responses=_RESPONSES, summary="Hourly bars (UTC hours)")
def hour_bars(_principal: PrincipalDep, settings: SettingsDep, catalog: CatalogDep, store: BarStoreDep,
              symbol: SymbolParam, from_: FromParam = None, to: ToParam = None) -> Response:
    return _bars(Timeframe.hour, symbol, from_, to, settings, catalog, store)


@router.get("/minute", response_model=BarsResponse, responses=_RESPONSES,
            summary="Minute bars, optionally aggregated into wider buckets; one call covers at most "
                    "`minute_range_cap_days` of data per minute of bucket width")
def minute_bars(_principal: PrincipalDep, settings: SettingsDep, catalog: CatalogDep, store: BarStoreDep,
                symbol: SymbolParam, from_: FromParam = None, to: ToParam = None,
                bucket_minutes: BucketParam = None) -> Response:
    return _bars(Timeframe.minute, symbol, from_, to, settings, catalog, store, bucket_minutes)
