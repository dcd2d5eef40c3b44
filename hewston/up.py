"""``hewston up``: every role in one process, for a laptop or a demo.

Each role is a uvicorn server (or background task) in one event loop. Without ``REDIS_URL`` the roles share
the embedded in-process broker; with it they use that server, exactly as separate processes would.
"""

from __future__ import annotations

import asyncio
import contextlib

import uvicorn

from api.main import create_app as create_api
from api.settings import ApiSettings
from backend.auth import hash_token, new_token
from backend.catalog import Catalog
from backend.main import create_app as create_backend
from backend.market.demo import DEMO_USERS
from backend.settings import BackendSettings
from common.app_defaults import UVICORN_OPTIONS
from common.logging import configure_logging
from relay.main import build_relay
from relay.settings import RelaySettings
from workers.settings import WorkerConfig
from workers.worker import in_process_worker


def _server(app, host: str, port: int) -> uvicorn.Server:
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on", **UVICORN_OPTIONS)
    return uvicorn.Server(config)


def _prewarm_worker(backend: BackendSettings, api: ApiSettings) -> contextlib.AbstractAsyncContextManager:
    """The prewarm worker, run in the shared loop: the api's backend, its broker, the backend's service token."""
    config = WorkerConfig(backend_url=api.backend_url, service_token=backend.service_token, redis_url=api.redis_url)
    return in_process_worker(config, api)


async def _serve_all(servers: list[uvicorn.Server], relay_settings: RelaySettings,
                     worker: contextlib.AbstractAsyncContextManager | None = None) -> None:
    # The relay is built inside the loop: the embedded broker's clients belong to the loop that uses them.
    relay = build_relay(relay_settings)
    async with worker or contextlib.nullcontext():
        await asyncio.gather(relay.run(), *(server.serve() for server in servers))


def browser_origins(host: str, port: int) -> list[str]:
    """The origins a browser may show for ``host:port`` (loopback has two spellings)."""
    hosts = ["127.0.0.1", "localhost"] if host in ("127.0.0.1", "localhost") else [host]
    return [f"http://{name}:{port}" for name in hosts]


def _web_app_line(api_url: str, api: ApiSettings) -> str:
    if (api.web_app_dir / "index.html").is_file():
        return f"  open this:       {api_url}/   (the web app; sign in with a demo token)"
    return "  web app:         not built (`make frontend` builds it; it needs Node 20+ and npm)"


def _banner(host: str, backend: BackendSettings, api: ApiSettings) -> str:
    api_url, backend_url = f"http://{host}:{api.port}", f"http://{host}:{backend.port}"
    broker = "Redis at REDIS_URL" if backend.redis_url else "embedded in-process broker (no Redis needed)"
    lines = ["", "Hewston is up", _web_app_line(api_url, api),
             f"  api (use this):  {api_url}/api/v1/   docs: {api_url}/docs",
             f"  backend:         {backend_url}/   docs: {backend_url}/docs", f"  broker:          {broker}"]
    catalog = Catalog(backend.catalog_path)
    demo = [(name, token) for name, token in DEMO_USERS.items()
            if catalog.user_by_token_hash(hash_token(token)) is not None]
    if demo:
        # These demo tokens are public on purpose; real tokens are never printed or logged.
        lines.append("  demo tokens:     " + "   ".join(f"{name}: {token}" for name, token in demo))
        lines.append(f"  try:             curl -H 'Authorization: Bearer {demo[0][1]}' "
                     f"'{api_url}/api/v1/chart-data?symbol=BTCUSD&timeframe=1M_DECIMATED&target_points=2000'")
    return "\n".join(lines) + "\n"


def run_all(host: str | None = None, worker: bool = True) -> int:
    backend_settings = BackendSettings()
    configure_logging(json_logs=backend_settings.logs_as_json, level=backend_settings.log_level)
    host = host or backend_settings.host
    # The relay and the worker read every run with the backend's service token; without one configured, a fresh
    # token for this process lets them work with nothing set up.
    if not backend_settings.service_token:
        backend_settings = backend_settings.model_copy(update={"service_token": new_token()})
    backend_url = f"http://127.0.0.1:{backend_settings.port}"
    # The api and the relay talk to the backend over loopback, exactly as they would to a remote backend.
    api_settings = ApiSettings(backend_url=backend_url)
    if api_settings.public_backend_url is None:
        # The web app's direct path: the browser calls the backend where this process serves it.
        public = f"http://{host}:{backend_settings.port}"
        api_settings = api_settings.model_copy(update={"public_backend_url": public})
    if not backend_settings.cors_origins:
        backend_settings = backend_settings.model_copy(
            update={"cors_origins": browser_origins(host, api_settings.port)})
    servers = [_server(create_backend(backend_settings), host, backend_settings.port),
               _server(create_api(api_settings), host, api_settings.port)]
    relay_settings = RelaySettings(backend_url=backend_url, service_token=backend_settings.service_token,
                                   redis_url=backend_settings.redis_url, metrics_port=None)
    print(_banner(host, backend_settings, api_settings), flush=True)
    prewarm = _prewarm_worker(backend_settings, api_settings) if worker else None
    asyncio.run(_serve_all(servers, relay_settings, prewarm))
    return 0
