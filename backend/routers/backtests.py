"""Backtest runs: create (queued, run in the background), list, read results, share read-only.

A run the caller may not see is a 404, exactly like a run that does not exist. Results of a run that has not
completed are a 409 ``run_not_completed``. Large series are encoded by orjson straight from numpy arrays.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from backend.auth import Principal
from backend.catalog import Catalog
from backend.deps import CatalogDep, ExecutorDep, PrincipalDep, RunResults, RunResultsDep, RunsDep
from backend.engine.semantics import describe
from backend.engine.simulate import fractional_by_default
from backend.engine.spec import RunSpec
from backend.market.availability import missing_timeframe
from backend.market.validate import symbol_param
from backend.playback.data import PlaybackData
from backend.runs.artifacts import read_metrics
from backend.runs.equity_curve import MIN_POINTS, equity_curve
from backend.runs.lines import RunLines, equity_points
from backend.runs.repository import RunRecord, RunRepository
from backend.strategies.registry import get_strategy, strategies
from backend.time_range import BAD_RANGE, FromParam, TimeRange, ToParam
from common.errors import BadRequest, HewstonError, InvalidInput
from common.models.backtests import (
    BacktestRequest,
    EquityResponse,
    MetricsResponse,
    OrdersResponse,
    RunDetail,
    RunList,
    ShareRequest,
    StrategiesResponse,
    StrategyInfo,
)
from common.spliceable_gzip import SPLICEABLE_HEADER, SPLICEABLE_VALUE, accepts_gzip, spliceable_gzip

router = APIRouter(prefix="/backtests", tags=["backtests"])

_NOT_VISIBLE = {404: {"description": "No such run, or the caller may not see it"}}
_RESULTS = {**_NOT_VISIBLE, 409: {"description": "The run has not completed (`run_not_completed`)"}}


class Forbidden(HewstonError):
    status_code = 403
    code = "forbidden"


def detail(record: RunRecord, principal: Principal, runs: RunRepository) -> RunDetail:
    is_owner = principal.user_id == record.owner_id
    return RunDetail(
        id=record.id, owner=record.owner, symbol=record.symbol, timeframe=record.timeframe,
        strategy=record.strategy, mode=record.mode, params=record.params, from_time=record.from_time,
        to_time=record.to_time, cash=record.cash, commission_rate=record.commission_rate,
        fixed_fee=record.fixed_fee, slippage_bps=record.slippage_bps, fractional=record.fractional,
        warmup=record.warmup, status=record.status, progress=record.progress, error=record.error,
        created_at=record.created_at, started_at=record.started_at, finished_at=record.finished_at, bars=record.bars,
        periods_per_year=record.periods_per_year if record.periods_per_year is not None
        else record.requested_periods_per_year, semantics=record.semantics,
        shared_with=runs.shared_with(record.id) if is_owner else [],
        can_control=runs.can_control(principal, record),
    )


def _encode(body: dict) -> bytes:
    return orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY)


def _json(body: dict) -> Response:
    return Response(_encode(body), media_type="application/json")


def validate_spec(body: BacktestRequest, catalog: Catalog) -> RunSpec:
    """Everything a run needs, checked before it is queued; each problem is a 422 naming its field."""
    strategy = get_strategy(body.strategy)
    params = strategy.parse_params(body.params)
    symbol = symbol_param(body.symbol, location="body")
    instrument = catalog.instrument(symbol)
    if instrument is None:
        raise InvalidInput("symbol", f"unknown symbol {symbol!r}", location="body")
    dataset = catalog.dataset(symbol, body.timeframe)
    if dataset is None or not dataset.rows:
        raise InvalidInput("timeframe", missing_timeframe(catalog, symbol, body.timeframe), location="body")
    start = body.from_time if body.from_time is not None else dataset.first_time
    end = body.to_time if body.to_time is not None else dataset.last_time
    if start > end:
        raise InvalidInput("from", "must not be after `to`", location="body")
    if start > dataset.last_time or end < dataset.first_time:
        raise InvalidInput("from", f"no {body.timeframe.value} bars of {symbol} in the range: data covers "
                                   f"{dataset.first_time} to {dataset.last_time}", location="body")
    fractional = body.fractional if body.fractional is not None else fractional_by_default(instrument.asset_class)
    return RunSpec(symbol=symbol, timeframe=body.timeframe, strategy=strategy.name, mode=body.mode.value,
                   params=params.model_dump(mode="json"), from_time=start, to_time=end, cash=body.cash,
                   commission_rate=body.commission_rate, fixed_fee=body.fixed_fee,
                   slippage_bps=body.slippage_bps, fractional=fractional, warmup=body.warmup,
                   requested_periods_per_year=body.periods_per_year)


@router.get("/strategies", summary="Built-in strategies with their parameters, bounds and defaults")
def list_strategies(_principal: PrincipalDep) -> StrategiesResponse:
    return StrategiesResponse(strategies=[
        StrategyInfo(name=s.name, title=s.title, description=s.description, defaults=s.defaults(),
                     params_schema=s.params_model.model_json_schema())
        for s in strategies().values()
    ])


@router.post("", status_code=202, summary="Queue a backtest; it runs in the background",
             responses={400: {"description": "The service principal cannot own runs"},
                        422: {"description": "A bad field; `details` names it (e.g. `params.fast`, `symbol`)"}})
def create_backtest(body: BacktestRequest, principal: PrincipalDep, runs: RunsDep, catalog: CatalogDep,
                    executor: ExecutorDep) -> RunDetail:
    if principal.user_id is None:
        raise BadRequest("the service principal reads runs but cannot own them; use a user's token")
    spec = validate_spec(body, catalog)
    record = runs.create(principal.user_id, spec, describe(spec))
    executor.submit(record.id)
    return detail(record, principal, runs)


@router.get("", summary="Runs the caller owns or that are shared with them, newest first")
def list_backtests(principal: PrincipalDep, runs: RunsDep,
                   limit: Annotated[int, Query(ge=1, le=200)] = 50,
                   offset: Annotated[int, Query(ge=0, le=2**62)] = 0) -> RunList:
    page = runs.list_visible(principal, limit, offset)
    return RunList(items=[detail(r, principal, runs) for r in page.items], total=page.total, limit=limit,
                   offset=offset)


@router.get("/{run_id}", responses=_NOT_VISIBLE, summary="One run: parameters, status and progress")
async def get_backtest(run_id: str, principal: PrincipalDep, runs: RunsDep) -> RunDetail:
    return detail(runs.visible(principal, run_id), principal, runs)


_ORDERS_GZIP = "orders.gz"
_METRICS = "metrics"
# isa-l's fastest level: 2.7 MB of orders compress in a few ms, once per run, to about a sixth.
_GZIP_LEVEL = 1
# Below this, handing the compression to a thread costs more than compressing in place (isa-l's level 1 takes
# about 0.2 ms for the 100 KB of a 2,000-point equity curve).
_COMPRESS_OFF_LOOP_BYTES = 256 * 1024
_VARY = {"Vary": "Accept-Encoding"}
_SPLICEABLE_HEADERS = {**_VARY, "Content-Encoding": "gzip", SPLICEABLE_HEADER: SPLICEABLE_VALUE}


def _gzip_answer(model: type, document: str, kept: str) -> dict:
    """The OpenAPI description of an answer sent as a spliceable gzip body when the request takes gzip."""
    return {
        "model": model,
        "description": f"{document} Sent gzip-compressed (`Content-Encoding: gzip`) when the request's "
                       f"`Accept-Encoding` takes gzip: compressed once {kept} and kept, so a repeated request costs "
                       f"no compression. That body is marked `{SPLICEABLE_HEADER}: {SPLICEABLE_VALUE}` and laid out so "
                       "another gzip body can take it in whole: the fixed header `1f 8b 08 00 00 00 00 00 00 ff`, the "
                       "document as a deflate stream ended with a sync flush, an empty final block (`03 00`), and "
                       "the CRC-32 and length of the document.",
        "headers": {"Content-Encoding": {"description": "`gzip` when the request took it",
                                         "schema": {"type": "string"}},
                    "Vary": {"description": "`Accept-Encoding`", "schema": {"type": "string"}},
                    SPLICEABLE_HEADER: {"description": f"`{SPLICEABLE_VALUE}` on a gzip body laid out as above",
                                        "schema": {"type": "string"}}},
    }


_ORDERS_ANSWER = _gzip_answer(OrdersResponse, "The orders document.", "per run")
_EQUITY_ANSWER = _gzip_answer(EquityResponse, "The equity document.",
                              "per run and request (`max_points`, `from`, `to`)")


async def _spliceable_answer(data: PlaybackData, key: Hashable, plain: Callable[[], bytes]) -> Response:
    """The document ``plain()`` builds as a spliceable gzip body, compressed once and kept with the run under
    ``key`` (pinned for the orders, of which a run has one)."""
    body = data.encoded.get(key)
    if body is None:
        # isa-l releases the GIL: a large document compresses on a thread while the loop serves others. Two first
        # requests at once both compress; the bytes are the same (deterministic compressor), so either may be kept.
        document = plain()
        body = (spliceable_gzip(document, _GZIP_LEVEL) if len(document) < _COMPRESS_OFF_LOOP_BYTES
                else await asyncio.to_thread(spliceable_gzip, document, _GZIP_LEVEL))
        data.encoded.keep(key, body, pinned=key == _ORDERS_GZIP)
    return Response(body, media_type="application/json", headers=_SPLICEABLE_HEADERS)


@router.get("/{run_id}/metrics", responses={**_RESULTS, 200: {"model": MetricsResponse}},
            summary="Performance metrics (definitions in the engine docs)")
async def get_metrics(run_id: str, principal: PrincipalDep, results: RunResultsDep) -> Response:
    record = results.runs.completed(principal, run_id)
    data = results.loaded.loaded(run_id)
    if data is None:
        # Not worth loading the run's bars for: one small file.
        return _json(_metrics_document(run_id, record, results.runs))
    # A completed run's metrics never change: kept with its loaded data, as the orders are, so a complete run's
    # page (which loads the run for its curve) reads the file once. The access check above still runs.
    body = data.encoded.get(_METRICS)
    if body is None:
        body = data.encoded.keep(_METRICS, _encode(_metrics_document(run_id, record, results.runs)), pinned=True)
    return Response(body, media_type="application/json")


def _metrics_document(run_id: str, record: RunRecord, runs: RunRepository) -> dict:
    metrics = read_metrics(runs.run_dir(run_id))
    return {"run_id": run_id, "periods_per_year": record.periods_per_year, "metrics": metrics}


@router.get("/{run_id}/equity", responses={**_RESULTS, **BAD_RANGE, 200: _EQUITY_ANSWER},
            summary="Equity and drawdown at every bar's close (or at most `max_points` of them), columnar; "
                    "`from`/`to` narrow it to a stretch of the run, decimated within that stretch")
async def get_equity(run_id: str, request: Request, principal: PrincipalDep, results: RunResultsDep,
                     max_points: Annotated[int | None, Query(ge=MIN_POINTS, le=10_000_000, description=(
                         "Return at most this many points, chosen by MinMaxLTTB so that the curve keeps its "
                         "shape; drawdown is taken at the same points. Omit for every bar."))] = None,
                     from_: FromParam = None, to: ToParam = None) -> Response:
    # A zoomed chart asks for its visible stretch only, and gets up to `max_points` inside it.
    span = TimeRange.parse(from_, to)
    _record, data = await completed_run_data(principal, run_id, results, warm=True)
    # The caller passed the access check above; the curve itself is the same for everyone who may see the run.
    shape = ("equity", span.start, span.end, max_points)
    body = data.encoded.get(shape)
    if body is None:
        # Two first requests at once both build; the bytes are the same, so either may be kept.
        body = data.encoded.keep(shape, await _equity_document(run_id, results, data, span, max_points))
    if not accepts_gzip(request.headers.get("accept-encoding")):
        return Response(body, media_type="application/json", headers=_VARY)
    return await _spliceable_answer(data, ("gzip", *shape), lambda: body)


async def _equity_document(run_id: str, results: RunResults, data: PlaybackData, span: TimeRange,
                           max_points: int | None) -> bytes:
    timeline = data.timeline
    inside = span.indices(timeline.bars.time)
    time, equity = equity_points(timeline.bars.time, timeline.equity, inside)
    columns = {"time": time, "equity": equity, "drawdown": timeline.drawdown[inside]}
    keep = None
    if max_points is not None and time.shape[0] > max_points:
        # A long curve is decimated by a worker process (tsdownsample holds the GIL, so neither the loop nor a
        # thread could serve anything else meanwhile); the document is built here from the run's own arrays.
        lines = RunLines.equity(str(results.runs.run_dir(run_id)), inside)
        (keep,) = await results.decimator.indices(lines, [(time, equity)], max_points)
    return _encode({"run_id": run_id, **equity_curve(columns, max_points, keep)})


@router.get("/{run_id}/orders", responses={**_RESULTS, 200: _ORDERS_ANSWER}, summary="Every fill in time order")
async def get_orders(run_id: str, request: Request, principal: PrincipalDep, results: RunResultsDep) -> Response:
    _record, data = await completed_run_data(principal, run_id, results)
    if not accepts_gzip(request.headers.get("accept-encoding")):
        return Response(_orders_document(run_id, data), media_type="application/json", headers=_VARY)
    return await _spliceable_answer(data, _ORDERS_GZIP, lambda: _orders_document(run_id, data))


def _orders_document(run_id: str, data: PlaybackData) -> bytes:
    head = b'{"run_id":' + orjson.dumps(run_id) + b',"count":' + str(len(data.fills)).encode("ascii")
    return head + b',"orders":' + data.fills_json + b"}"


async def completed_run_data(principal: Principal, run_id: str, results: RunResults,
                             warm: bool = False) -> tuple[RunRecord, PlaybackData]:
    """A completed run the caller may see, and its data as playback loads it: charts of a run that is being
    watched never touch the disk. With ``warm``, a long run that is not loaded yet is read by a decimation
    worker at the same time, so that its first curve does not wait for that read."""
    runs = results.runs
    record = runs.completed(principal, run_id)
    if warm and run_id not in results.loaded:
        results.decimator.warm(str(runs.run_dir(run_id)), record.bars or 0)
    return record, await results.loaded.get(run_id, lambda: PlaybackData.load(runs.run_dir(run_id), record.cash))


def _owned(principal: Principal, run_id: str, runs: RunRepository) -> RunRecord:
    record = runs.visible(principal, run_id)
    if principal.user_id != record.owner_id:
        raise Forbidden("only the run's owner can change who it is shared with")
    return record


@router.post("/{run_id}/shares", responses={**_NOT_VISIBLE, 403: {"description": "The caller is not the owner"}},
             summary="Share the run read-only with another user")
def share_backtest(run_id: str, body: ShareRequest, principal: PrincipalDep, runs: RunsDep) -> RunDetail:
    record = _owned(principal, run_id, runs)
    runs.share(run_id, body.user)
    return detail(record, principal, runs)


@router.delete("/{run_id}/shares/{user}", responses={**_NOT_VISIBLE, 403: {"description": "Not the owner"}},
               summary="Stop sharing the run with a user (idempotent)")
def unshare_backtest(run_id: str, user: str, principal: PrincipalDep, runs: RunsDep) -> RunDetail:
    record = _owned(principal, run_id, runs)
    runs.unshare(run_id, user)
    return detail(record, principal, runs)
