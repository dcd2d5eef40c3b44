"""Synthetic demo data: a year (2025, UTC) of minute bars for four instruments, and two demo users.

The bars are generated, not recorded, and are marked synthetic in the catalog. They are deterministic (a fixed
seed per instrument) and shaped like real markets: fat-tailed log returns whose volatility follows a U shape
over each trading day, volume that follows the same shape and rises with the size of the move, and a gap at
every session open. Each instrument trades its own hours:

- ACME, GLOBEX (equities): 09:30-16:00 New York time on NYSE trading days (DST-aware; 2025 holidays and
  early closes at 13:00 observed).
- EURUSD (FX): 24x5, from Sunday 22:00 UTC to Friday 22:00 UTC.
- BTCUSD (crypto): 24x7, every minute of the year (525,600 bars).

The demo tokens are public on purpose (they are printed and documented) and only ever grant the demo users.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from backend.auth import hash_token
from backend.catalog import Catalog
from backend.demo.runs import create_demo_runs
from backend.market.bars import BarArrays
from backend.market.ingest import store_bars
from backend.market.store import BarStore
from backend.runs.repository import RunRepository
from backend.settings import BackendSettings
from common.models.bars import AssetClass, Instrument, Timeframe

DEMO_SEED = 20250101
YEAR_START = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp())
YEAR_END = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())  # exclusive
DEMO_USERS = {"alice": "hw_demo_alice", "bob": "hw_demo_bob", "ops": "hw_demo_ops"}
# Demo users that `hewston up` makes operators (unless HEWSTON_OPERATORS says otherwise).
DEMO_OPERATORS = ["ops"]

NEW_YORK = ZoneInfo("America/New_York")
# NYSE calendar for 2025: full closures (incl. the national day of mourning on 9 January) and 13:00 closes.
NYSE_HOLIDAYS_2025 = frozenset(date.fromisoformat(d) for d in (
    "2025-01-01", "2025-01-09", "2025-01-20", "2025-02-17", "2025-04-18", "2025-05-26", "2025-06-19",
    "2025-07-04", "2025-09-01", "2025-11-27", "2025-12-25"))
NYSE_EARLY_CLOSES_2025 = frozenset(date.fromisoformat(d) for d in ("2025-07-03", "2025-11-28", "2025-12-24"))

_MINUTE = 60
_WEEK = 7 * 86400
_SUNDAY = 3 * 86400  # 1970-01-04, the first Sunday after the epoch
_FX_OPEN, _FX_CLOSE = 22 * 3600, 5 * 86400 + 22 * 3600  # seconds after Sunday 00:00 UTC


@dataclass(frozen=True)
class DemoInstrument:
    instrument: Instrument
    start_price: float
    annual_volatility: float
    annual_drift: float
    price_decimals: int
    base_volume: float


DEMO_INSTRUMENTS = (
    DemoInstrument(Instrument(symbol="ACME", name="Acme Corporation (synthetic)", asset_class=AssetClass.equity,
                              synthetic=True), 120.0, 0.28, 0.08, 2, 2_500.0),
    DemoInstrument(Instrument(symbol="GLOBEX", name="Globex Industries (synthetic)",
                              asset_class=AssetClass.equity, synthetic=True), 45.0, 0.40, 0.04, 2, 6_000.0),
    DemoInstrument(Instrument(symbol="EURUSD", name="Euro / US dollar (synthetic)", asset_class=AssetClass.fx,
                              synthetic=True), 1.035, 0.08, 0.0, 5, 180.0),
    DemoInstrument(Instrument(symbol="BTCUSD", name="Bitcoin / US dollar (synthetic)",
                              asset_class=AssetClass.crypto, synthetic=True), 94_000.0, 0.55, 0.10, 2, 12.0),
)


@dataclass(frozen=True)
class DemoDataset:
    symbol: str
    asset_class: AssetClass
    rows: int
    data_version: int


@dataclass(frozen=True)
class DemoUser:
    name: str
    token: str


@dataclass
class DemoSummary:
    """What ``create_demo_data`` made (or found, when ``created`` is False)."""

    created: bool
    datasets: list[DemoDataset] = field(default_factory=list)
    users: list[DemoUser] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = ["demo data " + ("created" if self.created else "already present; nothing to do"), "symbols:"]
        out += [f"  {d.symbol:<8} {d.asset_class.value:<7} {d.rows:>9,} minute bars  (data version "
                f"{d.data_version}, synthetic)" for d in self.datasets]
        out.append("demo tokens (use as 'Authorization: Bearer <token>'):")
        out += [f"  {u.name:<8} {u.token}" for u in self.users]
        return out


# Trading sessions ---------------------------------------------------------------------------------------------

def equity_session_times(start: int = YEAR_START, end: int = YEAR_END) -> np.ndarray:
    """Minute open times of NYSE regular sessions in ``[start, end)``."""
    opens, lengths = [], []
    day, last_day = datetime.fromtimestamp(start, UTC).date(), datetime.fromtimestamp(end - 1, UTC).date()
    while day <= last_day:
        if day.weekday() < 5 and day not in NYSE_HOLIDAYS_2025:
            # zoneinfo resolves the New York offset of that very day, so DST changes move the UTC session.
            opens.append(int(datetime(day.year, day.month, day.day, 9, 30, tzinfo=NEW_YORK).timestamp()))
            lengths.append(210 if day in NYSE_EARLY_CLOSES_2025 else 390)
        day += timedelta(days=1)
    counts = np.asarray(lengths, np.int64)
    firsts = np.repeat(np.asarray(opens, np.int64), counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    times = firsts + offsets * _MINUTE
    return times[(times >= start) & (times < end)]


def fx_session_times(start: int = YEAR_START, end: int = YEAR_END) -> np.ndarray:
    """Minute open times of the 24x5 FX week (Sunday 22:00 to Friday 22:00 UTC) in ``[start, end)``."""
    times = np.arange(start, end, _MINUTE, dtype=np.int64)
    in_week = (times - _SUNDAY) % _WEEK
    return times[(in_week >= _FX_OPEN) & (in_week < _FX_CLOSE)]


def crypto_session_times(start: int = YEAR_START, end: int = YEAR_END) -> np.ndarray:
    return np.arange(start, end, _MINUTE, dtype=np.int64)


_SESSIONS = {AssetClass.equity: equity_session_times, AssetClass.fx: fx_session_times,
             AssetClass.crypto: crypto_session_times}


# Prices -------------------------------------------------------------------------------------------------------

def _day_fraction(times: np.ndarray, asset_class: AssetClass) -> np.ndarray:
    """Position of each bar within its trading day, 0 at the open and 1 at the close."""
    if asset_class is AssetClass.equity:
        starts = np.flatnonzero(np.concatenate(([True], np.diff(times) > _MINUTE)))
        lengths = np.diff(np.append(starts, len(times)))
        position = np.arange(len(times)) - np.repeat(starts, lengths)
        return position / np.maximum(np.repeat(lengths, lengths) - 1, 1)
    # Round-the-clock markets: the FX day rolls at 22:00 UTC (the New York close), crypto's at midnight UTC.
    roll = _FX_OPEN if asset_class is AssetClass.fx else 0
    return ((times - roll) % 86400) / 86400


def generate_bars(spec: DemoInstrument, times: np.ndarray, rng: np.random.Generator) -> BarArrays:
    """Minute bars over ``times``: fat-tailed returns with U-shaped intraday volatility and session gaps."""
    n = len(times)
    sigma = spec.annual_volatility / np.sqrt(n)  # per-bar volatility so that the year has the annual figure
    x = _day_fraction(times, spec.instrument.asset_class)
    u_shape = 1.0 + 2.0 * (2.0 * x - 1.0) ** 2
    u_shape /= u_shape.mean()
    df = 4.0
    shocks = rng.standard_t(df, n) * np.sqrt((df - 2.0) / df)  # unit variance, fat tails
    returns = spec.annual_drift / n + sigma * u_shape * shocks
    # A gap at each session open: the price moved while the market was closed, by the time that passed.
    idle_minutes = np.concatenate(([0], np.diff(times) // _MINUTE - 1))
    gaps = np.where(idle_minutes > 0, rng.normal(0.0, 0.35, n) * sigma * np.sqrt(idle_minutes), 0.0)
    log_close = np.log(spec.start_price) + np.cumsum(gaps + returns)
    log_open = np.concatenate(([np.log(spec.start_price)], log_close[:-1])) + gaps
    open_, close = np.exp(log_open), np.exp(log_close)
    wick = sigma * u_shape * 0.6
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0.0, 1.0, n)) * wick)
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0.0, 1.0, n)) * wick)
    # Prices are quoted in whole ticks (rounding to decimals keeps the JSON short); that must not break the
    # bar's shape.
    open_, high, low, close = (np.round(p, spec.price_decimals) for p in (open_, high, low, close))
    high = np.maximum.reduce([high, open_, close])
    low = np.minimum.reduce([low, open_, close])
    activity = 1.0 + 4.0 * np.abs(returns) / (sigma * u_shape)
    volume = np.round(spec.base_volume * u_shape * activity * rng.lognormal(0.0, 0.5, n))
    return BarArrays(time=times, open=open_, high=high, low=low, close=close, volume=volume)


def demo_bars(spec: DemoInstrument) -> BarArrays:
    """The demo year of one instrument; identical on every call and machine."""
    index = DEMO_INSTRUMENTS.index(spec)
    rng = np.random.default_rng([DEMO_SEED, index])
    return generate_bars(spec, _SESSIONS[spec.instrument.asset_class](), rng)


# Catalog ------------------------------------------------------------------------------------------------------

def demo_data_present(catalog: Catalog) -> bool:
    """True when every demo instrument has synthetic minute bars and every demo token is valid."""
    for spec in DEMO_INSTRUMENTS:
        instrument = catalog.instrument(spec.instrument.symbol)
        if instrument is None or not instrument.synthetic or not catalog.dataset(instrument.symbol,
                                                                                  Timeframe.minute):
            return False
    return all(catalog.user_by_token_hash(hash_token(token)) is not None for token in DEMO_USERS.values())


def _existing_datasets(catalog: Catalog) -> list[DemoDataset]:
    out = []
    for spec in DEMO_INSTRUMENTS:
        record = catalog.dataset(spec.instrument.symbol, Timeframe.minute)
        if record is not None:
            out.append(DemoDataset(spec.instrument.symbol, spec.instrument.asset_class, record.rows,
                                   record.data_version))
    return out


def _create_market_data(store: BarStore) -> list[DemoDataset]:
    datasets = []
    for spec in DEMO_INSTRUMENTS:
        bars = demo_bars(spec)
        version = store_bars(store, spec.instrument, bars)
        datasets.append(DemoDataset(spec.instrument.symbol, spec.instrument.asset_class, len(bars), version))
    return datasets


def _create_users(catalog: Catalog) -> list[DemoUser]:
    for name, token in DEMO_USERS.items():
        catalog.add_user(name, hash_token(token))
    return [DemoUser(name, token) for name, token in DEMO_USERS.items()]


def create_demo_data(settings: BackendSettings, *, if_missing: bool = False) -> DemoSummary:
    """Write the demo bars and users into ``settings.data_dir`` (again, unless ``if_missing`` and present)."""
    catalog = Catalog(settings.catalog_path)
    store = BarStore(settings.bars_dir, catalog)
    if if_missing and demo_data_present(catalog):
        # Completed demo runs are part of the demo data; ones already there are found, not recomputed.
        create_demo_runs(catalog, store, RunRepository(catalog, settings.runs_dir))
        return DemoSummary(created=False, datasets=_existing_datasets(catalog),
                           users=[DemoUser(name, token) for name, token in DEMO_USERS.items()])
    summary = DemoSummary(created=True)
    summary.datasets = _create_market_data(store)
    summary.users = _create_users(catalog)
    create_demo_runs(catalog, store, RunRepository(catalog, settings.runs_dir))
    return summary
