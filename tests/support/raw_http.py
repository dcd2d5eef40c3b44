"""HTTP/1.1 over a plain socket, for requests no HTTP client would send: arbitrary header bytes, stalled or
abandoned bodies."""

from __future__ import annotations

import socket


def request_bytes(method: bytes, target: bytes, headers: list[tuple[bytes, bytes]], body: bytes = b"",
                  *, content_length: int | None = None) -> bytes:
    lines = [method + b" " + target + b" HTTP/1.1", b"Host: 127.0.0.1", b"Connection: close"]
    lines += [name + b": " + value for name, value in headers]
    length = len(body) if content_length is None else content_length
    if body or content_length is not None:
        lines.append(b"Content-Length: " + str(length).encode())
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def read_response(sock: socket.socket) -> bytes:
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def status_of(response: bytes) -> int | None:
    """The status code of a raw response, or None when the server answered nothing."""
    parts = response.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and response.startswith(b"HTTP/1.1 ") else None


def send(port: int, data: bytes, *, timeout_s: float = 10.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as sock:
        sock.sendall(data)
        return read_response(sock)
