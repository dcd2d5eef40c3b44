"""Defaults every Hewston FastAPI app is built with."""

from __future__ import annotations

# FastAPI turns its native OpenTelemetry instrumentation on whenever opentelemetry-api is importable (the
# Redis client installs it). Hewston exports Prometheus metrics and structured logs of its own, and the
# no-op spans, metrics and log records cost a noticeable share of a cached request, so they are off.
FASTAPI_TELEMETRY_OFF = {"tracing": False, "metrics": False, "logs": False, "operation_spans": False}
