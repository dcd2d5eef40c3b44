"""A whole Hewston deployment on 127.0.0.1, every role its own process as the Procfile starts it: redis-server,
the backend (with the demo data), api nodes, relays and a worker. Used by the system test and the soak benchmark,
which kill, stop and restart its parts while viewers watch.
"""

from __future__ import annotations

import re
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import redis
from redis.cluster import ClusterNode, RedisCluster

from bench.processes import (
    RedisClusterServers,
    RedisSentinelGroup,
    RedisServer,
    Role,
    free_ports,
    role_environment,
    wait_until,
)
from common.keys import KeySpace

ALICE, BOB = "hw_demo_alice", "hw_demo_bob"  # the demo users' public tokens (hewston demo-data)
KEYS = KeySpace("hw")


@dataclass
class Cluster:
    workdir: Path
    apis: int = 2
    relays: int = 2
    worker: bool = True
    # Settings for every role (HEWSTON_… variables), on top of what the cluster sets itself.
    settings: dict[str, str] = field(default_factory=dict)
    # Run on a Redis Cluster of three primaries (REDIS_URL=redis+cluster://…), with the job queue on a Redis of
    # its own (HEWSTON_QUEUE_REDIS_URL), as a deployment past one primary runs.
    redis_cluster: bool = False
    # Run on a primary with a replica watched by three sentinels (REDIS_URL=redis+sentinel://…).
    redis_sentinel: bool = False

    def __post_init__(self) -> None:
        self.workdir = Path(self.workdir)
        self.logdir = self.workdir / "logs"
        ports = free_ports(3 + self.apis + self.relays)
        self.redis = RedisServer(self.workdir / "redis", ports[0])
        self.cluster_servers = RedisClusterServers(self.workdir / "redis-cluster") if self.redis_cluster else None
        self.sentinel_group = RedisSentinelGroup(self.workdir / "redis-sentinel") if self.redis_sentinel else None
        backend_port, worker_port = ports[1], ports[2]
        self.service_token = f"hw_{secrets.token_urlsafe(24)}"
        redis_env = {"REDIS_URL": self.redis.url}
        if self.cluster_servers is not None:
            redis_env = {"REDIS_URL": self.cluster_servers.url, "HEWSTON_QUEUE_REDIS_URL": self.redis.url}
        elif self.sentinel_group is not None:
            redis_env = {"REDIS_URL": self.sentinel_group.url}
        self.env = {**redis_env, "HEWSTON_SERVICE_TOKEN": self.service_token,
                    "HEWSTON_BACKEND_URL": f"http://127.0.0.1:{backend_port}", "HEWSTON_PORT": str(backend_port),
                    "HEWSTON_DATA_DIR": str(self.workdir / "data"), **self.settings}
        self.backend = Role("backend", "backend", self.env, self.logdir, port=backend_port)
        self.api_nodes = [Role("api", f"api.{i + 1}", self.env, self.logdir, port=port)
                          for i, port in enumerate(ports[3:3 + self.apis])]
        self.relay_nodes = [Role("relay", f"relay.{i + 1}", self.env, self.logdir, port=port)
                            for i, port in enumerate(ports[3 + self.apis:])]
        self.worker_node = Role("worker", "worker.1", self.env, self.logdir, port=worker_port) if self.worker else None

    # Lifecycle -------------------------------------------------------------------------------------------------

    def start(self) -> Cluster:
        self.redis.start()
        if self.cluster_servers is not None:
            self.cluster_servers.start()
        if self.sentinel_group is not None:
            self.sentinel_group.start()
        self.demo_data()
        self.backend.start()
        for role in [*self.api_nodes, *self.relay_nodes, *([self.worker_node] if self.worker_node else [])]:
            role.start()
        for role in [self.backend, *self.api_nodes, *self.relay_nodes]:
            role.wait_listening(60)
        return self

    def demo_data(self) -> None:
        done = subprocess.run([sys.executable, "-m", "hewston.cli", "demo-data", "--if-missing"],
                              env=role_environment(self.env), cwd=self.workdir, capture_output=True, text=True,
                              timeout=180)
        if done.returncode != 0:
            raise RuntimeError(f"demo data: {done.stderr[-2000:]}")

    @property
    def roles(self) -> list[Role]:
        return [self.backend, *self.api_nodes, *self.relay_nodes, *([self.worker_node] if self.worker_node else [])]

    def stop(self) -> dict[str, int]:
        """SIGTERM every role (api nodes and relays first); returns each one's exit code."""
        codes = {role.name: role.terminate() for role in reversed(self.roles)}
        self.redis.stop()
        if self.cluster_servers is not None:
            self.cluster_servers.stop()
        if self.sentinel_group is not None:
            self.sentinel_group.stop()
        return codes

    def __enter__(self) -> Cluster:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # Looking inside ------------------------------------------------------------------------------------------

    def redis_client(self) -> redis.Redis:
        """A client of the Redis the stream lives on (the cluster, when there is one)."""
        if self.cluster_servers is not None:
            nodes = [ClusterNode("127.0.0.1", node.port) for node in self.cluster_servers.nodes]
            return RedisCluster(startup_nodes=nodes, socket_timeout=2)  # type: ignore[return-value]
        if self.sentinel_group is not None:
            return redis.Redis(host="127.0.0.1", port=self.sentinel_group.primary.port, socket_timeout=2)
        return redis.Redis.from_url(self.redis.url, socket_timeout=2)

    def relay_holding(self, run_id: str, timeout_s: float = 15) -> Role:
        """The relay process holding ``run_id``'s lease (its fencing token starts with the relay's id)."""
        holder: list[Role] = []

        def found() -> bool:
            with self.redis_client() as client:
                token = client.get(KEYS.run_stream(run_id).lease)
            if token is None:
                return False
            relay_id = token.decode().partition(":")[0]
            holder[:] = [role for role in self.relay_nodes if role.running() and relay_id in relay_ids(role)]
            return bool(holder)

        wait_until(found, timeout_s, f"no relay holds run {run_id}")
        return holder[0]

    def upstream_connections(self) -> int:
        """Playback connections the relays hold to the backend right now (from their metrics)."""
        return sum(relay_upstream_connections(f"{role.url}/metrics") for role in self.relay_nodes if role.running())

    def watched_runs(self) -> int:
        """Runs some api node wants relayed right now (their demand deadline lies ahead)."""
        with self.redis_client() as client:
            return client.zcount(KEYS.stream_demand(), int(time.time() * 1000), "+inf")

    def one_upstream_per_watched_run(self, timeout_s: float = 5) -> bool:
        """Whether the relays hold exactly one backend connection per watched run (waiting a little for demand
        that just lapsed to be released)."""
        try:
            wait_until(lambda: self.upstream_connections() == self.watched_runs(), timeout_s, "", interval_s=0.2)
        except TimeoutError:
            return False
        return True

    def rss_kib(self) -> dict[str, int | None]:
        return {role.name: role.rss_kib() for role in self.roles}


