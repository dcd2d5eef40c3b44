"""Settings of the api role (environment variables prefixed ``HEWSTON_API_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from api.models import DataPath
from common.settings import HewstonSettings

# Where `make frontend` (`npm run build`) writes the browser app.
DEFAULT_WEB_APP_DIR = Path(__file__).resolve().parent.parent / "frontend" / "dist"


class ApiSettings(HewstonSettings):
    # REDIS_URL / HEWSTON_REDIS_URL keep working through the alias declared on the base class.
    model_config = SettingsConfigDict(env_prefix="HEWSTON_API_", env_file=".env", extra="ignore")

    backend_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = 8001
    cors_origins: list[str] = Field(default_factory=list)
    redis_key_prefix: str = "hw"

    # The browser app: built files served at `/` (nothing is served when the folder has no index.html).
    web_app_dir: Path = DEFAULT_WEB_APP_DIR
    # Which path each area of the browser app takes until a person switches it in its settings panel:
    # `bff` (this api) or `direct` (the backend itself; the instant rollback when the api misbehaves).
    default_charts_path: DataPath = "bff"
    default_runs_path: DataPath = "bff"
    default_playback_path: DataPath = "bff"
    # The backend's URL as a browser reaches it, for the direct path; unset: `backend_url`.
    public_backend_url: str | None = None

    # Rate limit per token (its hash) or per client address when there is none; fixed windows.
    rate_limit_requests: int = 1200
    rate_limit_window_s: int = 60

    # Request size limits: larger bodies get 413, longer query strings 414.
    max_body_bytes: int = 1_048_576
    max_query_bytes: int = 4096

    # Cache lifetimes. Keys carry data versions and run ids, so TTLs only bound memory, not staleness.
    chart_cache_ttl_s: int = 3600
    run_cache_ttl_s: int = 7 * 86400
    access_cache_ttl_s: float = 5.0
    gzip_level: int = Field(default=1, ge=1, le=9)
    # Below this size compressing costs more than it saves.
    gzip_min_bytes: int = 1024

    # Single flight: the computing node holds a lock this long at most; others wait this long, then compute.
    single_flight_lock_ms: int = 15_000
    single_flight_wait_s: float = 10.0

    # Redis: short socket timeouts and a breaker so that a dead Redis costs one timeout, not one per request.
    redis_socket_timeout_s: float = 0.5
    redis_retry_after_s: float = 1.0
    redis_retry_after_max_s: float = 15.0

    # Upstream (backend) calls.
    upstream_connect_timeout_s: float = 2.0
    upstream_timeout_s: float = 30.0
    # Extra attempts for idempotent calls whose connection failed; requests with bodies are never retried.
    upstream_retries: int = 2
    upstream_retry_backoff_s: float = 0.05
    upstream_max_connections: int = 200
    # Ready probes must answer quickly even when a dependency hangs.
    ready_timeout_s: float = 1.0
