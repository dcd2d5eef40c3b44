"""Processes on 127.0.0.1 for the system test, the benchmarks and the test suite's throwaway Redis.

- :class:`RedisServer`: a throwaway ``redis-server`` (no persistence, so a restart loses the history, as a real
  failover without persistence does) that can be stopped and started again on the same port.
- :class:`Role`: one Hewston role started from its own line of the ``Procfile`` (so the commands operators run
  are the ones tested), with ``PORT`` and settings from the environment, its output in a log file, and the
  controls a fault test needs: SIGKILL, SIGTERM with its exit code, a new start.

Everything binds to 127.0.0.1 only.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
PROCFILE = ROOT / "Procfile"
HOST = "127.0.0.1"


def free_ports(n: int) -> list[int]:
    """``n`` distinct ports free on 127.0.0.1 right now."""
    socks = []
    try:
        for _ in range(n):
            sock = socket.socket()
            sock.bind((HOST, 0))
            socks.append(sock)
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def cluster_ports(n: int) -> list[int]:
    """``n`` ports for Redis Cluster nodes: each free, below 55536, and with its cluster bus port (+10000) free."""
    found: list[int] = []
    for port in random.sample(range(20_000, 30_000), 2_000):
        if len(found) == n:
            break
        pair = []
        try:
            for candidate in (port, port + 10_000):
                sock = socket.socket()
                pair.append(sock)
                sock.bind((HOST, candidate))
            found.append(port)
        except OSError:
            continue
        finally:
            for sock in pair:
                sock.close()
    return found


def accepting(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((HOST, port)) == 0


def answers(url: str, timeout_s: float = 2.0) -> bool:
    """Whether ``url`` answers 200 right now (an error or no answer: False)."""
    try:
        return httpx.get(url, timeout=timeout_s).status_code == 200
    except httpx.HTTPError:
        return False


def wait_until(check, timeout_s: float, what: str, interval_s: float = 0.05) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} within {timeout_s:g} s")
        time.sleep(interval_s)


def cpu_seconds(pid: int) -> float:
    """CPU time (user and system) process ``pid`` has used so far (from /proc; 0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int | None) -> int | None:
    """Resident memory of process ``pid`` now (from /proc), or None when there is no such process."""
    if pid is None:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def procfile_commands(path: Path = PROCFILE) -> dict[str, str]:
    """The Procfile's process types and their commands (comments and blank lines skipped)."""
    commands = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_-]+):\s*(.+)$", line)
        if match:
            commands[match.group(1)] = match.group(2).strip()
    return commands


def role_environment(extra: dict[str, str]) -> dict[str, str]:
    """This environment with the interpreter's scripts first on PATH (the ``hewston`` command), no colour, and
    ``extra``; settings of the caller's own environment that would steer the roles elsewhere are dropped."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("HEWSTON_") and name not in ("REDIS_URL", "PORT")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


class RedisServer:
    def __init__(self, workdir: Path, port: int | None = None, *, args: tuple[str, ...] = ()) -> None:
        """``args``: more options of redis-server (e.g. ``("--replicaof", "127.0.0.1", "6379")``)."""
        self.workdir = Path(workdir)
        self.port = port or free_ports(1)[0]
        self.args = args
        self.proc: subprocess.Popen[bytes] | None = None

    @staticmethod
    def installed() -> bool:
        return shutil.which("redis-server") is not None

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def start(self) -> RedisServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = (self.workdir / "redis.log").open("ab")
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", HOST, "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir), *self.args], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        wait_until(self.ping, 10, f"redis-server on port {self.port} did not answer")
        return self

    def ping(self) -> bool:
        try:
            with socket.create_connection((HOST, self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


class RedisSentinelGroup:
    """A primary, a replica and three sentinels watching them (quorum 2), on 127.0.0.1; ``url`` is the
    ``redis+sentinel://`` form every role takes. ``primary`` is the server that is primary now."""

    SERVICE = "hewston"

    def __init__(self, workdir: Path) -> None:
        self.workdir = Path(workdir)
        primary_port, replica_port, *sentinel_ports = free_ports(5)
        self.servers = [RedisServer(self.workdir / "a", primary_port),
                        RedisServer(self.workdir / "b", replica_port,
                                    args=("--replicaof", HOST, str(primary_port)))]
        self.sentinel_ports = sentinel_ports
        self.sentinels: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        hosts = ",".join(f"{HOST}:{port}" for port in self.sentinel_ports)
        return f"redis+sentinel://{hosts}/{self.SERVICE}/0"

    def start(self) -> RedisSentinelGroup:
        for server in self.servers:
            server.start()
        primary = self.servers[0].port
        for port in self.sentinel_ports:
            workdir = self.workdir / f"sentinel-{port}"
            workdir.mkdir(parents=True, exist_ok=True)
            conf = workdir / "sentinel.conf"  # a sentinel rewrites its file as it learns
            conf.write_text(f"port {port}\nbind {HOST}\ndir {workdir}\n"
                            f"sentinel monitor {self.SERVICE} {HOST} {primary} 2\n"
                            f"sentinel down-after-milliseconds {self.SERVICE} 1000\n"
                            f"sentinel failover-timeout {self.SERVICE} 5000\n")
            log = (workdir / "sentinel.log").open("ab")
            self.sentinels.append(subprocess.Popen(["redis-server", str(conf), "--sentinel"], stdout=log,
                                                   stderr=subprocess.STDOUT, start_new_session=True))
            log.close()
        wait_until(self._watched, 20, "the sentinels did not see the primary and its replica")
        return self

    def _watched(self) -> bool:
        for port in self.sentinel_ports:
            out = subprocess.run(["redis-cli", "-p", str(port), "sentinel", "replicas", self.SERVICE],
                                 capture_output=True, text=True, timeout=5).stdout
            if str(self.servers[1].port) not in out:
                return False
        return True

    @property
    def primary(self) -> RedisServer:
        out = subprocess.run(["redis-cli", "-p", str(self.sentinel_ports[0]), "sentinel",
                              "get-master-addr-by-name", self.SERVICE], capture_output=True, text=True,
                             timeout=5).stdout.split()
        return next(server for server in self.servers if str(server.port) in out[1:2])

    def stop(self) -> None:
        for proc in self.sentinels:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        self.sentinels = []
        for server in self.servers:
            server.stop()

    def __enter__(self) -> RedisSentinelGroup:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


