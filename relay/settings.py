"""Settings of the relay role (environment variables prefixed ``HEWSTON_RELAY_``; the vocabulary every role shares
is read as in ``common.settings``)."""

from __future__ import annotations

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import SettingsConfigDict

from common.setting_types import CaFile, HttpUrl, Port
from common.settings import (
    BackendClientSettings,
    backend_ca_file_setting,
    backend_url_setting,
    key_prefix_setting,
)
from common.stream.store import Retention


class RelaySettings(BackendClientSettings):
    # REDIS_URL / HEWSTON_REDIS_URL keep working through the alias declared on the base class.
    model_config = SettingsConfigDict(env_prefix="HEWSTON_RELAY_", env_file=".env", extra="ignore",
                                      populate_by_name=True)

    backend_url: HttpUrl = backend_url_setting("HEWSTON_RELAY_")
    backend_ca_file: CaFile | None = backend_ca_file_setting("HEWSTON_RELAY_")
    # The backend's service token (the same HEWSTON_SERVICE_TOKEN the backend reads): it may play every run.
    service_token: str | None = Field(default=None, repr=False, validation_alias=AliasChoices(
        "HEWSTON_SERVICE_TOKEN", "HEWSTON_RELAY_SERVICE_TOKEN"))
    redis_key_prefix: str = key_prefix_setting("HEWSTON_RELAY_")
    # Prometheus metrics on their own port (the relay serves nothing else); None turns them off.
    metrics_port: Port | None = 8002
    metrics_host: str = "127.0.0.1"

    @field_validator("metrics_port")
    @classmethod
    def _zero_is_none(cls, value: int | None) -> int | None:
        return value or None

    # Leases: another relay takes a run over at most this long after its holder died.
    lease_ttl_s: float = Field(default=5.0, gt=0.5)
    # How often demand is read; a new viewer's run is claimed within about this long.
    scan_interval_s: float = Field(default=0.5, gt=0)
    # Runs one relay holds at most; demand beyond it is left to other relays.
    max_runs: int = Field(default=500, ge=1)
    # Keys of a run nobody watches expire after this long, so a run watched again soon resumes where it was.
    idle_ttl_s: float = Field(default=3600.0, gt=0)

    # Retention of each run's stream: at least the 120 s that resuming viewers are promised at 30 frames/s.
    retention_max_age_s: float = Field(default=300.0, ge=120.0)
    retention_max_entries: int = Field(default=12_000, ge=3_600)
    retention_max_mb: int = Field(default=128, ge=1)
    # A keyframe is asked for once this many messages follow the pinned one (e.g. many controls while paused),
    # which bounds what a newcomer has to catch up on.
    keyframe_after_messages: int = Field(default=150, ge=1)

    # Reconnecting to the backend: exponential backoff with full jitter, between these bounds.
    upstream_backoff_s: float = Field(default=0.2, gt=0)
    upstream_backoff_max_s: float = Field(default=5.0, gt=0)
    upstream_open_timeout_s: float = Field(default=5.0, gt=0)

    # Redis unreachable or stalled: a relay keeps its runs (and their upstream connections) for this long,
    # retrying; every append is fenced, so another relay that took a run over meanwhile is never overwritten.
    redis_outage_grace_s: float = Field(default=30.0, gt=0)
    # A held run whose demand lapsed less than this ago is kept (an api node may have missed a refresh while
    # Redis stalled); a run is claimed only while it is demanded.
    demand_grace_s: float = Field(default=5.0, ge=0)

    # Stopping (SIGTERM): how long the relay waits for its loops, then for its runs (each closing its upstream
    # connection), to end; then it gives the runs' leases back, each within redis_socket_timeout_s. Far below
    # the process's own exit deadline (common.serving) and the orchestrators' grace period.
    stop_timeout_s: float = Field(default=5.0, gt=0)

    # The blocking read of controls; its connection's socket timeout is this plus a margin.
    control_block_ms: int = Field(default=1000, ge=10)
    redis_socket_timeout_s: float = Field(default=5.0, gt=0)

    @property
    def retention(self) -> Retention:
        return Retention(max_age_s=self.retention_max_age_s, max_entries=self.retention_max_entries,
                         max_bytes=self.retention_max_mb * 1024 * 1024)
