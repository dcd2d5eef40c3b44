"""``GET /symbols`` and ``GET /symbols/{symbol}``: instruments with their datasets and data versions.

The BFF calls ``/symbols/{symbol}`` before serving cached chart data, so it stays two small catalog reads.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated

from fastapi import APIRouter, Path

from backend.catalog import Catalog, DatasetRecord
from backend.deps import CatalogDep, PrincipalDep
from backend.market.validate import symbol_param
from common.errors import NotFound
from common.models.bars import SYMBOL_SCHEMA, Instrument, SymbolInfo, SymbolsResponse

router = APIRouter(tags=["market data"])


def _info(instrument: Instrument, catalog: Catalog, datasets: list[DatasetRecord] | None = None) -> SymbolInfo:
    records = datasets if datasets is not None else catalog.datasets(instrument.symbol)
    return SymbolInfo(**instrument.model_dump(), datasets=[record.info() for record in records])


@router.get("/symbols", response_model=SymbolsResponse, summary="Every instrument with its datasets")
def list_symbols(_principal: PrincipalDep, catalog: CatalogDep) -> SymbolsResponse:
    by_symbol: defaultdict[str, list[DatasetRecord]] = defaultdict(list)
    for record in catalog.datasets():
        by_symbol[record.symbol].append(record)
    return SymbolsResponse(symbols=[_info(instrument, catalog, by_symbol[instrument.symbol])
                                    for instrument in catalog.instruments()])


@router.get("/symbols/{symbol}", response_model=SymbolInfo, summary="One instrument with its datasets",
            responses={404: {"description": "Unknown symbol"}})
def get_symbol(symbol: Annotated[str, Path(json_schema_extra=SYMBOL_SCHEMA)], _principal: PrincipalDep,
               catalog: CatalogDep) -> SymbolInfo:
    symbol = symbol_param(symbol, location="path")
    instrument = catalog.instrument(symbol)
    if instrument is None:
        raise NotFound(f"unknown symbol {symbol}")
    return _info(instrument, catalog)
