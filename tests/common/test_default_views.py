"""The frontend's default views, their cache keys, and the prewarm queue's naming and encoding."""

from __future__ import annotations

from common.default_views import (
    CHART_TARGET_POINTS,
    YEAR_S,
    ChartView,
    is_default_run_query,
    run_chart_view,
    symbol_views,
)
from common.keys import KeySpace
from common.models.bars import ChartTimeframe
from common.prewarm_queue import deserialize_job, serialize_job, versions_digest

LAST_MINUTE, LAST_HOUR = 1_767_225_540, 1_767_222_000


def _symbol(*timeframes: str) -> dict:
    last = {"minute": LAST_MINUTE, "hour": LAST_HOUR, "day": 1_767_139_200}
    return {"symbol": "ACME", "datasets": [
        {"timeframe": t, "first_time": 1_735_689_600, "last_time": last[t], "rows": 10, "data_version": 3}
        for t in timeframes]}


def test_a_symbol_page_opens_daily_hourly_and_decimated_minutes_over_the_last_year():
    views = symbol_views(_symbol("minute", "hour", "day"))
    assert views == [
        ChartView("ACME", ChartTimeframe.day),
        ChartView("ACME", ChartTimeframe.hour, LAST_HOUR - YEAR_S, LAST_HOUR),
        ChartView("ACME", ChartTimeframe.minute_decimated, LAST_MINUTE - YEAR_S, LAST_MINUTE, CHART_TARGET_POINTS)]
    assert views[0].query() == {"symbol": "ACME", "timeframe": "1D"}
    assert views[2].query() == {"symbol": "ACME", "timeframe": "1M_DECIMATED", "from_date": str(LAST_MINUTE - YEAR_S),
                                "to_date": str(LAST_MINUTE), "target_points": "10000"}
    # Timeframes without bars have no view.
    assert [v.timeframe for v in symbol_views(_symbol("hour"))] == [ChartTimeframe.hour]
    empty = _symbol("day")
    empty["datasets"][0]["rows"] = 0
    assert symbol_views(empty) == []


def test_a_run_page_opens_its_complete_response_and_its_chart_over_its_range():
    run = {"symbol": "BTCUSD", "timeframe": "minute", "from_time": 100, "to_time": 200}
    assert run_chart_view(run) == ChartView("BTCUSD", ChartTimeframe.minute_decimated, 100, 200, CHART_TARGET_POINTS)
    assert run_chart_view({**run, "timeframe": "hour"}) == ChartView("BTCUSD", ChartTimeframe.hour, 100, 200)
    assert run_chart_view({**run, "timeframe": "day"}).timeframe is ChartTimeframe.day
    # The run page asks for its orders too.
    assert is_default_run_query(2000, True) and not is_default_run_query(2000, False)
    assert not is_default_run_query(500, True)


def test_a_view_is_cached_under_the_api_key_of_its_query_and_version():
    keys = KeySpace("hw")
    view = ChartView("A.B", ChartTimeframe.minute_decimated, 1, 2, 10)
    key = view.cache_key(keys, 7)
    assert key == keys.chart_data("A.B", "1M_DECIMATED", 7, 1, 2, 10) == "hw:chart:A.B:1M_DECIMATED:v7:1:2:10"
    assert keys.chart_data_version(key) == ("A.B", "1M_DECIMATED", 7)
    assert keys.chart_data_version(ChartView("X", ChartTimeframe.day).cache_key(keys, 12)) == ("X", "1D", 12)
    assert keys.chart_data_version(keys.run_complete("r", 2000, False)) is None
    assert keys.chart_data_version("hw:chart:X:1D:vx:-:-:-") is None
    assert keys.prewarm_job(key) == "hw:prewarm:" + key
    assert keys.drop_stale_charts_job("ab") == "hw:prewarm:drop-stale:ab"
    assert keys.discovery_cron() == "hw:prewarm:discover" and keys.prewarm_queue() == "hw:prewarm:queue"


def test_jobs_travel_as_json_and_versions_have_one_name_in_any_order():
    encoded = serialize_job({"f": "warm_run", "a": ["r1"], "r": ValueError("bad")})
    assert deserialize_job(encoded) == {"f": "warm_run", "a": ["r1"], "r": "ValueError: bad"}
    assert versions_digest({"A/minute": 1, "B/day": 2}) == versions_digest({"B/day": 2, "A/minute": 1})
    assert versions_digest({"A/minute": 1}) != versions_digest({"A/minute": 2})
