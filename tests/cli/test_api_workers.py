"""``hewston api --workers N``: N whole api nodes behind one port (SO_REUSEPORT), started again when one dies,
and all stopped gracefully by one signal."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bench.processes import free_ports, wait_until

ROOT = Path(__file__).resolve().parents[2]
NODE = re.compile(r'hewston_stream_node_info\{node_id="([^"]+)"\}')


def _node_ids(port: int, tries: int = 40) -> set[str]:
    """The node ids answering on ``port``, each request on a new connection (the kernel spreads them)."""
    found = set()
    for _ in range(tries):
        try:
            text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        except httpx.HTTPError:
            continue
        found.update(NODE.findall(text))
    return found


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-ww", "-o", "pid=,args=", "--ppid", str(pid)], capture_output=True,
                         text=True).stdout
    return [int(line.split()[0]) for line in out.splitlines() if "multiprocessing.spawn" in line]


def test_two_api_processes_share_one_port_restart_when_one_dies_and_stop_on_one_signal(tmp_path):
    port = free_ports(1)[0]
    env = {**os.environ, "HEWSTON_BACKEND_URL": "http://127.0.0.1:9", "HEWSTON_LOG_LEVEL": "WARNING"}
    env.pop("REDIS_URL", None)
    log = (tmp_path / "api.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "hewston.cli", "api", "--workers", "2", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: len(_node_ids(port, 10)) == 2, 60, "two api processes on one port")
        first = _children(proc.pid)
        assert len(first) == 2
        os.kill(first[0], signal.SIGKILL)  # one dies: it is started again, a new node
        wait_until(lambda: len(_children(proc.pid)) == 2 and first[0] not in _children(proc.pid), 30,
                   "the dead api process started again")
        wait_until(lambda: len(_node_ids(port, 10)) == 2, 60, "two api processes again")
        proc.send_signal(signal.SIGTERM)
        started = time.monotonic()
        assert proc.wait(30) == 0
        assert time.monotonic() - started < 25
        assert not _children(proc.pid)
    finally:
        if proc.poll() is None:
            for child in _children(proc.pid):
                os.kill(child, signal.SIGKILL)
            proc.kill()
            proc.wait(10)
        log.close()
