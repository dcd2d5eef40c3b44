"""A server's shutdown always ends: a step that overruns its budget is logged and skipped, and a task that ignores
its cancellation cannot keep the process alive past the exit deadline. Each case is a real process on 127.0.0.1
stopped with SIGTERM, as a supervisor stops a role."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from bench.processes import ROOT, free_ports

pytestmark = pytest.mark.timeout(60)

SERVER = textwrap.dedent("""
    import asyncio, sys
    from contextlib import asynccontextmanager
    from fastapi import FastAPI
    from common import serving
    from common.logging import configure_logging

    configure_logging(json_logs=False)
    port, clean_up = int(sys.argv[1]), sys.argv[2]

    async def stubborn():
        while True:  # swallows every cancellation, as a buggy client library might
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                pass

    @asynccontextmanager
    async def lifespan(_app):
        print("ready", flush=True)  # the signal handlers are in place by now
        yield
        if clean_up == "slow":
            await asyncio.sleep(3600)
        elif clean_up == "stubborn":
            task = asyncio.create_task(stubborn(), name="stubborn-task")
            await asyncio.sleep(0)
            task.cancel()
            await asyncio.wait([task])

    async def goodbye():
        await asyncio.sleep(3600 if clean_up == "slow" else 0)

    server = serving.HewstonServer(
        serving.server(FastAPI(lifespan=lifespan), timeout_graceful_shutdown_s=1).config, goodbye,
        goodbye_s=0.5, clean_up_s=0.5, deadline=serving.ExitDeadline(4.0))
    server.run(sockets=[serving.bind("127.0.0.1", port, setting="port")])
""")


def stop(tmp_path: Path, clean_up: str) -> tuple[int, float, str]:
    """Start the server, SIGTERM it; its exit code, how long it took to end, and its output."""
    script = tmp_path / "server.py"
    script.write_text(SERVER)
    port = free_ports(1)[0]
    proc = subprocess.Popen([sys.executable, str(script), str(port), clean_up], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert proc.stdout.readline().strip() == "ready"
        began = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
        return proc.returncode, time.monotonic() - began, output
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_a_clean_shutdown_exits_with_0_at_once(tmp_path):
    code, took, output = stop(tmp_path, "clean")
    assert code == 0 and took < 3.0, (code, took, output)
    assert "overran" not in output


def test_a_goodbye_and_a_clean_up_that_hang_are_cut_off_at_their_budgets(tmp_path):
    code, took, output = stop(tmp_path, "slow")
    assert code == 0, output
    assert "shutdown_step_overran" in output and "step=goodbye" in output and "step=requests_and_clean_up" in output
    assert took < 4.0, (took, output)


def test_a_task_that_ignores_its_cancellation_cannot_outlive_the_exit_deadline(tmp_path):
    code, took, output = stop(tmp_path, "stubborn")
    assert code == 1, output
    assert 3.5 < took < 8.0, (took, output)
    assert "shutdown_deadline_passed" in output and "stubborn-task" in output, output
