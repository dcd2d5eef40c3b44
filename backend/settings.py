"""Backend settings (environment variables prefixed ``HEWSTON_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from common.settings import HewstonSettings


class BackendSettings(HewstonSettings):
    data_dir: Path = Path("var/data")
    host: str = "127.0.0.1"
    port: int = 8000
    # Token that relay and workers use to read every run. Unset: no service principal exists.
    service_token: str | None = Field(default=None, repr=False)
    # Longest range one /bars/minute call may ask for; larger charts use hourly bars or the BFF's decimation.
    minute_range_cap_days: int = 400
    # Decoded bar files kept in memory for repeated chart reads; 0 turns the cache off.
    bar_cache_mb: int = 512

    @property
    def catalog_path(self) -> Path:
        return self.data_dir / "catalog.sqlite3"

    @property
    def bars_dir(self) -> Path:
        return self.data_dir / "bars"

    @property
    def runs_dir(self) -> Path:
        return self.data_dir / "runs"
