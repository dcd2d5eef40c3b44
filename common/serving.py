"""Serving a Hewston app with uvicorn the way every role does: its port bound before anything starts (a port in
use is one line naming the setting to change, not a traceback), and a shutdown that lets the app say goodbye
before uvicorn closes what is left.

uvicorn's own shutdown stops listening, closes WebSockets with 1012 and waits for requests to finish. An app that
holds long-lived sockets (the api's playback streams) can do better first: ``before_shutdown`` runs after the
listeners are closed (so a reconnecting client lands on another node) and before uvicorn touches any connection.
"""

from __future__ import annotations

import contextlib
import errno
import signal
import socket
import threading
from collections.abc import Awaitable, Callable, Iterator

import uvicorn

from common.app_defaults import UVICORN_OPTIONS


class PortInUse(Exception):
    """The address cannot be bound; the message is the one line to show."""


def bind(host: str, port: int, *, setting: str) -> socket.socket:
    """A listening socket on ``host:port``; raises :class:`PortInUse` naming ``setting`` when it is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
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


class HewstonServer(uvicorn.Server):
    """uvicorn's server with a goodbye from the app (``before_shutdown``) ahead of uvicorn's own shutdown."""

    def __init__(self, config: uvicorn.Config, before_shutdown: Callable[[], Awaitable[object]] | None = None,
                 *, handle_signals: bool = True) -> None:
        super().__init__(config)
        self.before_shutdown = before_shutdown
        self.handle_signals = handle_signals

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

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # Stop accepting first: clients told to reconnect must not come back here.
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        if self.before_shutdown is not None:
            await self.before_shutdown()
        await super().shutdown(sockets)


def server(app, *, before_shutdown: Callable[[], Awaitable[object]] | None = None, handle_signals: bool = True,
           timeout_graceful_shutdown_s: float = 10.0) -> HewstonServer:
    """A server for ``app`` on sockets bound with :func:`bind`; requests still running after
    ``timeout_graceful_shutdown_s`` of a shutdown are cancelled."""
    config = uvicorn.Config(app, log_level="warning", lifespan="on",
                            timeout_graceful_shutdown=int(timeout_graceful_shutdown_s), **UVICORN_OPTIONS)
    return HewstonServer(config, before_shutdown, handle_signals=handle_signals)
