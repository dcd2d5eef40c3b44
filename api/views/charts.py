"""Chart data: which dataset a chart is built from, and its response bytes from the backend's bars.

The chart-data route and the prewarm worker both reach it through :meth:`api.views.CachedViews.chart`: the
same cache key, the same backend call, the same bytes and the same single flight, so what the worker stores is
byte for byte what the route would have computed on a miss.
"""

from __future__ import annotations

from typing import Any

from api.views.cache import Computed
from api.views.decimation import bucket_width_minutes
from api.views.queries import ChartDataQuery
from api.views.transform import encode_chart, split_bars
from api.views.upstream import Upstream
from common.default_views import ChartView
from common.errors import NotFound
from common.models.bars import ChartTimeframe


def chart_view(query: ChartDataQuery, symbol: str) -> ChartView:
    """The view a request asks for, with the symbol as the backend spells it (so `aapl` and `AAPL` share)."""
    decimated = query.timeframe is ChartTimeframe.minute_decimated
    return ChartView(symbol, query.timeframe, query.from_s, query.to_s, query.target_points if decimated else None)


def chart_dataset(symbol_info: dict[str, Any], chart: ChartTimeframe) -> dict[str, Any]:
    """The backend's description of the bars ``chart`` is built from; 404 naming the chart timeframes there are.

    A symbol loaded from hourly or daily bars has no minute bars (and a daily one no hourly bars either).
    """
    datasets = [d for d in symbol_info.get("datasets") or () if isinstance(d, dict)]
    source = chart.source  # a str enum: equal to the backend's name of the timeframe
    for dataset in datasets:
        if dataset.get("timeframe") == source and isinstance(dataset.get("data_version"), int):
            return dataset
    have = {d.get("timeframe") for d in datasets if d.get("rows")}
    available = [c.value for c in ChartTimeframe if c.source.value in have]
    symbol = symbol_info.get("symbol", "this symbol")
    raise NotFound(f"{chart.value} is not available for {symbol}: it has no {chart.source.value} bars "
                   f"(available: {', '.join(available) or 'none'})")


def _bucket_minutes(minutes: dict[str, Any], from_s: int | None, to_s: int | None, target_points: int) -> int:
    """Bucket width for ``target_points``, over the requested range clipped to the minute data there is."""
    first, last = minutes.get("first_time"), minutes.get("last_time")
    if not isinstance(first, int) or not isinstance(last, int):
        return 1
    lo = first if from_s is None else max(from_s, first)
    hi = last if to_s is None else min(to_s, last)
    return bucket_width_minutes(lo, hi, target_points) if lo <= hi else 1


async def compute_chart(upstream: Upstream, authorization: str | None, view: ChartView,
                        dataset: dict[str, Any]) -> Computed:
    """The response bytes of ``view`` from the backend's bars; not cacheable if the data changed meanwhile."""
    params = {"symbol": view.symbol}
    if view.from_s is not None:
        params["from"] = str(view.from_s)
    if view.to_s is not None:
        params["to"] = str(view.to_s)
    if view.target_points is not None:
        width = _bucket_minutes(dataset, view.from_s, view.to_s, view.target_points)
        if width > 1:
            params["bucket_minutes"] = str(width)
    path = f"/bars/{view.timeframe.backend_path}"
    response = await upstream.get_ok(path, route=path, authorization=authorization, params=params)
    bars = split_bars(response.content)
    served_version = bars.meta["data_version"]
    raw = encode_chart(symbol=view.symbol, timeframe=view.timeframe.value, data_version=served_version,
                       from_date=view.from_s, to_date=view.to_s, target_points=view.target_points, bars=bars)
    # An ingest between the two backend calls: answer with what we got, but never under the old version.
    return Computed(raw, cacheable=served_version == dataset["data_version"])
