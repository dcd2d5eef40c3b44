"""Serving a Hewston app with uvicorn the way every role does: its port bound before anything starts (a port in
use is one line naming the setting to change, not a traceback), and a shutdown that lets the app say goodbye
before uvicorn closes what is left.

uvicorn's own shutdown stops listening, closes WebSockets with 1012 and waits for requests to finish. An app that
holds long-lived sockets (the api's playback streams) can do better first: ``before_shutdown`` runs after the
listeners are closed (so a reconnecting client lands on another node) and before uvicorn touches any connection.

A shutdown always ends, and within a known time, whatever a connection, a background task or a client library
does: the goodbye, the requests still running and the app's own clean-up each have a budget (a step that overruns
is logged by name and the next one starts), and once the process was asked to stop, a deadline past the sum of
those budgets ends it (exit code 1, after a log line naming the tasks still running). Supervisors are told to wait
a little longer than that deadline (docs/operations.md, Stopping).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import signal
import socket
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator

import uvicorn

from common.app_defaults import UVICORN_OPTIONS
from common.logging import get_logger

log = get_logger("hewston.serving")

# Budgets of the shutdown's steps: the app's goodbye, requests still running, the app's clean-up (lifespan).
GOODBYE_S = 4.0
REQUESTS_S = 10.0
CLEAN_UP_S = 4.0
# A connection whose peer read nothing for this long while the server had bytes for it is cut off on shutdown.
STUCK_S = 1.0
# Past this after the signal the process ends whatever is still running; supervisors wait a little longer.
EXIT_DEADLINE_S = GOODBYE_S + REQUESTS_S + CLEAN_UP_S + 2.0
# Connections the kernel holds for a server before it accepts them (capped by net.core.somaxconn, 4,096 on
# current Linux). A crowd opening a run's stream at one instant (thousands of viewers when a link goes round)
# must not overflow it: a dropped SYN is retried only after 1, 3 and 7 s.
LISTEN_BACKLOG = 4096


class PortInUse(Exception):
    """The address cannot be bound; the message is the one line to show."""


def bind(host: str, port: int, *, setting: str) -> socket.socket:
    """A listening socket on ``host:port``; raises :class:`PortInUse` naming ``setting`` when it is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(LISTEN_BACKLOG)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(f"port {port} on {host} is already in use; choose another with {setting}") from None
        if exc.errno in (errno.EACCES, errno.EPERM):
            raise PortInUse(f"port {port} on {host} may not be bound by this user; choose another with "
                            f"{setting}") from None
        raise PortInUse(f"cannot listen on {host}:{port} ({exc.strerror}); check the host, or choose another "
                        f"address with {setting}") from None
    sock.set_inheritable(True)
    return sock


