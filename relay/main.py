"""Starting a relay: ``hewston relay`` or ``python -m relay`` (a process of its own, against Redis), or inside
``hewston up`` next to the other roles over the embedded broker.
"""

from __future__ import annotations

import asyncio
import signal
import sys

import redis.asyncio as aioredis
from prometheus_client import start_http_server

from common.logging import configure_logging, get_logger
from common.redis_client import create_redis
from common.redis_eviction import eviction_refusal
from common.serving import ExitDeadline, PortInUse
from relay.metrics import RelayMetrics
from relay.service import RelayService
from relay.settings import RelaySettings

log = get_logger("hewston.relay")


def build_relay(settings: RelaySettings, *, redis: aioredis.Redis | None = None) -> RelayService:
    """A relay on ``settings.redis_url`` (or the given client); its blocking control reads get a connection of
    their own whose socket timeout outlasts the block."""
    commands = redis or create_redis(settings.redis_url, socket_timeout_s=settings.redis_socket_timeout_s)
    blocking = create_redis(settings.redis_url,
                            socket_timeout_s=settings.control_block_ms / 1000 + settings.redis_socket_timeout_s)
    return RelayService(settings, commands, blocking, RelayMetrics())


def refusal(settings: RelaySettings) -> str | None:
    """Why a relay process must not start with these settings, if it must not."""
    if not settings.redis_url:
        return ("REDIS_URL is not set: a relay on its own would publish to a private in-process broker that no "
                "api node can read; set REDIS_URL (hewston up runs every role in one process without it)")
    if not settings.service_token:
        return "HEWSTON_SERVICE_TOKEN is not set: the relay needs the backend's service token to play runs"
    return None


async def serve(settings: RelaySettings) -> None:
    service = build_relay(settings)
    deadline = ExitDeadline()
    try:
        if settings.metrics_port is not None:
            try:
                start_http_server(settings.metrics_port, addr=settings.metrics_host,
                                  registry=service.metrics.registry)
            except OSError as exc:
                raise PortInUse(f"the relay cannot serve its metrics on {settings.metrics_host}:"
                                f"{settings.metrics_port} ({exc.strerror}); choose another port with "
                                f"HEWSTON_RELAY_METRICS_PORT or --metrics-port (0: none)") from None
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()

        def stop() -> None:
            # Cancelling lets the relay release its leases, so other relays take its runs over at once; the stop
            # is bounded (stop_timeout_s), and the exit deadline ends the process should anything still hold it.
            deadline.start()
            task.cancel()

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop)
        service.metrics.loop_lag.start()
        await service.run()
    except asyncio.CancelledError:
        pass
    finally:
        await service.metrics.loop_lag.stop()
        await service.redis.aclose()
        await service.reader.aclose()
        deadline.cancel()


def main(settings: RelaySettings | None = None) -> int:
    settings = settings or RelaySettings()
    configure_logging(json_logs=settings.logs_as_json, level=settings.log_level)
    problem = refusal(settings) or eviction_refusal("relay", settings.redis_url,
                                                    accepted=settings.redis_eviction_accepted)
    if problem is not None:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    try:
        asyncio.run(serve(settings))
    except PortInUse as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
