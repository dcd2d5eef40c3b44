"""The views the frontend opens first, defined once: the worker keeps them warm and the api recognises them.

A symbol's page opens three charts, each a ``GET /api/v1/chart-data`` request:

- daily candles over the whole range: ``timeframe=1D`` with no dates;
- hourly candles over the last year of hourly data: ``timeframe=1H``, ``from_date`` = the last hourly bar's
  time minus 365 days, ``to_date`` = the last hourly bar's time (both as epoch seconds);
- minute candles decimated to ``CHART_TARGET_POINTS`` over the last year of minute data:
  ``timeframe=1M_DECIMATED``, the same range rule over the minute bars, ``target_points=10000``.

A run's page opens ``GET /api/v1/runs/{id}/complete`` with equity decimated to ``RUN_EQUITY_TARGET_POINTS`` and
its orders (``include_orders=true``: the page shows the orders table; :func:`run_page_query`), and its
symbol's chart over the run's range (``from_date`` = the run's ``from_time``, ``to_date`` = its ``to_time``):
``1M_DECIMATED`` at ``CHART_TARGET_POINTS`` for a run on minute bars, ``1H`` for hourly runs, ``1D`` for daily
runs.

Each view is exactly the query the frontend sends (:meth:`ChartView.query`): the api caches a response under
a key built from the query, so only the identical request finds what the worker stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from common.keys import KeySpace
from common.models.bars import ChartTimeframe, Timeframe

# The api's own defaults for the same parameters, so a request that leaves them out asks for the same view.
CHART_TARGET_POINTS = 10_000
RUN_EQUITY_TARGET_POINTS = 2_000
RUN_INCLUDE_ORDERS = False
# What the run page asks for, unlike the api's default: orders are heavy, but the page lists them.
RUN_PAGE_INCLUDE_ORDERS = True

YEAR_S = 365 * 86400

_RUN_CHART = {Timeframe.minute: ChartTimeframe.minute_decimated, Timeframe.hour: ChartTimeframe.hour,
              Timeframe.day: ChartTimeframe.day}


@dataclass(frozen=True)
class ChartView:
    """One chart-data request: the symbol as the backend spells it, the timeframe, the range and the target."""

    symbol: str
    timeframe: ChartTimeframe
    from_s: int | None = None
    to_s: int | None = None
    # Only 1M_DECIMATED has a target; the other timeframes return the backend's bars as they are.
    target_points: int | None = None

    def cache_key(self, keys: KeySpace, data_version: int) -> str:
        """The api's cache key of this view at ``data_version`` (of the dataset it is built from)."""
        return keys.chart_data(self.symbol, self.timeframe.value, data_version, self.from_s, self.to_s,
                               self.target_points)

    def query(self) -> dict[str, str]:
        """The query string of ``GET /api/v1/chart-data`` for this view."""
        params = {"symbol": self.symbol, "timeframe": self.timeframe.value}
        if self.from_s is not None:
            params["from_date"] = str(self.from_s)
        if self.to_s is not None:
            params["to_date"] = str(self.to_s)
        if self.target_points is not None:
            params["target_points"] = str(self.target_points)
        return params


def _last_time(symbol_info: dict[str, Any], timeframe: Timeframe) -> int | None:
    for dataset in symbol_info.get("datasets") or ():
        if isinstance(dataset, dict) and dataset.get("timeframe") == timeframe.value and dataset.get("rows"):
            last = dataset.get("last_time")
            return last if isinstance(last, int) else None
    return None


def symbol_views(symbol_info: dict[str, Any]) -> list[ChartView]:
    """The default views of one symbol, from the backend's ``GET /symbols/{symbol}`` answer.

    Views of a timeframe the symbol has no bars of are left out.
    """
    symbol = str(symbol_info["symbol"])
    views = []
    if _last_time(symbol_info, Timeframe.day) is not None:
        views.append(ChartView(symbol, ChartTimeframe.day))
    last_hour = _last_time(symbol_info, Timeframe.hour)
    if last_hour is not None:
        views.append(ChartView(symbol, ChartTimeframe.hour, last_hour - YEAR_S, last_hour))
    last_minute = _last_time(symbol_info, Timeframe.minute)
    if last_minute is not None:
        views.append(ChartView(symbol, ChartTimeframe.minute_decimated, last_minute - YEAR_S, last_minute,
                               CHART_TARGET_POINTS))
    return views


def run_chart_view(run: dict[str, Any]) -> ChartView:
    """The chart a run's page opens, from the backend's ``GET /backtests/{id}`` answer."""
    timeframe = _RUN_CHART[Timeframe(run["timeframe"])]
    target = CHART_TARGET_POINTS if timeframe is ChartTimeframe.minute_decimated else None
    return ChartView(str(run["symbol"]), timeframe, int(run["from_time"]), int(run["to_time"]), target)


def run_page_query() -> dict[str, str]:
    """The query of the ``/runs/{id}/complete`` request a run's page opens with."""
    return {"target_points": str(RUN_EQUITY_TARGET_POINTS), "include_orders": str(RUN_PAGE_INCLUDE_ORDERS).lower()}


def is_default_run_query(target_points: int, include_orders: bool) -> bool:
    """Whether ``/runs/{id}/complete`` was asked for what a run's page opens with."""
    return target_points == RUN_EQUITY_TARGET_POINTS and include_orders == RUN_PAGE_INCLUDE_ORDERS