class ExitDeadline:
    """Ends this process ``seconds`` after :meth:`start` unless it has ended by then: the last guarantee that a
    stop ends, whatever ignores its cancellation. Before it ends the process it logs the tasks still running."""

    def __init__(self, seconds: float = EXIT_DEADLINE_S) -> None:
        self.seconds = seconds
        self._timer: threading.Timer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        if self._timer is not None:
            return
        with contextlib.suppress(RuntimeError):
            self._loop = asyncio.get_running_loop()
        self._timer = threading.Timer(self.seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def _running_tasks(self) -> list[str]:
        if self._loop is None:
            return []
        with contextlib.suppress(RuntimeError):  # the loop's task set changed while being read
            return sorted(task.get_name() for task in asyncio.all_tasks(self._loop) if not task.done())
        return []

    def _expire(self) -> None:
        log.error("shutdown_deadline_passed", deadline_s=self.seconds, still_running=self._running_tasks())
        sys.stderr.flush()
        os._exit(1)


class HewstonServer(uvicorn.Server):
    """uvicorn's server with a goodbye from the app (``before_shutdown``) ahead of uvicorn's own shutdown, and
    every step of the shutdown bounded."""

    def __init__(self, config: uvicorn.Config, before_shutdown: Callable[[], Awaitable[object]] | None = None,
                 *, handle_signals: bool = True, goodbye_s: float = GOODBYE_S, clean_up_s: float = CLEAN_UP_S,
                 deadline: ExitDeadline | None = None) -> None:
        super().__init__(config)
        self.before_shutdown = before_shutdown
        self.handle_signals = handle_signals
        self.goodbye_s = goodbye_s
        self.clean_up_s = clean_up_s
        self.deadline = deadline

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """SIGINT and SIGTERM start the graceful shutdown. Unlike uvicorn's own, the signal is not raised again
        afterwards: a role that shut down cleanly exits with 0. Several servers in one loop (hewston up) leave
        the signals to their caller, which stops them all."""
        if not self.handle_signals or threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def handle_exit(self, sig: int, frame: object) -> None:
        super().handle_exit(sig, frame)  # type: ignore[arg-type]
        if self.deadline is not None:
            self.deadline.start()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # Stop accepting first: clients told to reconnect must not come back here.
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        cut_off = asyncio.create_task(self._cut_off_stuck_connections(), name="shutdown-cut-off-stuck")
        try:
            if self.before_shutdown is not None:
                await _bounded("goodbye", self.goodbye_s, self.before_shutdown())
            # uvicorn bounds the wait for running requests itself (timeout_graceful_shutdown, when it is given),
            # not the app's clean-up.
            requests_s = self.config.timeout_graceful_shutdown or REQUESTS_S
            await _bounded("requests_and_clean_up", requests_s + 0.5 + self.clean_up_s, super().shutdown(sockets))
        finally:
            cut_off.cancel()

    async def _cut_off_stuck_connections(self) -> None:
        """Abort connections whose peer has read nothing for ``STUCK_S`` while bytes wait to be sent to it.

        Closing a connection waits until what it still has to send is sent; a client that stopped reading (a
        frozen tab, a dead network path) with its buffers full never lets that happen, and whatever waits on the
        connection (a playback viewer's sender, uvicorn's wait for its connections) waits with it. Its goodbye
        (the 1001 close) cannot reach it anyway: the connection is aborted, which ends those waits at once."""
        loop = asyncio.get_running_loop()
        stuck_since: dict[object, float] = {}
        while True:
            now = loop.time()
            for connection in list(self.server_state.connections):
                transport = getattr(connection, "transport", None)
                if transport is None or not transport.get_write_buffer_size():
                    stuck_since.pop(connection, None)
                    continue
                if now - stuck_since.setdefault(connection, now) >= STUCK_S:
                    log.info("shutdown_cut_off_stuck_connection", unsent_bytes=transport.get_write_buffer_size())
                    transport.abort()
                    stuck_since.pop(connection, None)
            await asyncio.sleep(0.1)


async def _bounded(step: str, seconds: float, work: Awaitable[object]) -> None:
    """Await ``work`` for ``seconds`` at most; an overrun is logged by name and the shutdown goes on."""
    try:
        async with asyncio.timeout(seconds):
            await work
    except TimeoutError:
        log.warning("shutdown_step_overran", step=step, budget_s=seconds)


def server(app, *, before_shutdown: Callable[[], Awaitable[object]] | None = None, handle_signals: bool = True,
           timeout_graceful_shutdown_s: float = REQUESTS_S) -> HewstonServer:
    """A server for ``app`` on sockets bound with :func:`bind`; requests still running after
    ``timeout_graceful_shutdown_s`` of a shutdown are cancelled. A server that handles the signals itself ends
    its process at the exit deadline at the latest."""
    config = uvicorn.Config(app, log_level="warning", lifespan="on",
                            timeout_graceful_shutdown=int(timeout_graceful_shutdown_s), **UVICORN_OPTIONS)
    return HewstonServer(config, before_shutdown, handle_signals=handle_signals,
                         deadline=ExitDeadline() if handle_signals else None)
