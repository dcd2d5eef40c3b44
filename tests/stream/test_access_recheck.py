"""Access re-checks of open stream sockets under a slow backend: many distinct callers whose access answers take
20 ms, and one whose answer never comes, must not stall the node's housekeeping (demand, heartbeats) nor the
playback; access withdrawn while watching ends the stream within the documented bound."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from backend.auth import hash_token
from tests.api.conftest import build_backend, create_run
from tests.stream.conftest import ALICE
from tests.support.servers import LiveServer, live_server
from tests.support.stream_client import StreamViewer
from tests.support.tokens import token

_RUN_DETAIL = re.compile(r"^/backtests/[^/]+$")


class SlowAccess:
    """The backend behind a slow network for the api's access question (``GET /backtests/{id}``): every answer
    waits ``delay_s``, and the callers in ``hanging`` get none until the test ends."""

    def __init__(self, app) -> None:
        self.app = app
        self.state = app.state
        self.delay_s = 0.0
        self.hanging: set[bytes] = set()
        self._released: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and _RUN_DETAIL.match(scope["path"]):
            authorization = dict(scope["headers"]).get(b"authorization", b"")
            if authorization in self.hanging:
                if self._released is None:
                    self._loop, self._released = asyncio.get_running_loop(), asyncio.Event()
                await self._released.wait()
            await asyncio.sleep(self.delay_s)
        await self.app(scope, receive, send)

    def hang(self, caller_token: str) -> None:
        self.hanging.add(f"Bearer {caller_token}".encode())

    def release(self) -> None:
        self.hanging.clear()
        if self._loop is not None and self._released is not None:
            self._loop.call_soon_threadsafe(self._released.set)


@pytest.fixture(scope="module")
def slow_backend(tmp_path_factory) -> Iterator[tuple[LiveServer, SlowAccess]]:
    app = SlowAccess(build_backend(tmp_path_factory.mktemp("slow-access") / "data"))
    with live_server(app) as server:
        try:
            yield server, app
        finally:
            app.release()


@pytest.fixture(scope="module")
def stream_backend(slow_backend) -> LiveServer:
    """The stack's backend is the slow one."""
    return slow_backend[0]


def add_viewers(backend: SlowAccess, run_id: str, count: int) -> list[str]:
    """``count`` users of the backend, each with a token of its own, with whom ``run_id`` is shared."""
    tokens = []
    for i in range(count):
        name, secret = f"viewer{i:04d}", token(f"hw_test_viewer_{i:04d}_token_0123456789abcdef")
        backend.state.catalog.add_user(name, hash_token(secret))
        backend.state.runs.share(run_id, name)
        tokens.append(secret)
    return tokens


async def open_quiet_viewer(url: str, caller_token: str):
    """A viewer that holds its socket open; what it receives waits in its client's queue until read."""
    return await connect(url, additional_headers={"Authorization": f"Bearer {caller_token}"}, compression=None,
                         open_timeout=60, max_queue=None, ping_interval=None)


async def read_arrivals(ws, kind: str, arrivals: list[float], until: float) -> None:
    """Note when each message of ``kind`` arrives, until ``until`` (monotonic)."""
    while (left := until - time.monotonic()) > 0:
        try:
            raw = await asyncio.wait_for(ws.recv(), left)
        except TimeoutError:
            return
        if orjson.loads(raw)["type"] == kind:
            arrivals.append(time.monotonic())


def longest_gap(arrivals: list[float], start: float, end: float) -> float:
    points = [start, *arrivals, end]
    return max(b - a for a, b in zip(points, points[1:], strict=False))


@dataclass
class Watched:
    """What a watch saw: whether the leases held throughout, when frames and heartbeats arrived."""
    leases_kept: bool
    frames: list[float]
    heartbeats: list[list[float]]
    start: float
    end: float


async def watch(healthy: StreamViewer, quiet: list, lease_held: Callable[[], Awaitable[bool]],
                watch_s: float) -> Watched:
    """For ``watch_s``: when each of ``healthy``'s frames and each of ``quiet``'s heartbeats arrive, and whether
    ``lease_held()`` stays true (asked every 50 ms)."""
    frames: list[float] = []
    heartbeats: list[list[float]] = [[] for _ in quiet]
    start = time.monotonic()
    until = start + watch_s

    async def frames_of_healthy() -> None:
        while (left := until - time.monotonic()) > 0:
            try:
                message = await healthy.recv(left)
            except TimeoutError:
                return
            if message["type"] == "frame":
                frames.append(time.monotonic())

    async def leases_kept() -> bool:
        while time.monotonic() < until:
            if not await lease_held():
                return False
            await asyncio.sleep(0.05)
        return True

    kept, *_ = await asyncio.gather(
        leases_kept(), frames_of_healthy(),
        *(read_arrivals(ws, "heartbeat", arrivals, until) for ws, arrivals in zip(quiet, heartbeats, strict=True)))
    return Watched(kept, frames, heartbeats, start, time.monotonic())


async def heartbeats_came_and_only_the_hung_caller_left(seen: Watched, hung_viewer, quiet: list) -> None:
    for arrivals in seen.heartbeats:
        # A heartbeat every HEARTBEAT_S while paused; the housekeeping loop wakes at most that late again.
        assert arrivals and longest_gap(arrivals, seen.start, seen.end) <= 2 * HEARTBEAT_S + 0.25, arrivals
    # The caller whose check never completes is kept for one interval, then closed: try again later.
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(hung_viewer.recv(), 10)
    assert closed.value.rcvd.code == 1013
    assert all(ws.close_code is None for ws in quiet)


