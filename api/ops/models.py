"""Response models of ``/api/v1/ops/*`` (the web app's types are generated from them)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Window(BaseModel):
    """What happened in one sampling window (a node's, or every node's together)."""

    requests_per_s: float
    errors_per_s: float
    p95_ms: float | None = Field(description="Time the api took to answer, 95th percentile")
    backend_p95_ms: float | None = Field(description="Time the backend took for the api's calls, 95th percentile")
    cache_hit_ratio: float | None
    viewers: float
    messages_in_per_s: float
    fanout_p95_ms: float | None = Field(description="From the relay's append to this node's fan-out")
    resyncs: float
    cpu_percent: float | None
    rss_mb: float | None
    loop_lag_p95_ms: float | None


class Point(Window):
    at_ms: int


class RouteRow(BaseModel):
    route: str
    requests_per_s: float
    errors_per_s: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    backend_p95_ms: float | None = Field(description="The same call's time in the backend (passthrough routes)")
    added_p95_ms: float | None = Field(description="What the api added over the backend, 95th percentile")
    upstream_calls_per_request: float | None


class CacheRow(BaseModel):
    cache: str
    hits: float
    misses: float
    hit_ratio: float | None


class RunRow(BaseModel):
    run_id: str
    viewers: float
    relay: str | None = Field(description="Id of the relay holding the run's lease; none: nobody relays it")


class NodeRow(Window):
    model_config = ConfigDict(extra="ignore")

    node: str
    at_ms: int
    runs: float
    open_fds: float
    redis_errors: float
    resumes: dict[str, float]
    viewers_by_run: dict[str, float]
    history: list[Point]


class OpsSummaryResponse(BaseModel):
    at_ms: int
    interval_s: float
    ready: dict[str, str] = Field(description="Redis and the backend as this node sees them: ok or down")
    totals: Window
    history: list[Point] = Field(description="Every node together, one point per sampling interval")
    routes: list[RouteRow]
    caches: list[CacheRow]
    runs: list[RunRow]
    nodes: list[NodeRow]
    degraded: list[str] = Field(description="What needs a look, in words; empty when all is well")


class AuditEvent(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str = Field(description="Stream id; pass the last one as `before` for the next page")
    at_ms: int
    action: str
    user: str
    run_id: str
    outcome: str
    correlation_id: str


class AuditPage(BaseModel):
    events: list[AuditEvent]
    next: str | None = Field(description="`before` of the next (older) page; none on the last page")
