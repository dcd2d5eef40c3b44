"""``GET /backtests/{id}/trades``: a run's round-trip trades (entry to exit), each with its maximum adverse and
favourable excursion taken from the run's own bars (see ``backend.runs.round_trips``)."""

from __future__ import annotations

from typing import Literal

import orjson
from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, Field

from backend.deps import PrincipalDep, RunResultsDep
from backend.routers.backtests import _RESULTS, completed_run_data
from backend.runs.round_trips import round_trips

router = APIRouter(prefix="/backtests", tags=["backtests"])


class RoundTripOut(BaseModel):
    number: int = Field(description="1-based, in time order")
    side: Literal["long", "short"]
    entry_bar: int
    entry_time: int
    entry_price: float = Field(description="Size-weighted price of the fills that opened it")
    exit_bar: int | None = Field(description="Null while the trade is still open at the run's end")
    exit_time: int | None
    exit_price: float | None = Field(description="Size-weighted price of the fills that closed it")
    size: float = Field(description="The largest position held, in units")
    pnl: float = Field(description="Net of every fee paid on it; a trade still open is marked at the last close")
    return_: float = Field(alias="return", description="PnL against the money put in at entry (price × size)")
    fees: float
    fills: int
    mae: float = Field(description="Maximum adverse excursion: the worst unrealised return while open (≤ 0)")
    mfe: float = Field(description="Maximum favourable excursion: the best unrealised return while open (≥ 0)")
    mae_pnl: float = Field(description="MAE in money for the trade's size")
    mfe_pnl: float = Field(description="MFE in money for the trade's size")


class TradesResponse(BaseModel):
    run_id: str
    count: int
    trades: list[RoundTripOut]


@router.get("/{run_id}/trades", responses={**_RESULTS, 200: {"model": TradesResponse}},
            summary="Round-trip trades with their maximum adverse and favourable excursions (MAE/MFE)")
async def get_trades(run_id: str, principal: PrincipalDep, results: RunResultsDep) -> Response:
    _record, data = await completed_run_data(principal, run_id, results)
    rows = round_trips(data.fills, data.timeline.bars)
    return Response(orjson.dumps({"run_id": run_id, "count": len(rows), "trades": rows}),
                    media_type="application/json")
