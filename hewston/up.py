"""``hewston up``: every role in one process, for a laptop or a demo.

Each role is a uvicorn server (or background task) in one event loop. Without ``REDIS_URL`` the roles share
the embedded in-process broker; with it they use that server, exactly as separate processes would.
"""

from __future__ import annotations

import asyncio

import uvicorn

from api.main import create_app as create_api
from api.settings import ApiSettings
from backend.main import create_app as create_backend
from backend.settings import BackendSettings
from common.logging import configure_logging, get_logger

log = get_logger("hewston.up")


def _server(app, host: str, port: int) -> uvicorn.Server:
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", ws_per_message_deflate=False,
                            lifespan="on")
    return uvicorn.Server(config)


async def _serve_all(servers: list[uvicorn.Server]) -> None:
    await asyncio.gather(*(server.serve() for server in servers))


def run_all(host: str | None = None) -> int:
    backend_settings = BackendSettings()
    configure_logging(json_logs=backend_settings.logs_as_json, level=backend_settings.log_level)
    host = host or backend_settings.host
    servers = [_server(create_backend(backend_settings), host, backend_settings.port)]
    # The api talks to the backend over loopback HTTP, exactly as it would to a remote backend.
    api_settings = ApiSettings(backend_url=f"http://127.0.0.1:{backend_settings.port}")
    servers.append(_server(create_api(api_settings), host, api_settings.port))
    log.info("hewston_up", backend=f"http://{host}:{backend_settings.port}",
             api=f"http://{host}:{api_settings.port}",
             broker=backend_settings.redis_url and "redis" or "embedded")
    asyncio.run(_serve_all(servers))
    return 0
