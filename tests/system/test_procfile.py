"""The Procfile as operators run it: a Procfile runner (honcho) starts backend, two api nodes, two relays and the
worker against one Redis with the process counts and ports it hands out, and stops them all cleanly."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from bench.cluster import ALICE
from bench.processes import PROCFILE, RedisServer, accepting, answers, role_environment, wait_until

pytestmark = [pytest.mark.system, pytest.mark.timeout(180)]


def free_base_port() -> int:
    """A base port whose runner ports (base, +100, +101, +200, +201, +300) are all free."""
    for base in range(20_000, 60_000, 1_000):
        if not any(accepting(base + offset) for offset in (0, 100, 101, 200, 201, 300)):
            return base
    raise RuntimeError("no free port range")


def test_a_procfile_runner_starts_every_role_with_its_process_counts_and_stops_them_cleanly(tmp_path):
    base = free_base_port()
    with RedisServer(tmp_path / "redis") as redis:
        env_file = tmp_path / "hewston.env"
        env_file.write_text("\n".join([
            f"REDIS_URL={redis.url}", "HEWSTON_SERVICE_TOKEN=hw_procfile_service_token_0123456789",
            # No HEWSTON_BACKEND_URL: the other roles find the backend at HEWSTON_PORT, as the README says.
            f"HEWSTON_PORT={base}",
            f"HEWSTON_DATA_DIR={tmp_path / 'data'}"]) + "\n")
        output = (tmp_path / "honcho.log").open("wb")
        runner = subprocess.Popen(
            [str(Path(sys.executable).parent / "honcho"), "start", "-f", str(PROCFILE), "-d", str(tmp_path),
             "-e", str(env_file), "-p", str(base), "-c", "api=2,relay=2"],
            env=role_environment({}), stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            # api nodes on the runner's ports (base+100, +101), relay metrics on +200 and +201, the worker's on +300.
            endpoints = [f"http://127.0.0.1:{base + 100}/ready", f"http://127.0.0.1:{base + 101}/ready",
                         *(f"http://127.0.0.1:{base + p}/metrics" for p in (200, 201, 300))]
            wait_until(lambda: runner.poll() is None and all(answers(url) for url in endpoints), 60,
                       "the Procfile's roles did not all answer")
            for port in (base + 100, base + 101):
                ready = httpx.get(f"http://127.0.0.1:{port}/ready", timeout=5).json()
                assert ready["status"] == "ok" and ready["redis"]["state"] == "ok"
                symbols = httpx.get(f"http://127.0.0.1:{port}/api/v1/symbols", timeout=5,
                                    headers={"Authorization": f"Bearer {ALICE}"})
                assert symbols.status_code == 401  # no demo data here: a clear answer from the backend
            assert "hewston_relay_runs_held" in httpx.get(endpoints[2], timeout=5).text
        finally:
            runner.send_signal(signal.SIGTERM)
            code = runner.wait(60)
            output.close()
    log = (tmp_path / "honcho.log").read_text()
    # The runner reports its own SIGTERM in its exit code; every role it ran shut down cleanly.
    assert code in (0, 128 + signal.SIGTERM), log[-3000:]
    for name in ("backend.1", "api.1", "api.2", "relay.1", "relay.2", "worker.1"):
        assert f"{name} stopped (rc=0)" in log, log[-3000:]
    assert log.count("relay_stopped") == 2 and log.count("stream_node_going_away") == 2
    assert "worker_stopped" in log and "Traceback" not in log and "\x1b[" not in log
