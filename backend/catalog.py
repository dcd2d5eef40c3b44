"""The SQLite catalog: instruments, datasets and users. Schema is created idempotently at start.

Writes use a short-lived connection per call; the single-statement reads made on every request (token and
dataset lookups) use one connection per thread. WAL lets readers run while an ingest commits. Other modules add
their own tables through :meth:`Catalog.ensure_schema`.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from common.models.bars import AssetClass, DatasetInfo, Instrument, Timeframe

_SCHEMA = """
CREATE TABLE IF NOT EXISTS instruments (
    symbol TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    asset_class TEXT NOT NULL,
    synthetic INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS datasets (
    symbol TEXT NOT NULL REFERENCES instruments(symbol),
    timeframe TEXT NOT NULL,
    first_time INTEGER,
    last_time INTEGER,
    rows INTEGER NOT NULL,
    data_version INTEGER NOT NULL,
    path TEXT NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (symbol, timeframe)
);
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    token_hash TEXT NOT NULL UNIQUE,
    created_at REAL NOT NULL
);
"""


@dataclass(frozen=True)
class DatasetRecord:
    symbol: str
    timeframe: Timeframe
    first_time: int | None
    last_time: int | None
    rows: int
    data_version: int
    path: str

    def info(self) -> DatasetInfo:
        return DatasetInfo(timeframe=self.timeframe, first_time=self.first_time, last_time=self.last_time,
                           rows=self.rows, data_version=self.data_version)


@dataclass(frozen=True)
class UserRecord:
    id: int
    name: str


class Catalog:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._readers = threading.local()
        path.parent.mkdir(parents=True, exist_ok=True)
        with self.connect() as conn:
            # WAL is a property of the database file: set once here, since asking for it on every connection
            # costs more than the rest of opening one.
            conn.execute("PRAGMA journal_mode=WAL")
        self.ensure_schema(_SCHEMA)

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys=ON")
        try:
            yield conn
        finally:
            conn.close()

    def reader(self) -> sqlite3.Connection:
        """This thread's connection for single-statement reads (auth and dataset lookups on every request).

        Opening a connection and loading the schema costs far more than such a query, so each thread keeps one.
        In autocommit mode every statement reads the latest committed state; writes use :meth:`connect`.
        """
        conn = getattr(self._readers, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
            conn.row_factory = sqlite3.Row
            self._readers.conn = conn
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self.connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def ensure_schema(self, ddl: str) -> None:
        with self.connect() as conn:
            conn.executescript(ddl)

    def ensure_columns(self, table: str, columns: dict[str, str]) -> None:
        """Add the columns (name → type and constraints) a table created by an older version lacks."""
        with self.connect() as conn:
            present = {r["name"] for r in conn.execute(f"PRAGMA table_info({table})")}
            for name, ddl in columns.items():
                if name not in present:
                    conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {ddl}")

    # Instruments and datasets -------------------------------------------------------------------------------

    def upsert_instrument(self, instrument: Instrument, conn: sqlite3.Connection | None = None) -> None:
        sql = ("INSERT INTO instruments(symbol, name, asset_class, synthetic) VALUES (?, ?, ?, ?) "
               "ON CONFLICT(symbol) DO UPDATE SET name=excluded.name, asset_class=excluded.asset_class, "
               "synthetic=excluded.synthetic")
        args = (instrument.symbol, instrument.name, instrument.asset_class.value, int(instrument.synthetic))
        if conn is not None:
            conn.execute(sql, args)
            return
        with self.connect() as own:
            own.execute(sql, args)

    def instruments(self) -> list[Instrument]:
        conn = self.reader()
        rows = conn.execute("SELECT * FROM instruments ORDER BY symbol").fetchall()
        return [Instrument(symbol=r["symbol"], name=r["name"], asset_class=AssetClass(r["asset_class"]),
                           synthetic=bool(r["synthetic"])) for r in rows]

    def instrument(self, symbol: str) -> Instrument | None:
        conn = self.reader()
        r = conn.execute("SELECT * FROM instruments WHERE symbol = ?", (symbol,)).fetchone()
        if r is None:
            return None
        return Instrument(symbol=r["symbol"], name=r["name"], asset_class=AssetClass(r["asset_class"]),
                          synthetic=bool(r["synthetic"]))

    def datasets(self, symbol: str | None = None) -> list[DatasetRecord]:
        conn = self.reader()
        if symbol is None:
            rows = conn.execute("SELECT * FROM datasets ORDER BY symbol, timeframe").fetchall()
        else:
            rows = conn.execute("SELECT * FROM datasets WHERE symbol = ? ORDER BY timeframe",
                                (symbol,)).fetchall()
        return [_dataset(r) for r in rows]

    def dataset(self, symbol: str, timeframe: Timeframe) -> DatasetRecord | None:
        conn = self.reader()
        r = conn.execute("SELECT * FROM datasets WHERE symbol = ? AND timeframe = ?",
                         (symbol, timeframe.value)).fetchone()
        return _dataset(r) if r is not None else None

    def current_data_version(self, symbol: str, conn: sqlite3.Connection) -> int:
        r = conn.execute("SELECT MAX(data_version) FROM datasets WHERE symbol = ?", (symbol,)).fetchone()
        return int(r[0] or 0)

    def keep_only_datasets(self, symbol: str, timeframes: list[Timeframe], conn: sqlite3.Connection) -> None:
        """Remove the symbol's datasets of any other timeframe (a new version may have fewer timeframes)."""
        marks = ",".join("?" * len(timeframes))
        conn.execute(f"DELETE FROM datasets WHERE symbol = ? AND timeframe NOT IN ({marks})",
                     (symbol, *[t.value for t in timeframes]))

    def put_dataset(self, record: DatasetRecord, conn: sqlite3.Connection) -> None:
        conn.execute(
            "INSERT INTO datasets(symbol, timeframe, first_time, last_time, rows, data_version, path, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(symbol, timeframe) DO UPDATE SET "
            "first_time=excluded.first_time, last_time=excluded.last_time, rows=excluded.rows, "
            "data_version=excluded.data_version, path=excluded.path, updated_at=excluded.updated_at",
            (record.symbol, record.timeframe.value, record.first_time, record.last_time, record.rows,
             record.data_version, record.path, time.time()),
        )

    # Users --------------------------------------------------------------------------------------------------

    def add_user(self, name: str, token_hash: str) -> UserRecord:
        with self.connect() as conn:
            cur = conn.execute(
                "INSERT INTO users(name, token_hash, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET token_hash=excluded.token_hash RETURNING id",
                (name, token_hash, time.time()))
            return UserRecord(id=int(cur.fetchone()[0]), name=name)

    def user_by_token_hash(self, token_hash: str) -> UserRecord | None:
        conn = self.reader()
        r = conn.execute("SELECT id, name FROM users WHERE token_hash = ?", (token_hash,)).fetchone()
        return UserRecord(id=int(r["id"]), name=r["name"]) if r is not None else None

    def user_by_name(self, name: str) -> UserRecord | None:
        conn = self.reader()
        r = conn.execute("SELECT id, name FROM users WHERE name = ?", (name,)).fetchone()
        return UserRecord(id=int(r["id"]), name=r["name"]) if r is not None else None


def _dataset(r: sqlite3.Row) -> DatasetRecord:
    return DatasetRecord(symbol=r["symbol"], timeframe=Timeframe(r["timeframe"]), first_time=r["first_time"],
                         last_time=r["last_time"], rows=int(r["rows"]), data_version=int(r["data_version"]),
                         path=r["path"])