def relay_ids(role: Role) -> set[str]:
    """The id of the relay process running now (from its metrics), which starts its lease tokens."""
    try:
        text = httpx.get(f"{role.url}/metrics", timeout=5).text
    except httpx.HTTPError:
        return set()
    return set(re.findall(r'hewston_relay_info\{relay_id="([0-9a-f]+)"\}', text))


def metric(url: str, name: str) -> float | None:
    """The value of an unlabelled Prometheus sample (or the sum of a labelled family) at ``url``."""
    return metric_in(httpx.get(url, timeout=5).text, name)


def metric_in(text: str, name: str, label: str = "") -> float | None:
    """Sum of the samples of ``name`` in Prometheus text (those with ``label``, e.g. ``outcome="done"``), or None
    when there is none."""
    pattern = re.compile(rf"^{re.escape(name)}(?:{{([^}}]*)}})? (\S+)$", re.M)
    values = [float(value) for labels, value in pattern.findall(text) if label in labels]
    return sum(values) if values else None


def relay_upstream_connections(metrics_url: str) -> int:
    """Playback connections one relay holds to the backend right now (its own gauge, at ``metrics_url``)."""
    return int(metric(metrics_url, "hewston_relay_upstream_connections") or 0)


def create_run(api_url: str, token: str = ALICE, *, days: int = 45, timeout_s: float = 60) -> str:
    """A completed backtest of minute bars (about 1,440 a day) through the api; returns its id."""
    headers = {"Authorization": f"Bearer {token}"}
    start = 1_740_787_200  # 2025-03-01 00:00 UTC
    body = {"symbol": "BTCUSD", "strategy": "ma_crossover", "timeframe": "minute", "from": start,
            "to": start + days * 86_400}
    run = httpx.post(f"{api_url}/api/v1/backtests", json=body, headers=headers, timeout=30).json()
    deadline = time.monotonic() + timeout_s
    while run.get("status") not in ("completed", "failed"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"run {run.get('id')} did not finish: {run}")
        time.sleep(0.1)
        run = httpx.get(f"{api_url}/api/v1/backtests/{run['id']}", headers=headers, timeout=30).json()
    if run["status"] != "completed":
        raise RuntimeError(f"run failed: {run}")
    return run["id"]


def share_run(api_url: str, run_id: str, user: str, token: str = ALICE) -> None:
    response = httpx.post(f"{api_url}/api/v1/backtests/{run_id}/shares", json={"user": user},
                          headers={"Authorization": f"Bearer {token}"}, timeout=30)
    response.raise_for_status()
