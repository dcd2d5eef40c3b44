"""Bursty readers: viewers whose clients read in bursts, stall for 0.5–3 s, and have small receive buffers.

A browser tab in the background, a phone on a train: the socket is read for a while, then not at all. Each
viewer here opens its socket with a small kernel receive buffer, reads for 0.2–1 s, stops reading for 0.5–3 s
(random, its own), and so on, so its TCP window fills and the server's writes to it back up. It counts what it
gets: frames, ``skipped`` notices (the api node resynchronised it), and whether the server closed it.

    python -m bench.bursty_load URL --viewers N --seconds D --out FILE [--auth-token TOKEN] [--seed S]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import socket
import time
from urllib.parse import urlsplit

import orjson

from bench.ws_load import Totals, Viewer

SKIPPED_PREFIX = b'{"type":"skipped"'
RECEIVE_BUFFER_BYTES = 4096


class BurstyViewer(Viewer):
    def __init__(self, *args, rng: random.Random, counts: dict[str, int], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.rng = rng
        self.counts = counts

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        asyncio.get_running_loop().call_later(self.rng.uniform(0.2, 1.0), self._stall)

    def _stall(self) -> None:
        if self.transport.is_closing():
            return
        self.transport.pause_reading()
        self.counts["stalls"] += 1
        asyncio.get_running_loop().call_later(self.rng.uniform(0.5, 3.0), self._read_again)

    def _read_again(self) -> None:
        if self.transport.is_closing():
            return
        self.transport.resume_reading()
        asyncio.get_running_loop().call_later(self.rng.uniform(0.2, 1.0), self._stall)

    def _message(self, buffer: bytearray, start: int, end: int) -> None:
        if buffer.startswith(SKIPPED_PREFIX, start):
            self.counts["skipped"] += 1
        super()._message(buffer, start, end)


async def run(url: str, viewers: int, seconds: float, auth: bytes | None, seed: int) -> tuple[Totals, dict]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    now = time.time()
    totals = Totals(viewers, now, now + seconds)
    counts = {"stalls": 0, "skipped": 0}
    loop = asyncio.get_running_loop()
    transports = []
    for index in range(viewers):
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER_BYTES)
        sock.setblocking(False)
        await loop.sock_connect(sock, (host, port))
        rng = random.Random(seed * 100_003 + index)
        transport, _ = await loop.create_connection(
            lambda i=index, r=rng: BurstyViewer(i, f"{host}:{port}", path, auth, totals, rng=r, counts=counts),
            sock=sock)
        transports.append(transport)
    await asyncio.sleep(max(0.0, totals.stop - time.time()))
    for transport in transports:
        transport.abort()
    return totals, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--viewers", type=int, required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--auth-token", default=None)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, args.viewers + 256)), hard))
    auth = orjson.dumps({"type": "auth", "token": args.auth_token}) if args.auth_token else None
    totals, counts = asyncio.run(run(args.url, args.viewers, args.seconds, auth, args.seed))
    with open(args.out, "wb") as out:
        out.write(orjson.dumps({"frames": totals.frames, "upgraded": totals.upgraded, "closed": totals.closed,
                                "seconds": args.seconds, **counts}))


if __name__ == "__main__":
    main()
