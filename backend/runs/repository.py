"""Backtest runs in the catalog: their parameters, lifecycle, and who may see them.

A run belongs to the user who created it and may be shared read-only with other users; the service principal
reads every run. Callers that may not see a run get :class:`NotFound`, so a run's existence never leaks.
Status moves forward only: queued → running → completed | failed.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import orjson

from backend.auth import Principal
from backend.catalog import Catalog
from backend.engine.spec import RunSpec
from common.errors import Conflict, InvalidInput, NotFound
from common.models.backtests import RunStatus
from common.models.bars import Timeframe

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    owner_id INTEGER NOT NULL REFERENCES users(id),
    symbol TEXT NOT NULL,
    timeframe TEXT NOT NULL,
    strategy TEXT NOT NULL,
    mode TEXT NOT NULL,
    params TEXT NOT NULL,
    from_time INTEGER NOT NULL,
    to_time INTEGER NOT NULL,
    cash REAL NOT NULL,
    commission_rate REAL NOT NULL,
    fixed_fee REAL NOT NULL,
    slippage_bps REAL NOT NULL,
    fractional INTEGER NOT NULL,
    semantics TEXT NOT NULL,
    status TEXT NOT NULL,
    progress REAL NOT NULL DEFAULT 0,
    error TEXT,
    created_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    bars INTEGER,
    periods_per_year REAL,
    warmup INTEGER NOT NULL DEFAULT 0,
    requested_periods_per_year REAL
);
CREATE INDEX IF NOT EXISTS runs_by_owner ON runs(owner_id, created_at);
CREATE INDEX IF NOT EXISTS runs_by_status ON runs(status);
CREATE TABLE IF NOT EXISTS run_shares (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id),
    PRIMARY KEY (run_id, user_id)
);
CREATE INDEX IF NOT EXISTS run_shares_by_user ON run_shares(user_id);
"""

# Columns added after the first release: a catalog created before them gets them on start.
_ADDED_COLUMNS = {"warmup": "INTEGER NOT NULL DEFAULT 0", "requested_periods_per_year": "REAL"}

_SELECT = "SELECT runs.*, users.name AS owner FROM runs JOIN users ON users.id = runs.owner_id"
# One run, with whether it is shared with a given user (NULL for the service principal: never).
_SELECT_VISIBLE = ("SELECT runs.*, users.name AS owner, EXISTS(SELECT 1 FROM run_shares WHERE run_shares.run_id = "
                   "runs.id AND run_shares.user_id = ?) AS shared FROM runs JOIN users ON users.id = runs.owner_id "
                   "WHERE runs.id = ?")


class RunNotCompleted(Conflict):
    """Results were asked for before the run completed (or after it failed)."""

    code = "run_not_completed"


@dataclass(frozen=True, kw_only=True)
class RunRecord(RunSpec):
    """A stored run: what was asked for, plus who owns it and how far it got."""

    id: str
    owner_id: int
    owner: str
    status: RunStatus
    progress: float
    error: str | None
    created_at: float
    started_at: float | None
    finished_at: float | None
    bars: int | None
    periods_per_year: float | None
    # The engine semantics the run was executed under (docs/engine.md), stored so old runs stay explainable.
    semantics: dict[str, Any] = field(default_factory=dict)

    @property
    def spec(self) -> RunSpec:
        return RunSpec(**{f.name: getattr(self, f.name) for f in fields(RunSpec)})


@dataclass(frozen=True)
class RunPage:
    items: list[RunRecord]
    total: int


def _record(r: sqlite3.Row) -> RunRecord:
    return RunRecord(
        id=r["id"], owner_id=int(r["owner_id"]), owner=r["owner"], symbol=r["symbol"],
        timeframe=Timeframe(r["timeframe"]), strategy=r["strategy"], mode=r["mode"],
        params=orjson.loads(r["params"]), from_time=int(r["from_time"]), to_time=int(r["to_time"]),
        cash=float(r["cash"]), commission_rate=float(r["commission_rate"]), fixed_fee=float(r["fixed_fee"]),
        slippage_bps=float(r["slippage_bps"]), fractional=bool(r["fractional"]), status=RunStatus(r["status"]),
        progress=float(r["progress"]), error=r["error"], created_at=float(r["created_at"]),
        started_at=r["started_at"], finished_at=r["finished_at"], bars=r["bars"],
        periods_per_year=r["periods_per_year"], semantics=orjson.loads(r["semantics"]), warmup=bool(r["warmup"]),
        requested_periods_per_year=r["requested_periods_per_year"],
    )


