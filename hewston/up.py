"""``hewston up``: every role in one process, for a laptop or a demo.

Each role is a uvicorn server (or background task) in one event loop. Without ``REDIS_URL`` the roles share
the embedded in-process broker; with it they use that server, exactly as separate processes would.

Both ports are bound before anything starts (a port in use is one line naming the setting to change), and the
banner is printed only once every server listens. Ctrl-C or SIGTERM stops the servers (the api closes playback
streams with 1001 first), then the relay gives its leases back and the worker returns its jobs.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import sys
from collections.abc import Callable

from api.main import create_app as create_api
from api.settings import ApiSettings
from backend.auth import hash_token, new_token
from backend.catalog import Catalog
from backend.demo.data import DEMO_OPERATORS, DEMO_USERS
from backend.main import create_app as create_backend
from backend.settings import BackendSettings
from common import serving
from common.logging import configure_logging
from common.redis_eviction import eviction_refusal
from relay.main import build_relay
from relay.settings import RelaySettings
from workers.config import WorkerConfig
from workers.worker import in_process_worker

Served = tuple[serving.HewstonServer, socket.socket]


def _prewarm_worker(backend: BackendSettings, api: ApiSettings) -> contextlib.AbstractAsyncContextManager:
    """The prewarm worker, run in the shared loop: the api's backend, its broker, the backend's service token."""
    config = WorkerConfig(backend_url=api.backend_url, service_token=backend.service_token, redis_url=api.redis_url)
    if "metrics_port" not in config.model_fields_set:
        # One process for a laptop: the worker's metrics server only when asked for, so that its default port
        # (taken by a worker of another deployment, say) never stops a demo.
        config = config.model_copy(update={"metrics_port": 0})
    return in_process_worker(config, api)


def _on_signals(stop: Callable[[], None]) -> Callable[[], None]:
    """Call ``stop`` on SIGINT or SIGTERM (from the main thread only); returns what undoes it."""
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):  # not the main thread
            loop.add_signal_handler(sig, stop)
            installed.append(sig)

    def undo() -> None:
        for sig in installed:
            loop.remove_signal_handler(sig)

    return undo


async def _announce(servers: list[Served], tasks: list[asyncio.Task[None]], print_banner: Callable[[], None]) -> None:
    while not all(server.started for server, _sock in servers):
        if any(task.done() for task in tasks):
            return  # a server could not start: no banner
        await asyncio.sleep(0.02)
    print_banner()


async def _serve_all(servers: list[Served], relay_settings: RelaySettings,
                     worker: contextlib.AbstractAsyncContextManager | None = None,
                     print_banner: Callable[[], None] | None = None) -> None:
    # The relay is built inside the loop: the embedded broker's clients belong to the loop that uses them.
    relay = build_relay(relay_settings)
    # The servers' shutdown, then the relay's and the worker's (which lets running jobs finish).
    deadline = serving.ExitDeadline(serving.EXIT_DEADLINE_S + relay_settings.redis_socket_timeout_s + 10.0)

    def stop() -> None:
        for server, _sock in servers:
            server.should_exit = True

    def stop_by_signal() -> None:
        deadline.start()
        stop()

    undo_signals = _on_signals(stop_by_signal)
    try:
        async with worker or contextlib.nullcontext():
            relay_task = asyncio.create_task(relay.run(), name="relay")
            tasks = [asyncio.create_task(server.serve(sockets=[sock]), name="server") for server, sock in servers]
            announce = asyncio.create_task(_announce(servers, tasks, print_banner or (lambda: None)))
            try:
                await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                stop()  # one server ending ends them all
                await asyncio.gather(*tasks)
            finally:
                for task in (announce, relay_task, *tasks):
                    task.cancel()
                # Cancelling the relay releases its leases; leaving the block returns the worker's jobs.
                await asyncio.wait([announce, relay_task, *tasks])
    finally:
        undo_signals()
        deadline.cancel()


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


def _bind_all(host: str, ports: list[tuple[int, str]]) -> list[socket.socket]:
    bound: list[socket.socket] = []
    try:
        for port, setting in ports:
            bound.append(serving.bind(host, port, setting=setting))
    except serving.PortInUse:
        for sock in bound:
            sock.close()
        raise
    return bound


def run_all(host: str | None = None, worker: bool = True, port: int | None = None,
            api_port: int | None = None) -> int:
    # The options are read like the variables they stand for, and checked alike.
    backend_settings = BackendSettings(**{name: value for name, value in (("host", host), ("port", port))
                                          if value is not None})
    configure_logging(json_logs=backend_settings.logs_as_json, level=backend_settings.log_level)
    api_settings = ApiSettings(**({"port": api_port} if api_port is not None else {}))
    problem = backend_settings.data_dir_problem() or eviction_refusal(
        "hewston up", api_settings.redis_url, accepted=api_settings.redis_eviction_accepted)
    if problem is not None:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    host = backend_settings.host
    try:
        backend_sock, api_sock = _bind_all(host, [(backend_settings.port, "HEWSTON_PORT or --port"),
                                                  (api_settings.port, "HEWSTON_API_PORT or --api-port")])
    except serving.PortInUse as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    # Port 0 asks for any free port: the settings carry the ports actually bound.
    backend_settings = backend_settings.model_copy(update={"port": backend_sock.getsockname()[1]})
    # The relay and the worker read every run with the backend's service token; without one configured, a fresh
    # token for this process lets them work with nothing set up.
    if not backend_settings.service_token:
        backend_settings = backend_settings.model_copy(update={"service_token": new_token()})
    if not backend_settings.operators:
        # The demo's operator, so the operations page can be seen with nothing set up.
        backend_settings = backend_settings.model_copy(update={"operators": DEMO_OPERATORS})
    backend_url = f"http://127.0.0.1:{backend_settings.port}"
    # The api and the relay talk to the backend over loopback, exactly as they would to a remote backend.
    api_settings = api_settings.model_copy(update={"backend_url": backend_url, "port": api_sock.getsockname()[1]})
    if api_settings.public_backend_url is None:
        # The web app's direct path: the browser calls the backend where this process serves it.
        public = f"http://{host}:{backend_settings.port}"
        api_settings = api_settings.model_copy(update={"public_backend_url": public})
    if not backend_settings.cors_origins:
        backend_settings = backend_settings.model_copy(
            update={"cors_origins": browser_origins(host, api_settings.port)})
    backend_app, api_app = create_backend(backend_settings), create_api(api_settings)
    servers: list[Served] = [
        (serving.server(backend_app, handle_signals=False), backend_sock),
        (serving.server(api_app, before_shutdown=api_app.state.stream_hub.going_away, handle_signals=False),
         api_sock)]
    relay_settings = RelaySettings(backend_url=backend_url, service_token=backend_settings.service_token,
                                   redis_url=backend_settings.redis_url, metrics_port=None)
    prewarm = _prewarm_worker(backend_settings, api_settings) if worker else None
    banner = _banner(host, backend_settings, api_settings)
    try:
        asyncio.run(_serve_all(servers, relay_settings, prewarm, lambda: print(banner, flush=True)))
    except serving.PortInUse as exc:  # the worker's metrics port, bound as the worker starts
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0