HEARTBEAT_S = 0.5


async def slow_access_scenario(stack, slow_backend, *, viewers: int, watch_s: float = 6.0, **timing) -> None:
    """``viewers`` callers with tokens of their own watch a paused run whose access answers take 20 ms, one more
    caller's answer never comes, and another viewer watches a playing run. Over ``watch_s``: the relay keeps both
    runs (the node's demand never lapses), the playing viewer's frames never pause for more than 200 ms, the paused
    viewers' heartbeats come on time, and the hung caller is closed with 1013 while everyone else stays."""
    backend, slow = slow_backend
    paused_run = create_run(backend.http_url, ALICE)["id"]
    playing_run = create_run(backend.http_url, ALICE)["id"]
    tokens = add_viewers(slow, paused_run, viewers + 1)
    hung, tokens = tokens[0], tokens[1:]
    relay = stack.relay()
    # The demand's deadline is 2 s: a housekeeping loop that stalls for longer than that loses the relay.
    api = stack.api(stream_demand_refresh_s=0.5, stream_demand_ttl_s=2.0, stream_heartbeat_s=HEARTBEAT_S,
                    upstream_max_connections=400, rate_limit_address_requests=100_000, **timing)
    stream_url = f"{api.ws_url}/api/v1/runs/{paused_run}/stream"
    slow.delay_s = 0.02
    quiet = []
    for first in range(0, len(tokens), 100):
        quiet += await asyncio.gather(*(open_quiet_viewer(stream_url, t) for t in tokens[first:first + 100]))
    hung_viewer = await open_quiet_viewer(stream_url, hung)
    assert orjson.loads(await hung_viewer.recv())["type"] == "hello"  # its first check is done
    slow.hang(hung)
    sampled = quiet[:: max(1, len(quiet) // 3)][:3]
    try:
        async with StreamViewer(api.http_url, playing_run, ALICE, validate=False) as healthy:
            await healthy.play(speed=60)  # two bars a frame: every frame carries bars
            await healthy.until(lambda m: m["type"] == "frame")
            held = relay.held[playing_run]

            async def lease_held() -> bool:
                return relay.held.get(playing_run) is held and relay.held.get(paused_run) is not None

            seen = await watch(healthy, sampled, lease_held, watch_s)
        assert seen.leases_kept, "the relay let a watched run go: the node's demand lapsed"
        gaps = [(round(a - seen.start, 2), round(b - a, 3))
                for a, b in zip([seen.start, *seen.frames], [*seen.frames, seen.end], strict=True) if b - a > 0.1]
        assert seen.frames and longest_gap(seen.frames, seen.start, seen.end) <= 0.2, gaps
        await heartbeats_came_and_only_the_hung_caller_left(seen, hung_viewer, quiet)
    finally:
        slow.release()
        slow.delay_s = 0.0
        await asyncio.gather(*(ws.close() for ws in [*quiet, hung_viewer]), return_exceptions=True)


@pytest.mark.parametrize("broker_url", ["redis"], indirect=True)
async def test_slow_and_hung_access_checks_stall_neither_demand_nor_heartbeats_nor_frames(stack, slow_backend):
    # Answers reused for 2 s and re-checked every second: every third re-check goes to the slow backend.
    await slow_access_scenario(stack, slow_backend, viewers=50, access_cache_ttl_s=2.0,
                               stream_access_recheck_s=1.0, stream_access_timeout_s=2.0, stream_access_concurrency=4)


async def test_withdrawn_access_ends_the_stream_within_the_documented_bound(stack, slow_backend):
    backend, slow = slow_backend
    run_id = create_run(backend.http_url, ALICE)["id"]
    followers = add_viewers(slow, run_id, 4)
    stack.relay()
    ttl_s, interval_s, timeout_s = 2.0, 0.25, 0.25
    api = stack.api(access_cache_ttl_s=ttl_s, stream_access_recheck_s=interval_s, stream_access_timeout_s=timeout_s)
    bound_s = ttl_s + interval_s + timeout_s  # docs/stream.md, "What a viewer gets when…"
    async with StreamViewer(api.http_url, run_id, ALICE) as owner:
        await owner.play()
        await owner.until(lambda m: m["type"] == "frame")
        # Followers joining a quarter of the cache lifetime apart hold decisions of every age when access ends.
        viewers = []
        for follower in followers:
            viewer = await StreamViewer(api.http_url, run_id, follower).__aenter__()
            await viewer.until(lambda m: m["type"] == "frame")
            viewers.append(viewer)
            await asyncio.sleep(ttl_s / len(followers))
        withdrawn_at = time.monotonic()
        for i in range(len(followers)):
            slow.state.runs.unshare(run_id, f"viewer{i:04d}")

        async def watch_until_closed(viewer: StreamViewer) -> tuple[int, float, list[float]]:
            frames_after: list[float] = []
            try:
                while True:
                    message = await viewer.recv(timeout_s=bound_s + 5)
                    if message["type"] == "frame":
                        frames_after.append(time.monotonic() - withdrawn_at)
            except ConnectionClosed as closed:
                assert closed.rcvd is not None
                return closed.rcvd.code, time.monotonic() - withdrawn_at, frames_after

        ended = await asyncio.gather(*(watch_until_closed(viewer) for viewer in viewers))
        await owner.until(lambda m: m["type"] == "frame")  # the owner watches on
    for code, closed_after, frames_after in ended:
        assert code == 4403
        assert closed_after <= bound_s, [round(e[1], 2) for e in ended]
        assert not frames_after or max(frames_after) <= bound_s
    assert any(frames_after for *_, frames_after in ended)  # frames flowed until the close
