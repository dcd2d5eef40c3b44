"""Run an ASGI app under a real uvicorn server on 127.0.0.1 with an ephemeral port, in a background thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn

from bench.processes import free_ports
from common.app_defaults import UVICORN_OPTIONS
from common.serving import HewstonServer


def free_port() -> int:
    return free_ports(1)[0]


class LiveServer:
    def __init__(self, app, port: int | None = None, *, send_buffer_bytes: int | None = None,
                 before_shutdown=None, tls: tuple[Path, Path] | None = None) -> None:
        """``send_buffer_bytes``: the kernel send buffer of every accepted connection, small to make a client
        that stops reading push back on the server after little data (a slow network). ``before_shutdown``: the
        app's goodbye when the server stops (the api's ``going_away``), as ``hewston api`` serves it. ``tls``:
        served over TLS with this (certificate file, key file)."""
        self.port = port or free_port()
        self.scheme = "https" if tls else "http"
        certificate = {"ssl_certfile": str(tls[0]), "ssl_keyfile": str(tls[1])} if tls else {}
        # Served as the product serves it (no proxy headers, Hewston's own log scrubbing).
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on",
                                **UVICORN_OPTIONS, **certificate)
        self.server = HewstonServer(config, before_shutdown)
        sockets = None
        if send_buffer_bytes is not None:
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer_bytes)  # accepted sockets inherit it
            sock.bind(("127.0.0.1", self.port))
            sockets = [sock]
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": sockets}, daemon=True)

    @property
    def http_url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"{self.scheme.replace('http', 'ws')}://127.0.0.1:{self.port}"

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("live server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@contextmanager
def live_server(app, port: int | None = None) -> Iterator[LiveServer]:
    server = LiveServer(app, port).start()
    try:
        yield server
    finally:
        server.stop()
