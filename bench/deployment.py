"""The shared-stream benchmarks' deployment: Redis, the backend, one relay and one api node, each its own process
on 127.0.0.1, stopped (and their scratch directory removed) however the benchmark ends."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from bench.harness import record_section
from bench.processes import free_ports
from bench.redis_server import redis_for_bench
from bench.services import start_process, start_service, stop_service
from common.logging import configure_logging

SERVICE_TOKEN = "hw_bench_stream_service_token_0123456789"
T = TypeVar("T")


@dataclass(frozen=True)
class Roles:
    api_port: int
    api: subprocess.Popen[bytes]
    relay_metrics: str

    def stream_url(self, run_id: str) -> str:
        return f"ws://127.0.0.1:{self.api_port}/api/v1/runs/{run_id}/stream"

    @property
    def api_metrics(self) -> str:
        return f"http://127.0.0.1:{self.api_port}/metrics"


@dataclass
class Deployment:
    redis_url: str
    work_dir: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def data_dir(self) -> Path:
        return self.work_dir / "data"

    def start_roles(self, *, relay_env: dict[str, str] | None = None, api_env: dict[str, str] | None = None,
                    api_workers: int = 1, api_args: list[str] | None = None) -> Roles:
        """Backend (on ``data_dir``, where the benchmark put its runs), one relay and one api node (or
        ``api_workers`` api processes behind one port: ``hewston api --workers N``; ``api_args``: uvicorn's
        options for a single api process)."""
        prefix = f"hwbench-{os.getpid()}"
        backend_port, api_port, relay_port = free_ports(3)
        common = {"REDIS_URL": self.redis_url, "HEWSTON_SERVICE_TOKEN": SERVICE_TOKEN}
        self.procs.append(start_service("backend.main:create_app", backend_port, {
            **common, "HEWSTON_DATA_DIR": str(self.data_dir), "HEWSTON_PORT": str(backend_port)}))
        backend_url = f"http://127.0.0.1:{backend_port}"
        self.procs.append(start_process([sys.executable, "-m", "relay"], relay_port, {
            **common, "HEWSTON_RELAY_BACKEND_URL": backend_url, "HEWSTON_RELAY_REDIS_KEY_PREFIX": prefix,
            "HEWSTON_RELAY_METRICS_PORT": str(relay_port), **(relay_env or {})}))
        api_settings = {
            **common, "HEWSTON_API_BACKEND_URL": backend_url, "HEWSTON_API_REDIS_KEY_PREFIX": prefix,
            # Every viewer connects from 127.0.0.1: thousands of handshakes would spend one address's budget.
            "HEWSTON_API_RATE_LIMIT_ADDRESS_REQUESTS": str(10**9),
            "HEWSTON_API_STREAM_MAX_SOCKETS_PER_ADDRESS": str(10**6), **(api_env or {})}
        if api_workers == 1:
            api = start_service("api.main:create_app", api_port, api_settings, api_args)
        else:
            api = start_process([sys.executable, "-m", "hewston.cli", "api", "--workers", str(api_workers),
                                 "--port", str(api_port)], api_port, api_settings)
        self.procs.append(api)
        return Roles(api_port, api, f"http://127.0.0.1:{relay_port}/metrics")


@contextmanager
def stream_deployment(name: str) -> Iterator[Deployment | None]:
    """A deployment to start roles in (None when there is no redis-server: every role is a process)."""
    with redis_for_bench() as redis_url:
        if redis_url is None:
            yield None
            return
        deployment = Deployment(redis_url, Path(tempfile.mkdtemp(prefix=f"hewston-bench-{name}-")))
        try:
            yield deployment
        finally:
            for proc in reversed(deployment.procs):
                stop_service(proc)
            shutil.rmtree(deployment.work_dir, ignore_errors=True)


def measured_on_deployment(section: str, measure: Callable[[Deployment], T]) -> tuple[T, float] | None:
    """``measure`` on a fresh deployment, and the load average before it; None (the benchmark's section of
    docs/benchmarks.md then says it was skipped) when there is no redis-server."""
    configure_logging(json_logs=True, level="WARNING")
    load_before = os.getloadavg()[0]
    with stream_deployment(section) as deployment:
        if deployment is None:
            record_section(section, "Skipped: this benchmark needs redis-server (every role is a process).")
            return None
        return measure(deployment), load_before
