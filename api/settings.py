"""Settings of the api role (environment variables prefixed ``HEWSTON_API_``; the vocabulary every role shares is
read as in ``common.settings``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from api.models import DataPath
from common.setting_types import CaFile, HttpUrl, Networks, Port, PublicUrl
from common.settings import (
    BackendClientSettings,
    backend_ca_file_setting,
    backend_url_setting,
    key_prefix_setting,
)

# Where `make frontend` (`npm run build`) writes the browser app.
DEFAULT_WEB_APP_DIR = Path(__file__).resolve().parent.parent / "frontend" / "dist"


class ApiSettings(BackendClientSettings):
    # REDIS_URL / HEWSTON_REDIS_URL keep working through the alias declared on the base class.
    model_config = SettingsConfigDict(env_prefix="HEWSTON_API_", env_file=".env", extra="ignore")

    backend_url: HttpUrl = backend_url_setting("HEWSTON_API_")
    backend_ca_file: CaFile | None = backend_ca_file_setting("HEWSTON_API_")
    host: str = "127.0.0.1"
    port: Port = 8001
    # `hewston api` processes sharing the port (SO_REUSEPORT), each a whole api node: one per core.
    workers: int = Field(default=1, ge=1, le=64)
    # Browser origins allowed to call the api from another origin, and to open its stream sockets.
    cors_origins: list[str] = Field(default_factory=list)
    redis_key_prefix: str = key_prefix_setting("HEWSTON_API_")

    # The browser app: built files served at `/` (nothing is served when the folder has no index.html).
    web_app_dir: Path = DEFAULT_WEB_APP_DIR
    # Which path each area of the browser app takes until a person switches it in its settings panel:
    # `bff` (this api) or `direct` (the backend itself; the instant rollback when the api misbehaves).
    default_charts_path: DataPath = "bff"
    default_runs_path: DataPath = "bff"
    default_playback_path: DataPath = "bff"
    # The backend's URL as a browser reaches it, for the direct path; unset: `backend_url`. A path (`/direct`)
    # is on the origin the browser called: the backend behind the same proxy as the api.
    public_backend_url: PublicUrl | None = None

    # Rate limits in fixed windows: per credential (a bearer token, however its header is spelt) and per
    # client address (every request, whatever token it carries, valid or not).
    rate_limit_requests: int = Field(default=1200, gt=0)
    rate_limit_address_requests: int = Field(default=3000, gt=0)
    rate_limit_window_s: int = Field(default=60, gt=0)
    # Requests a node counts ahead for a client far from its limits, so that its next ones skip the round trip
    # to Redis (api.counted_ahead); 0: every request waits for its own count.
    rate_limit_count_ahead: int = Field(default=16, ge=0)
    # Peers (addresses or networks, e.g. "10.0.0.0/8") whose X-Forwarded-For names the client; empty: none,
    # the TCP peer is the client.
    trusted_proxies: Networks = Field(default_factory=list)
    # A request body that sends nothing for this long is answered 408 and its connection closed.
    body_timeout_s: float = Field(default=10.0, gt=0)

    # Request size limits: larger bodies get 413, longer query strings 414.
    max_body_bytes: int = Field(default=1_048_576, gt=0)
    max_query_bytes: int = Field(default=4096, gt=0)

    # Cache lifetimes. Keys carry data versions and run ids, so TTLs only bound memory, not staleness.
    chart_cache_ttl_s: int = Field(default=3600, gt=0)
    run_cache_ttl_s: int = Field(default=7 * 86400, gt=0)
    access_cache_ttl_s: float = Field(default=5.0, ge=0)
    # isa-l's deflate levels: 0 (fastest) to 3 (smallest); 1 is both fast and smaller than zlib's level 1.
    gzip_level: int = Field(default=1, ge=0, le=3)
    # Below this size compressing costs more than it saves.
    gzip_min_bytes: int = Field(default=1024, ge=0)

    # Single flight: the computing node holds a lock this long at most; others wait this long, then compute.
    single_flight_lock_ms: int = Field(default=15_000, gt=0)
    single_flight_wait_s: float = Field(default=10.0, gt=0)
    # A miss answers first and stores its entry after: at most this many stores run so (past it, a miss stores
    # before answering; 0 always does). At shutdown they get this long to finish before they are cancelled.
    cache_store_max_pending: int = Field(default=64, ge=0)
    cache_store_drain_s: float = Field(default=2.0, ge=0)

    # Redis: a short deadline for each call on the request path (connecting, writing and reading its answer)
    # and a breaker, so that a dead Redis costs one timeout, not one per request.
    redis_socket_timeout_s: float = Field(default=0.5, gt=0)
    redis_retry_after_s: float = Field(default=1.0, gt=0)
    redis_retry_after_max_s: float = Field(default=15.0, gt=0)

    # Upstream (backend) calls.
    upstream_connect_timeout_s: float = Field(default=2.0, gt=0)
    upstream_timeout_s: float = Field(default=30.0, gt=0)
    # Extra attempts for idempotent calls whose connection failed; requests with bodies are never retried.
    upstream_retries: int = Field(default=2, ge=0)
    upstream_retry_backoff_s: float = Field(default=0.05, ge=0)
    upstream_max_connections: int = Field(default=200, gt=0)
    # An idle connection to the backend is dropped after this long: shorter than the backend server's own
    # keep-alive (uvicorn closes idle connections after 5 s), so a call never goes out on a connection the
    # backend is closing at that moment (the access cache's 5 s made exactly that pause common: a 502).
    upstream_keepalive_s: float = Field(default=4.0, gt=0)
    # Ready probes must answer quickly even when a dependency hangs.
    ready_timeout_s: float = Field(default=1.0, gt=0)

    # Operations page: each node samples its own metrics this often and keeps this many samples (3 minutes).
    ops_sample_interval_s: float = Field(default=2.0, gt=0)
    ops_history_points: int = Field(default=90, ge=2, le=3600)
    # The per-route and per-cache tables cover this long (one interval alone is too jumpy to read).
    ops_table_window_s: float = Field(default=30.0, gt=0)
    # Audit events kept in Redis (the oldest are trimmed past this, approximately); the log keeps them all.
    audit_max_events: int = Field(default=100_000, ge=100)

    # Shared playback stream (docs/stream.md). Each viewer's queue is bounded; a viewer that falls further
    # behind is resynchronised from the latest snapshot. The bound must hold a snapshot and what follows it
    # (the relay asks for a keyframe every 150 messages), with room to spare.
    stream_viewer_queue_messages: int = Field(default=512, ge=200)
    stream_viewer_queue_mb: int = Field(default=8, ge=1)
    # Messages kept per run in memory for viewers reconnecting to this node (about a minute at 30 frames/s).
    stream_recent_messages: int = Field(default=2048, ge=0)
    # A viewer whose socket takes nothing for this long (its client stopped reading, or vanished) is let go;
    # a slow one is resynchronised long before (its queue bound), so only a stalled one ever meets this.
    stream_write_deadline_s: float = Field(default=15.0, gt=0)
    stream_heartbeat_s: float = Field(default=5.0, gt=0)
    # A change in a run's viewer count reaches its viewers within this long (a presence message).
    stream_presence_s: float = Field(default=0.5, gt=0)
    # Demand: refreshed this often, valid this long; a run's relay stops about this long after its last viewer.
    stream_demand_refresh_s: float = Field(default=2.0, gt=0)
    stream_demand_ttl_s: float = Field(default=10.0, gt=0)
    # The node's one blocking read; its connection's socket timeout is this plus 5 s.
    stream_read_block_ms: int = Field(default=1000, ge=10)
    # The stream's other Redis calls (join, history, controls, demand): generous, because a burst of viewers
    # connecting makes the event loop lag, and that lag must not pass for Redis failing.
    stream_redis_timeout_s: float = Field(default=5.0, gt=0)
    stream_auth_timeout_s: float = Field(default=5.0, gt=0)
    # Access re-checks of open stream sockets, in a task of their own: a round this often, at most this many
    # backend questions at once, each given this long. Withdrawn access ends a stream within
    # access_cache_ttl_s + stream_access_recheck_s + stream_access_timeout_s (docs/stream.md).
    stream_access_recheck_s: float = Field(default=2.0, gt=0)
    stream_access_timeout_s: float = Field(default=1.0, gt=0)
    stream_access_concurrency: int = Field(default=32, ge=1)
    # The garbage collector's youngest threshold once the node has started (common/heap.py; 0: CPython's own, 700).
    gc_young_threshold: int = Field(default=10_000, ge=0)
    # Buffers below this many bytes come from the heap instead of pages mapped for each (common/heap.py; 0: the
    # C library's own, adaptive behaviour). A complete run's cached body with orders is about 600 KB.
    malloc_mmap_threshold_bytes: int = Field(default=4 * 1024 * 1024, ge=0)
    # Stream sockets one client address may hold open at once (behind a proxy, the client `trusted_proxies`
    # vouch for); beyond it a socket is closed with 4429. Browser pages may open them from this server's own
    # origin and from `cors_origins`.
    stream_max_sockets_per_address: int = Field(default=64, ge=1)
    stream_controls_per_s: float = Field(default=10.0, gt=0)
    stream_controls_burst: int = Field(default=20, ge=1)
    # The window of recent messages (stream_recent_messages) bounded in bytes per run (text and prepared frame: at
    # top speed a frame carries hundreds of bars), and what every run's window together may hold on this node (the
    # largest runs are trimmed first). The latest snapshot and what follows it are kept whatever these say.
    stream_recent_mb: int = Field(default=16, ge=1)
    stream_node_memory_mb: int = Field(default=256, ge=1)
