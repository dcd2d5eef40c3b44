"""Backend settings (environment variables prefixed ``HEWSTON_``)."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field

from common.setting_types import Port
from common.settings import DEFAULT_BACKEND_PORT, HewstonSettings


class BackendSettings(HewstonSettings):
    data_dir: Path = Path("var/data")
    host: str = "127.0.0.1"
    port: Port = DEFAULT_BACKEND_PORT
    # Browser origins allowed to call the backend directly (the web app's direct path), e.g. the api's URL; also
    # the origins whose pages may open playback sockets (besides the backend's own).
    cors_origins: list[str] = Field(default_factory=list)
    # Token that relay and workers use to read every run. Unset: no service principal exists.
    service_token: str | None = Field(default=None, repr=False)
    # Longest range one /bars/minute call may ask for; larger charts use hourly bars or the BFF's decimation.
    minute_range_cap_days: int = Field(default=400, gt=0)
    # Decoded bar files kept in memory for repeated chart reads; 0 turns the cache off.
    bar_cache_mb: int = Field(default=512, ge=0)
    # Backtests are CPU-bound numpy: more workers than cores only makes every run slower.
    run_workers: int = Field(default=1, ge=1, le=64)
    # Playback: frames per second, keyframe interval, browser auth deadline and the loaded-runs budget.
    playback_fps: float = Field(default=30.0, gt=0, le=120)
    playback_snapshot_interval_s: float = Field(default=2.0, gt=0)
    playback_auth_timeout_s: float = Field(default=5.0, gt=0)
    playback_cache_mb: int = Field(default=512, ge=0)
    # An open playback socket re-asks whether its caller may still see the run this often (closing with
    # 4403 when not); the same bound as the api's access cache.
    playback_access_recheck_s: float = Field(default=5.0, gt=0)
    # Playback sockets one client address may hold open at once (beyond: closed with 4429). The service token's
    # sockets (relays) do not count; an api node's direct playbacks (Redis down) all come from its address.
    playback_max_sockets_per_address: int = Field(default=64, ge=1)
    # Users (by name) with the operator role: they may read the operations summary and the audit trail
    # through the api. The backend alone decides; the api asks it (GET /me).
    operators: list[str] = Field(default_factory=list)
    # A request body that sends nothing for this long is answered 408 and its connection closed.
    body_timeout_s: float = Field(default=10.0, gt=0)
    # Processes that decimate long lines (equity curves, indicator lines) while the event loop serves other
    # requests; 0 decimates on the loop. Each is a Python process of its own (about 80 MB plus the columns of the
    # runs it keeps). Lines shorter than `decimation_min_points` stay on the loop (the hand-off costs more); a
    # worker slower than `decimation_timeout_s` is not waited for (the loop decimates instead).
    decimation_workers: int = Field(default=1, ge=0, le=16)
    decimation_min_points: int = Field(default=200_000, ge=0)
    decimation_timeout_s: float = Field(default=1.0, gt=0)
    decimation_runs_per_worker: int = Field(default=4, ge=1, le=64)

    def data_dir_problem(self) -> str | None:
        """Why the data directory cannot be used (created if missing, then written), as the line to show; None
        when it can."""
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            return f"HEWSTON_DATA_DIR: {self.data_dir} cannot be created ({exc.strerror})"
        if not os.access(self.data_dir, os.W_OK | os.X_OK):
            return f"HEWSTON_DATA_DIR: {self.data_dir} is not writable by this user"
        return None

    @property
    def catalog_path(self) -> Path:
        return self.data_dir / "catalog.sqlite3"

    @property
    def bars_dir(self) -> Path:
        return self.data_dir / "bars"

    @property
    def runs_dir(self) -> Path:
        return self.data_dir / "runs"
