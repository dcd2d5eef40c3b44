"""Defaults every Hewston FastAPI app is built with."""

from __future__ import annotations

from common.ws_protocol import RefusalAnsweringProtocol

# FastAPI turns its native OpenTelemetry instrumentation on whenever opentelemetry-api is importable (the
# Redis client installs it). Hewston exports Prometheus metrics and structured logs of its own, and the
# no-op spans, metrics and log records cost a noticeable share of a cached request, so they are off.
FASTAPI_TELEMETRY_OFF = {"tracing": False, "metrics": False, "logs": False, "operation_spans": False}

# How uvicorn serves every Hewston app: no permessage-deflate (it costs CPU per viewer for little gain on
# frames), no proxy headers (uvicorn would believe X-Forwarded-For from any loopback peer; the api believes it
# only from its configured trusted proxies), logging left to Hewston's own configuration, which scrubs
# credentials from every line, and WebSocket messages from clients capped far above any control (4 KiB) but far
# below uvicorn's 16 MiB default, so an oversized message is refused (close 1009) before it is buffered. A
# handshake refused with an HTTP answer (429) is logged as answered, not as an error (common.ws_protocol).
WS_MAX_MESSAGE_BYTES = 65_536
UVICORN_OPTIONS = {"ws_per_message_deflate": False, "proxy_headers": False, "log_config": None,
                   "ws_max_size": WS_MAX_MESSAGE_BYTES, "ws": RefusalAnsweringProtocol}
