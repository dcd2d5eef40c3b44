"""The socket writer's waiting: a socket that takes data now is written at once, with no deadline to arm; one that
does not is waited for, at most the write deadline, and then aborted."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from websockets.protocol import State

import api.stream.socket_writer as socket_writer
from api.stream.socket_writer import Item, SocketWriter, WriteDeadlineExceeded


class Transport:
    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.aborted = False

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def is_closing(self) -> bool:
        return self.aborted

    def abort(self) -> None:
        self.aborted = True


class Connection:
    """What the writer uses of uvicorn's WebSocket protocol: its transport, flow control and state."""

    def __init__(self, *, writable: bool) -> None:
        self.transport = Transport()
        self.writable = asyncio.Event()
        if writable:
            self.writable.set()
        self.conn = SimpleNamespace(extensions=[], state=State.OPEN)
        self.close_sent = False

    async def send(self, message: dict) -> None:
        raise AssertionError("the writer writes to the transport itself")


def items(*offsets: int) -> list[Item]:
    return [Item(offset, f'{{"type":"frame","offset":{offset}}}') for offset in offsets]


async def test_a_socket_that_takes_data_now_is_written_without_arming_a_deadline(monkeypatch):
    armed: list[float] = []
    real_timeout = asyncio.timeout

    def counted_timeout(delay):
        armed.append(delay)
        return real_timeout(delay)

    monkeypatch.setattr(socket_writer.asyncio, "timeout", counted_timeout)
    connection = Connection(writable=True)
    writer = SocketWriter(connection.send, deadline_s=5.0)
    await writer.send(items(1, 2))
    assert connection.transport.written == [b"".join(item.frame for item in items(1, 2))]
    assert armed == []


async def test_a_socket_that_must_wait_is_written_once_it_drains():
    connection = Connection(writable=False)
    writer = SocketWriter(connection.send, deadline_s=5.0)
    sending = asyncio.create_task(writer.send(items(1)))
    await asyncio.sleep(0.02)
    assert connection.transport.written == []
    connection.writable.set()
    await sending
    assert connection.transport.written == [items(1)[0].frame]


async def test_a_socket_that_takes_nothing_for_the_deadline_is_aborted():
    connection = Connection(writable=False)
    writer = SocketWriter(connection.send, deadline_s=0.05)
    with pytest.raises(WriteDeadlineExceeded):
        await writer.send(items(1))
    assert connection.transport.aborted and connection.transport.written == []
