"""Start a Hewston role as its own uvicorn process on 127.0.0.1 for a benchmark, and stop it afterwards.

Benchmarks run servers in separate processes so that the client measuring them, and the other servers, do
not share their interpreter lock: the numbers then are what a deployment of separate processes would see.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from bench.processes import answers


def start_service(factory: str, port: int, env: dict[str, str],
                  args: list[str] | None = None) -> subprocess.Popen[bytes]:
    """``uvicorn --factory <factory>`` (with uvicorn's ``args``) and ``env`` added to ours; returns once ``/health``
    answers."""
    return start_process([sys.executable, "-m", "uvicorn", "--factory", factory, "--host", "127.0.0.1", "--port",
                          str(port), "--ws-per-message-deflate", "false", "--no-proxy-headers", "--log-level",
                          "warning", *(args or [])], port, env)


def start_process(command: list[str], port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """``command`` with ``env`` added to ours; returns once ``/health`` answers on ``port``."""
    full_env = {**os.environ, "HEWSTON_LOG_LEVEL": "WARNING", "HEWSTON_LOG_JSON": "true", **env}
    proc = subprocess.Popen(command, env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until_answers(proc, f"http://127.0.0.1:{port}/health", str(command[2:]))
    return proc


def wait_until_answers(proc: subprocess.Popen[bytes], url: str, what: str, timeout_s: float = 30.0) -> None:
    """Return once ``url`` answers 200; kill ``proc`` and raise if it exits or ``timeout_s`` passes first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode} while starting")
        if answers(url, timeout_s=1):
            return
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{what} did not start within {timeout_s:.0f} s")


def stop_service(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def running_service(factory: str, port: int, env: dict[str, str]) -> Iterator[str]:
    """The service's base URL while it runs."""
    proc = start_service(factory, port, env)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_service(proc)
