"""A lean WebSocket load client: many viewers in one process, each counting the frames it receives and how late.

``websockets`` costs tens of microseconds per message in Python, which at thousands of viewers times 30 frames a
second would make the client, not the server, the bottleneck. This client parses server frames by hand (they
are unmasked; only the frame header is read) and looks into a payload only far enough to find its type and
``ts`` (the publish time in epoch milliseconds, placed first by the stream's envelope). It answers pings, so the
server keeps it, and sends the auth message as a browser does.

    python -m bench.ws_load URL --viewers N --start T0 --seconds D --out FILE [--auth-token TOKEN] [--join]

counts frames received between ``T0`` and ``T0 + D`` (epoch seconds) and writes per-viewer frame counts and a
latency histogram (1 ms bins) to FILE as JSON, with each viewer's upgrade time and first frame's arrival time.
With ``--join`` the viewers connect at ``T0``, all at once (one after another as fast as the client can, no
ramp), and the client stops as soon as every viewer has received a frame (or at ``T0 + D``).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import orjson

FRAME_PREFIX = b'{"type":"frame"'
TS_FIELD = b'"ts":'
HISTOGRAM_MS = 5000


def client_frame(opcode: int, payload: bytes) -> bytes:
    """A masked client-to-server frame (RFC 6455 §5.3: clients must mask)."""
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        header = bytes((0x80 | opcode, 0x80 | n))
    elif n < 65_536:
        header = bytes((0x80 | opcode, 0x80 | 126)) + n.to_bytes(2, "big")
    else:
        header = bytes((0x80 | opcode, 0x80 | 127)) + n.to_bytes(8, "big")
    masked = bytes(b ^ mask[i & 3] for i, b in enumerate(payload))
    return header + mask + masked


class Totals:
    def __init__(self, viewers: int, start: float, stop: float) -> None:
        self.frames = [0] * viewers
        self.histogram = [0] * (HISTOGRAM_MS + 1)
        self.start, self.stop = start, stop
        self.upgraded = 0
        self.closed = 0
        # Epoch seconds at which each viewer's upgrade was answered and its first frame arrived (0: not yet).
        self.upgraded_at = [0.0] * viewers
        self.first_frame_at = [0.0] * viewers
        self.without_frame = viewers
        self.all_framed = asyncio.Event()


class Viewer(asyncio.Protocol):
    def __init__(self, index: int, host: str, path: str, auth: bytes | None, totals: Totals) -> None:
        self.index, self.host, self.path, self.auth, self.totals = index, host, path, auth, totals
        self.buffer = bytearray()
        self.upgraded = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        key = base64.b64encode(os.urandom(16)).decode()
        request = (f"GET {self.path} HTTP/1.1\r\nHost: {self.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
        transport.write(request.encode())  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        if not self.upgraded:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            if not buffer.startswith(b"HTTP/1.1 101"):
                self.transport.close()
                return
            del buffer[:end + 4]
            self.upgraded = True
            self.totals.upgraded += 1
            self.totals.upgraded_at[self.index] = time.time()
            if self.auth is not None:
                self.transport.write(client_frame(0x1, self.auth))
        pos, size = 0, len(buffer)
        while size - pos >= 2:
            opcode, length = buffer[pos] & 0x0F, buffer[pos + 1] & 0x7F
            head = 2
            if length == 126:
                if size - pos < 4:
                    break
                length, head = int.from_bytes(buffer[pos + 2:pos + 4], "big"), 4
            elif length == 127:
                if size - pos < 10:
                    break
                length, head = int.from_bytes(buffer[pos + 2:pos + 10], "big"), 10
            if size - pos < head + length:
                break
            start = pos + head
            if opcode == 0x1 or opcode == 0x2:
                self._message(buffer, start, start + length)
            elif opcode == 0x9:
                self.transport.write(client_frame(0xA, bytes(buffer[start:start + length])))
            elif opcode == 0x8:
                self.totals.closed += 1
                self.transport.close()
            pos = start + length
        if pos:
            del buffer[:pos]

    def _message(self, buffer: bytearray, start: int, end: int) -> None:
        if not buffer.startswith(FRAME_PREFIX, start):
            return
        now = time.time()
        totals = self.totals
        if not totals.first_frame_at[self.index]:
            totals.first_frame_at[self.index] = now
            totals.without_frame -= 1
            if not totals.without_frame:
                totals.all_framed.set()
        if not totals.start <= now < totals.stop:
            return
        at = buffer.find(TS_FIELD, start, end) + len(TS_FIELD)
        stop = buffer.find(b",", at, end)
        late_ms = int(now * 1000) - int(buffer[at:stop])
        totals.frames[self.index] += 1
        totals.histogram[min(max(late_ms, 0), HISTOGRAM_MS)] += 1


async def run(url: str, viewers: int, start: float, seconds: float, auth: bytes | None, join: bool) -> Totals:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    totals = Totals(viewers, start, start + seconds)
    loop = asyncio.get_running_loop()
    transports = []
    if join:
        await asyncio.sleep(max(0.0, start - time.time()))
    for index in range(viewers):
        transport, _ = await loop.create_connection(
            lambda i=index: Viewer(i, f"{host}:{port}", path, auth, totals), host, port)
        transports.append(transport)
        if not join and index % 100 == 99:
            await asyncio.sleep(0.05)  # a ramp, not a stampede of handshakes
    if join:
        try:
            await asyncio.wait_for(totals.all_framed.wait(), max(0.0, totals.stop - time.time()))
        except TimeoutError:
            pass
    else:
        await asyncio.sleep(max(0.0, totals.stop - time.time()) + 0.2)
    for transport in transports:
        transport.abort()
    return totals


def run_clients(url: str, viewers: int, *, start: float, seconds: float, token: str | None, out_dir: Path,
                processes: int = 2, join: bool = False) -> list[dict]:
    """``viewers`` clients of ``url`` in ``processes`` processes of this module (each its own interpreter, so the
    clients do not share one lock); returns each process's result, once all of them ended."""
    procs, outs = [], []
    for i in range(processes):
        share = viewers // processes + (1 if i < viewers % processes else 0)
        out = out_dir / f"load-{viewers}-{i}{'-join' if join else ''}.json"
        command = [sys.executable, "-m", "bench.ws_load", url, "--viewers", str(share), "--start", str(start),
                   "--seconds", str(seconds), "--out", str(out)]
        command += ["--auth-token", token] if token else []
        command += ["--join"] if join else []
        procs.append(subprocess.Popen(command))
        outs.append(out)
    for proc in procs:
        proc.wait(timeout=max(0.0, start - time.time()) + seconds + 60)
    return [orjson.loads(out.read_bytes()) for out in outs]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--viewers", type=int, required=True)
    parser.add_argument("--start", type=float, required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--auth-token", default=None)
    parser.add_argument("--join", action="store_true", help="connect all at T0 and stop once each has a frame")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, args.viewers + 256)), hard))
    auth = orjson.dumps({"type": "auth", "token": args.auth_token}) if args.auth_token else None
    import uvloop  # installed with uvicorn[standard]; the cheaper loop keeps the client out of the measurement

    totals = uvloop.run(run(args.url, args.viewers, args.start, args.seconds, auth, args.join))
    with open(args.out, "wb") as out:
        out.write(orjson.dumps({"frames": totals.frames, "histogram": totals.histogram,
                                "upgraded": totals.upgraded, "closed": totals.closed,
                                "upgraded_at": totals.upgraded_at, "first_frame_at": totals.first_frame_at}))


if __name__ == "__main__":
    main()