class RunRepository:
    def __init__(self, catalog: Catalog, runs_dir: Path) -> None:
        self.catalog = catalog
        self.runs_dir = runs_dir
        runs_dir.mkdir(parents=True, exist_ok=True)
        catalog.ensure_schema(_SCHEMA)
        catalog.ensure_columns("runs", _ADDED_COLUMNS)

    def run_dir(self, run_id: str) -> Path:
        return self.runs_dir / run_id

    # Reading ------------------------------------------------------------------------------------------------

    # Reads that every results request makes (the run, who may see it) are single statements on the thread's
    # reader: opening a connection for each costs more than the query, on every one of a page's backend calls.

    def get(self, run_id: str) -> RunRecord | None:
        r = self.catalog.reader().execute(f"{_SELECT} WHERE runs.id = ?", (run_id,)).fetchone()
        return _record(r) if r is not None else None

    def visible(self, principal: Principal, run_id: str) -> RunRecord:
        # The run and whether it is shared with the caller in one statement: every results request asks this.
        r = self.catalog.reader().execute(_SELECT_VISIBLE, (principal.user_id, run_id)).fetchone()
        if r is None or not (principal.is_service or principal.user_id == r["owner_id"] or r["shared"]):
            raise NotFound(f"run {run_id} not found")
        return _record(r)

    def completed(self, principal: Principal, run_id: str) -> RunRecord:
        """A visible run whose artifacts exist; RunNotCompleted (409) while it is queued, running or failed."""
        record = self.visible(principal, run_id)
        if record.status is not RunStatus.completed:
            detail = f": {record.error}" if record.error else ""
            raise RunNotCompleted(f"run {run_id} is {record.status.value}{detail}")
        return record

    def can_control(self, principal: Principal, record: RunRecord) -> bool:
        return principal.is_service or principal.user_id == record.owner_id

    def list_visible(self, principal: Principal, limit: int, offset: int) -> RunPage:
        """Runs the caller owns or that are shared with them (every run for the service), newest first."""
        if principal.is_service:
            where, args = "", ()
        else:
            where = ("WHERE runs.owner_id = ? OR runs.id IN (SELECT run_id FROM run_shares WHERE user_id = ?)")
            args = (principal.user_id, principal.user_id)
        with self.catalog.connect() as conn:
            total = int(conn.execute(f"SELECT COUNT(*) FROM runs {where}", args).fetchone()[0])
            rows = conn.execute(f"{_SELECT} {where} ORDER BY runs.created_at DESC, runs.id LIMIT ? OFFSET ?",
                                (*args, limit, offset)).fetchall()
        return RunPage(items=[_record(r) for r in rows], total=total)

    def owned_by(self, owner_id: int) -> list[RunRecord]:
        with self.catalog.connect() as conn:
            rows = conn.execute(f"{_SELECT} WHERE runs.owner_id = ? ORDER BY runs.created_at",
                                (owner_id,)).fetchall()
        return [_record(r) for r in rows]

    def ids_with_status(self, *statuses: RunStatus) -> list[str]:
        marks = ",".join("?" * len(statuses))
        with self.catalog.connect() as conn:
            rows = conn.execute(f"SELECT id FROM runs WHERE status IN ({marks}) ORDER BY created_at",
                                [s.value for s in statuses]).fetchall()
        return [r["id"] for r in rows]

    # Sharing ------------------------------------------------------------------------------------------------

    def shared_with(self, run_id: str) -> list[str]:
        rows = self.catalog.reader().execute(
            "SELECT users.name FROM run_shares JOIN users ON users.id = run_shares.user_id "
            "WHERE run_shares.run_id = ? ORDER BY users.name", (run_id,)).fetchall()
        return [r["name"] for r in rows]

    def share(self, run_id: str, user_name: str) -> None:
        user = self.catalog.user_by_name(user_name)
        if user is None:
            raise InvalidInput("user", f"unknown user {user_name!r}", location="body")
        with self.catalog.connect() as conn:
            owner = conn.execute("SELECT owner_id FROM runs WHERE id = ?", (run_id,)).fetchone()
            if owner is None:
                raise NotFound(f"run {run_id} not found")
            if int(owner[0]) == user.id:
                raise InvalidInput("user", "a run cannot be shared with its owner", location="body")
            conn.execute("INSERT OR IGNORE INTO run_shares(run_id, user_id) VALUES (?, ?)", (run_id, user.id))

    def unshare(self, run_id: str, user_name: str) -> bool:
        user = self.catalog.user_by_name(user_name)
        if user is None:
            return False
        with self.catalog.connect() as conn:
            cur = conn.execute("DELETE FROM run_shares WHERE run_id = ? AND user_id = ?", (run_id, user.id))
        return cur.rowcount > 0

    # Lifecycle ----------------------------------------------------------------------------------------------

    def create(self, owner_id: int, spec: RunSpec, semantics: dict[str, Any]) -> RunRecord:
        run_id = uuid.uuid4().hex
        with self.catalog.connect() as conn:
            conn.execute(
                "INSERT INTO runs(id, owner_id, symbol, timeframe, strategy, mode, params, from_time, to_time, "
                "cash, commission_rate, fixed_fee, slippage_bps, fractional, warmup, requested_periods_per_year, "
                "semantics, status, progress, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)",
                (run_id, owner_id, spec.symbol, spec.timeframe.value, spec.strategy, spec.mode,
                 orjson.dumps(spec.params).decode(), spec.from_time, spec.to_time, spec.cash,
                 spec.commission_rate, spec.fixed_fee, spec.slippage_bps, int(spec.fractional), int(spec.warmup),
                 spec.requested_periods_per_year, orjson.dumps(semantics).decode(), RunStatus.queued.value,
                 time.time()))
        record = self.get(run_id)
        assert record is not None
        return record

    def mark_running(self, run_id: str) -> bool:
        """Claim a queued run; False when it is no longer queued (another executor took it, or it failed)."""
        with self.catalog.connect() as conn:
            cur = conn.execute("UPDATE runs SET status = ?, started_at = ?, progress = 0 WHERE id = ? AND status = ?",
                               (RunStatus.running.value, time.time(), run_id, RunStatus.queued.value))
        return cur.rowcount == 1

    def set_progress(self, run_id: str, progress: float) -> None:
        with self.catalog.connect() as conn:
            conn.execute("UPDATE runs SET progress = ? WHERE id = ? AND status = ?",
                         (min(max(progress, 0.0), 1.0), run_id, RunStatus.running.value))

    def mark_completed(self, run_id: str, bars: int, periods_per_year: float | None) -> None:
        with self.catalog.connect() as conn:
            conn.execute("UPDATE runs SET status = ?, progress = 1, finished_at = ?, bars = ?, periods_per_year = ?, "
                         "error = NULL WHERE id = ?",
                         (RunStatus.completed.value, time.time(), bars, periods_per_year, run_id))

    def mark_failed(self, run_id: str, reason: str) -> None:
        with self.catalog.connect() as conn:
            conn.execute("UPDATE runs SET status = ?, finished_at = ?, error = ? WHERE id = ? AND status != ?",
                         (RunStatus.failed.value, time.time(), reason, run_id, RunStatus.completed.value))

    def requeue(self, run_id: str) -> None:
        with self.catalog.connect() as conn:
            conn.execute("UPDATE runs SET status = ?, progress = 0, started_at = NULL WHERE id = ? AND status = ?",
                         (RunStatus.queued.value, run_id, RunStatus.running.value))