class RedisClusterServers:
    """A Redis Cluster of ``primaries`` redis-server processes on 127.0.0.1 (no replicas), joined with
    ``redis-cli --cluster create``; ``url`` is the ``redis+cluster://`` form every role takes."""

    def __init__(self, workdir: Path, primaries: int = 3, replicas: int = 0) -> None:
        """``replicas``: replicas per primary (a primary that dies is then replaced by its replica)."""
        self.replicas = replicas
        count = primaries * (1 + replicas)
        self.nodes = [RedisServer(Path(workdir) / f"node-{i}", port, args=(
            "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000"))
            for i, port in enumerate(cluster_ports(count))]

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"{HOST}:{node.port}" for node in self.nodes)

    def start(self) -> RedisClusterServers:
        for node in self.nodes:
            node.start()
        addresses = [f"{HOST}:{node.port}" for node in self.nodes]
        subprocess.run(["redis-cli", "--cluster", "create", *addresses, "--cluster-replicas", str(self.replicas),
                        "--cluster-yes"], check=True, capture_output=True, timeout=60)
        wait_until(self._ready, 20, "the Redis Cluster did not reach cluster_state:ok")
        return self

    def _ready(self) -> bool:
        for node in self.nodes:
            if node.proc is None:
                continue  # stopped on purpose
            out = subprocess.run(["redis-cli", "-p", str(node.port), "cluster", "info"], capture_output=True,
                                 text=True, timeout=5).stdout
            if "cluster_state:ok" not in out:
                return False
            # A replica that has not finished its first sync cannot replace its primary.
            replication = subprocess.run(["redis-cli", "-p", str(node.port), "info", "replication"],
                                         capture_output=True, text=True, timeout=5).stdout
            if "role:slave" in replication and "master_link_status:up" not in replication:
                return False
        return True

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def __enter__(self) -> RedisClusterServers:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


class Role:
    """One process of a Procfile type (``backend``, ``api``, ``relay``, ``worker``)."""

    def __init__(self, kind: str, name: str, env: dict[str, str], logdir: Path, *, port: int | None = None,
                 command: str | None = None) -> None:
        self.kind = kind
        self.name = name
        self.port = port
        self.command = command or procfile_commands()[kind]
        self.env = role_environment({**env, **({"PORT": str(port)} if port is not None else {})})
        self.log_path = Path(logdir) / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def start(self) -> Role:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        # exec: the shell becomes the role, so its pid is the one that gets the signals.
        command = self.command if self.command.startswith("exec ") else f"exec {self.command}"
        self.proc = subprocess.Popen(["/bin/sh", "-c", command], env=self.env, cwd=self.log_path.parent,
                                     stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        return self

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_listening(self, timeout_s: float = 30) -> Role:
        def up() -> bool:
            if not self.running():
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode if self.proc else None}:\n"
                                   f"{self.log()[-3000:]}")
            return accepting(self.port)
        wait_until(up, timeout_s, f"{self.name} did not listen on port {self.port}")
        return self

    def kill(self) -> None:
        """SIGKILL, as a crash: nothing is cleaned up."""
        if self.running():
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def terminate(self, timeout_s: float = 30) -> int:
        """SIGTERM, as an orchestrator stops it; returns the exit code (killed after ``timeout_s``)."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode

    def rss_kib(self) -> int | None:
        """Resident memory now, or None when the process is gone."""
        return rss_kib(self.pid)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""
