"""``hewston api --workers N``: N api processes behind one port on one host.

Each process is a whole api node (its own stream reader, its own viewers, its own node id in the demand it
records): nothing is shared between them but the port. Each binds the port with ``SO_REUSEPORT`` and the
kernel spreads new connections over them, so a host with N cores turns them into N nodes without a proxy in
front. A WebSocket stays on the process that accepted it; a process that stops sends its viewers away with 1001
and they come back through the same port to another one, with their resume point.

The parent holds the port (bound, never listening, so the kernel gives it no connection), starts the
processes, starts again one that died (after a pause that grows while they keep dying), and on SIGINT or
SIGTERM passes the signal on and waits for every process to finish its graceful shutdown.
"""

from __future__ import annotations

import multiprocessing
import signal
import socket
import sys
import time
from collections.abc import Callable

from common.logging import get_logger
from common.serving import LISTEN_BACKLOG

log = get_logger("hewston")

# How long the processes get to shut down after the signal before they are killed.
_STOP_GRACE_S = 20.0
_RESTART_BACKOFF_MAX_S = 10.0


def reuse_port_socket(host: str, port: int, *, listen: bool) -> socket.socket:
    """A socket bound to ``host:port`` with ``SO_REUSEPORT``, listening if asked; raises OSError when the port
    is taken by anything not in this group."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
        if listen:
            sock.listen(LISTEN_BACKLOG)
    except OSError:
        sock.close()
        raise
    return sock


def run_processes(count: int, host: str, port: int, target: Callable[[str, int], None]) -> int:
    """Run ``target(host, port)`` in ``count`` processes until SIGINT or SIGTERM; returns the exit code."""
    try:
        holder = reuse_port_socket(host, port, listen=False)
    except OSError as exc:
        print(f"error: port {port} on {host} cannot be shared by api processes ({exc.strerror}); choose another "
              "with HEWSTON_API_PORT or --port", file=sys.stderr)
        return 2
    context = multiprocessing.get_context("spawn")
    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    processes: list[multiprocessing.process.BaseProcess] = []
    failures = 0
    try:
        processes = [_start(context, target, host, port, i) for i in range(count)]
        log.info("api_processes_started", count=count, host=host, port=port)
        while not stopping:
            time.sleep(0.2)
            for i, process in enumerate(processes):
                if process.is_alive() or stopping:
                    continue
                failures += 1
                pause_s = min(_RESTART_BACKOFF_MAX_S, 0.5 * 2 ** min(failures, 5))
                log.warning("api_process_died", index=i, exitcode=process.exitcode, restart_in_s=pause_s)
                time.sleep(pause_s)
                processes[i] = _start(context, target, host, port, i)
        return _stop_all(processes)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        holder.close()


def _start(context, target: Callable[[str, int], None], host: str, port: int,  # noqa: ANN001 - mp context
           index: int) -> multiprocessing.process.BaseProcess:
    process = context.Process(target=target, args=(host, port), name=f"hewston-api-{index}")
    process.start()
    return process


def _stop_all(processes: list[multiprocessing.process.BaseProcess]) -> int:
    for process in processes:
        if process.is_alive() and process.pid is not None:
            process.terminate()  # SIGTERM: each closes its viewers with 1001 and shuts down gracefully
    deadline = time.monotonic() + _STOP_GRACE_S
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join(5)
    return 0 if all(process.exitcode == 0 for process in processes) else 1
