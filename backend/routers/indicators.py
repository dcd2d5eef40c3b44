"""``GET /backtests/{id}/indicators``: the lines a run's strategy computed (its moving averages, bands or
oscillator) at the run's bars, each decimated like the equity curve, for charts that show why a trade fired.

Lines are always computed over the whole run, so a stretch (``from``/``to``) holds exactly the values the whole
run has there; a playback asks for the bars it has played, never later ones."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
import orjson
from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from backend.deps import PrincipalDep, RunResultsDep
from backend.routers.backtests import _RESULTS, completed_run_data
from backend.runs.equity_curve import MIN_POINTS
from backend.runs.lines import Points, RunLines, compute_indicators, indicator_points
from backend.strategies.indicators import IndicatorLine
from backend.strategies.registry import get_strategy
from backend.time_range import BAD_RANGE, FromParam, TimeRange, ToParam

router = APIRouter(prefix="/backtests", tags=["backtests"])


class IndicatorLineOut(BaseModel):
    name: str = Field(description="The line's key in the strategy (`fast`, `upper`, `rsi`)")
    label: str = Field(description="How a person reads it, with its parameters (`SMA 30`, `RSI 14`)")
    pane: Literal["price", "own"] = Field(description="`price`: over the candles; `own`: in a pane of its own")
    count: int = Field(description="Points in this response (bars where the line is defined, at most `max_points`)")
    time: list[int]
    values: list[float]


class IndicatorsResponse(BaseModel):
    run_id: str
    strategy: str
    params: dict[str, object]
    lines: list[IndicatorLineOut]
    levels: list[float] = Field(description="Reference levels of the own pane (an RSI's oversold and overbought)")


def _line(line: IndicatorLine, points: Points, keep: np.ndarray | None) -> dict[str, object]:
    t, v = points
    if keep is not None:
        t, v = t[keep], v[keep]
    return {"name": line.name, "label": line.label, "pane": line.pane, "count": int(t.shape[0]), "time": t,
            "values": v}


@router.get("/{run_id}/indicators", responses={**_RESULTS, **BAD_RANGE, 200: {"model": IndicatorsResponse}},
            summary="The strategy's own lines (moving averages, bands, oscillator) at the run's bars, columnar; "
                    "`from`/`to` narrow them to a stretch of the run")
async def get_indicators(run_id: str, principal: PrincipalDep, results: RunResultsDep,
                         max_points: Annotated[int | None, Query(ge=MIN_POINTS, le=10_000_000, description=(
                             "Return at most this many points per line, chosen by MinMaxLTTB so that each keeps "
                             "its shape. Omit for every bar."))] = None,
                         from_: FromParam = None, to: ToParam = None) -> Response:
    span = TimeRange.parse(from_, to)
    record, data = await completed_run_data(principal, run_id, results, warm=True)
    strategy = get_strategy(record.strategy)
    params = strategy.parse_params(record.params)
    bars = data.timeline.bars
    computed = compute_indicators(record.strategy, record.params, bars)
    inside = span.indices(bars.time)
    points = [indicator_points(bars.time, line.values, inside) for line in computed.lines]
    keep: list[np.ndarray | None] = [None] * len(points)
    if max_points is not None and any(t.shape[0] > max_points for t, _ in points):
        # Long lines are decimated like the equity curve: by a worker process, which computes the same lines.
        lines = RunLines.indicators(str(results.runs.run_dir(run_id)), inside, record.strategy, record.params)
        keep = list(await results.decimator.indices(lines, points, max_points))
    body = {"run_id": run_id, "strategy": strategy.name, "params": params.model_dump(mode="json"),
            "lines": [_line(line, p, k) for line, p, k in zip(computed.lines, points, keep, strict=True)],
            "levels": computed.levels}
    return Response(orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY), media_type="application/json")
