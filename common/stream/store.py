"""A run's shared playback in Redis: the layout, and the atomic scripts that keep it consistent.

Per run (every key shares the hash tag ``{run:<id>}``, so each script touches one Redis Cluster slot):

- ``stream``: the published messages, entry id ``<offset>-0`` with fields ``d`` (the bytes viewers receive),
  ``k`` (message type), ``e`` (epoch) and ``t`` (publish time, ms). Offsets are dense and start at 1.
- ``snapshot``: the latest snapshot, pinned. Trimming never removes it nor anything after it, so a newcomer
  always finds a snapshot and every message since.
- ``state``: ``epoch``, ``offset`` (last appended), ``snap`` (offset of the pinned snapshot), ``bytes`` (size
  of the retained messages), ``holder`` (the lease token of the relay that last held the run), ``ctl`` (the
  last control passed upstream) and the relay's memory of the playback (``cursor``, ``pstate``, ``speed``,
  ``endc``), written with every append.
- ``lease``: the fencing token of the relay that holds the run, with a TTL the holder renews.
- ``controls`` / ``replies``: controls from viewers to the relay, and errors from the relay to one viewer.
- ``viewers``: per api node, its viewer count and until when it counts.

Plus one sorted set of demanded runs (scored by the time until which some api node wants each relayed).

The append is fenced: the lease check, the offset check, the append, the pinned snapshot, the relay's memory,
the last control applied and the trimming happen in one script, so a relay that lost its lease can never write,
and a crash never leaves the memory behind the stream.

One clock: every deadline and age compared across processes (demand deadlines, the publish time that trimming
by age reads) is Redis's own ``TIME``, read inside the scripts, never a process's wall clock.

Lease tokens are ``<relay id>:<random>``: a relay that re-claims a run it held itself (after a Redis stall made
it give the lease up) is not "another relay taking over".
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from common.keys import KeySpace
from common.redis_client import call_scripts
from common.stream.envelope import PlaybackPosition

# Redis's clock in milliseconds (script effects are replicated, so reading it before writing is allowed).
_NOW_MS = """
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
"""

_CLAIM = _NOW_MS + """
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return false end
local offset = tonumber(redis.call('HGET', KEYS[2], 'offset') or '-1')
local fresh = 0
if offset < 0 or (offset > 0 and redis.call('EXISTS', KEYS[3]) == 0) then
  redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
  redis.call('HSET', KEYS[2], 'epoch', ARGV[3], 'offset', 0, 'snap', 0, 'bytes', 0)
  fresh = 1
end
local previous = redis.call('HGET', KEYS[2], 'holder') or ''
redis.call('HSET', KEYS[2], 'holder', ARGV[1])
redis.call('PERSIST', KEYS[2])
redis.call('PERSIST', KEYS[3])
redis.call('PERSIST', KEYS[4])
return {fresh, previous, redis.call('HGETALL', KEYS[2]), now_ms()}
"""

_RENEW = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HDEL', KEYS[2], 'holder')
for i = 2, 4 do redis.call('PEXPIRE', KEYS[i], ARGV[2]) end
return 1
"""

# ARGV: token, offset, type, data, epoch, cursor, pstate, speed, endc, max_age_ms, max_entries, max_bytes, ctl.
# Empty position fields (and an empty ctl) are left as they are.
_APPEND = _NOW_MS + """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('FENCED the lease is not held') end
local offset = tonumber(ARGV[2])
local current = tonumber(redis.call('HGET', KEYS[2], 'offset') or '-1')
if current ~= offset - 1 then return redis.error_reply('OFFSET expected ' .. (current + 1)) end
local now = now_ms()
redis.call('XADD', KEYS[3], offset .. '-0', 'd', ARGV[4], 'k', ARGV[3], 'e', ARGV[5], 't', now)
local bytes = tonumber(redis.call('HGET', KEYS[2], 'bytes') or '0') + string.len(ARGV[4])
redis.call('HSET', KEYS[2], 'offset', offset)
if ARGV[3] == 'snapshot' then
  redis.call('SET', KEYS[4], ARGV[4])
  redis.call('HSET', KEYS[2], 'snap', offset)
end
local names = {'cursor', 'pstate', 'speed', 'endc'}
for i = 1, 4 do
  if ARGV[5 + i] ~= '' then redis.call('HSET', KEYS[2], names[i], ARGV[5 + i]) end
end
if ARGV[13] ~= '' then redis.call('HSET', KEYS[2], 'ctl', ARGV[13]) end
-- Trim the oldest messages beyond any bound, but never the pinned snapshot or what follows it. Most appends
-- trim nothing, and reading messages is what costs: the count and size bounds are checked from counters, and
-- the age bound from the oldest message every 32nd append (so at most about a second late); a batch is read
-- only when something must go.
local snap = tonumber(redis.call('HGET', KEYS[2], 'snap'))
local oldest_allowed = now - tonumber(ARGV[10])
local max_entries, max_bytes = tonumber(ARGV[11]), tonumber(ARGV[12])
local count = redis.call('XLEN', KEYS[3])
local batch = 0
if count > max_entries or bytes > max_bytes then
  batch = 64
elseif offset % 32 == 0 then
  local oldest = redis.call('XRANGE', KEYS[3], '-', '+', 'COUNT', 1)[1]
  if oldest and tonumber(string.match(oldest[1], '^(%d+)')) < snap then
    for j = 1, #oldest[2], 2 do
      if oldest[2][j] == 't' and tonumber(oldest[2][j + 1]) < oldest_allowed then batch = 64 end
    end
  end
end
local removed_upto = nil
local entries = {}
if batch > 0 then entries = redis.call('XRANGE', KEYS[3], '-', '+', 'COUNT', batch) end
for _, entry in ipairs(entries) do
  local o = tonumber(string.match(entry[1], '^(%d+)'))
  local fields, size, t = entry[2], 0, 0
  for j = 1, #fields, 2 do
    if fields[j] == 'd' then size = string.len(fields[j + 1])
    elseif fields[j] == 't' then t = tonumber(fields[j + 1]) end
  end
  if o >= snap or not (count > max_entries or bytes > max_bytes or t < oldest_allowed) then break end
  removed_upto = o
  count = count - 1
  bytes = bytes - size
end
-- At most 64 per append keeps the script short; later appends continue.
if removed_upto then redis.call('XTRIM', KEYS[3], 'MINID', (removed_upto + 1) .. '-0') end
redis.call('HSET', KEYS[2], 'bytes', bytes)
return offset
"""

# A control passed upstream whose answer published nothing (an error, or a message the relay drops): recorded
# under the fence like an append's, so that no relay applies it again.
_CONTROL_APPLIED = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('FENCED the lease is not held') end
redis.call('HSET', KEYS[2], 'ctl', ARGV[2])
return 1
"""

# The stream went backwards (a failover that lost writes, an AOF `everysec` crash, a restore): its state is still
# in epoch ARGV[1] but behind offset ARGV[2] (or its message there is not ARGV[3], when given). Offsets must never
# be reused for other content within an epoch, so the epoch ends here: the stream, the snapshot and the lease go,
# and the state starts a new, empty epoch that keeps the relay's memory of the playback (where to restart).
# Returns 1 when it ended the epoch, 0 when the stream is where it was (or already in another epoch).
_REWIND = """
local st = redis.call('HMGET', KEYS[1], 'epoch', 'offset')
if st[1] ~= ARGV[1] then return 0 end
local known = tonumber(ARGV[2])
local behind = tonumber(st[2] or '0') < known
if not behind and ARGV[3] ~= '' then
  local entry = redis.call('XRANGE', KEYS[2], known .. '-0', known .. '-0')[1]
  behind = true
  if entry then
    for j = 1, #entry[2], 2 do
      if entry[2][j] == 'd' then behind = entry[2][j + 1] ~= ARGV[3] end
    end
  end
end
if not behind then return 0 end
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
redis.call('HSET', KEYS[1], 'epoch', ARGV[4], 'offset', 0, 'snap', 0, 'bytes', 0)
redis.call('HDEL', KEYS[1], 'holder')
return 1
"""

_JOIN = """
local st = redis.call('HMGET', KEYS[1], 'epoch', 'offset', 'snap')
local last = redis.call('XREVRANGE', KEYS[4], '+', '-', 'COUNT', 1)
local reply_id = '0-0'
if last[1] then reply_id = last[1][1] end
if not st[1] then return {false, 0, 0, false, {}, reply_id} end
local snapshot = redis.call('GET', KEYS[2])
local tail = {}
if snapshot then tail = redis.call('XRANGE', KEYS[3], (tonumber(st[3]) + 1) .. '-0', '+') end
return {st[1], st[2], st[3], snapshot or false, tail, reply_id}
"""

# The viewers of a run on every node whose count still stands at ``now``; with ``prune``, counts past their
# deadline are removed on the way (only a writing script may).
_VIEWERS = """
local function viewers(key, now, prune)
  local total = 0
  local all = redis.call('HGETALL', key)
  for i = 1, #all, 2 do
    local n, deadline = string.match(all[i + 1], '^(%d+):(%d+)$')
    if n == nil or tonumber(deadline) < now then
      if prune then redis.call('HDEL', key, all[i]) end
    else
      total = total + tonumber(n)
    end
  end
  return total
end
"""

# ARGV: node, viewers, ttl_ms (how long this count stands), key_ttl_ms. Returns the run's viewers on every node
# still counting, and its epoch and offset (so that a node notices a stream that was lost, or went backwards).
_DEMAND = _NOW_MS + _VIEWERS + """
local now = now_ms()
if tonumber(ARGV[2]) > 0 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ':' .. (now + tonumber(ARGV[3])))
else
  redis.call('HDEL', KEYS[1], ARGV[1])
end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
local total = viewers(KEYS[1], now, true)
local st = redis.call('HMGET', KEYS[2], 'epoch', 'offset')
return {total, st[1] or false, st[2] or false}
"""

# A run's viewers on every api node whose count still stands, read only (by Redis's clock, like _DEMAND).
_WATCHING = _NOW_MS + _VIEWERS + """
return viewers(KEYS[1], now_ms(), false)
"""

# The demanded runs' index (its own key, so its own cluster slot): ARGV ttl_ms, then the runs now demanded.
_WANT = _NOW_MS + """
local deadline = now_ms() + tonumber(ARGV[1])
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 'GT', deadline, ARGV[i]) end
return deadline
"""

# ARGV: grace_ms. Runs demanded now, and those whose demand lapsed less than grace_ms ago (a relay keeps what it
# holds through a short lapse: an api node that could not refresh during a Redis stall), with their deadlines.
_DEMANDED = _NOW_MS + """
local now = now_ms()
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 3600000)
return {now, redis.call('ZRANGEBYSCORE', KEYS[1], now - tonumber(ARGV[1]), '+inf', 'WITHSCORES')}
"""


class Fenced(Exception):
    """The relay no longer holds the run's lease; it must stop relaying the run."""


class OffsetMismatch(Exception):
    """The stream's next offset is not the one appended: ``expected`` is the one it is at."""

    def __init__(self, expected: int) -> None:
        super().__init__(f"the stream's next offset is {expected}")
        self.expected = expected


@dataclass(frozen=True)
class Retention:
    """How much history a run's stream keeps: the oldest messages go once any bound is exceeded."""

    max_age_s: float = 300.0
    max_entries: int = 12_000
    max_bytes: int = 128 * 1024 * 1024


@dataclass(frozen=True)
class Claim:
    epoch: str
    offset: int
    fresh: bool            # a new epoch began with this claim (first relay, or the history was lost)
    takeover: bool         # another relay held the run and never released it
    position: PlaybackPosition
    last_control: str = "0-0"  # id of the last control whose answer is recorded (applied by some relay)
    redis_now_ms: int = 0      # Redis's clock at the claim (where to start reading controls)


@dataclass(frozen=True)
class Entry:
    offset: int
    type: str
    epoch: str
    data: bytes
    published_ms: int = 0


@dataclass(frozen=True)
class JoinState:
    epoch: str | None
    offset: int
    snapshot: Entry | None
    tail: list[Entry]
    reply_id: str


@dataclass(frozen=True)
class Demand:
    viewers: int
    epoch: str | None
    offset: int | None


@dataclass(frozen=True)
class Demanded:
    """The demanded runs as a relay reads them, by Redis's clock."""

    now_ms: int
    deadlines: dict[str, int]  # run id -> until when it is demanded (some may have lapsed within the grace)

    def wanted(self) -> list[str]:
        """Runs demanded right now (the ones to claim)."""
        return [run_id for run_id, deadline in self.deadlines.items() if deadline >= self.now_ms]


def relay_of(token: str) -> str:
    """The relay a lease token belongs to (tokens are ``<relay id>:<random>``)."""
    return token.partition(":")[0]


def new_epoch() -> str:
    return secrets.token_hex(6)


def stream_id(offset: int) -> str:
    return f"{offset}-0"


def parse_entry(entry_id: bytes | str, fields: dict[bytes, bytes]) -> Entry:
    raw_id = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    return Entry(offset=int(raw_id.partition("-")[0]), type=fields[b"k"].decode(), epoch=fields[b"e"].decode(),
                 data=fields[b"d"], published_ms=int(fields[b"t"]))


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _position(state: dict[str, str]) -> PlaybackPosition:
    def number(name: str, kind: type) -> Any:
        return kind(state[name]) if state.get(name) else None

    return PlaybackPosition(cursor=number("cursor", int), state=state.get("pstate") or None,
                            speed=number("speed", float), end_cursor=number("endc", int))


class StreamStore:
    def __init__(self, redis: aioredis.Redis, keys: KeySpace, retention: Retention | None = None) -> None:
        self.redis = redis
        self.keys = keys
        self.retention = retention or Retention()
        self._claim = redis.register_script(_CLAIM)
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)
        self._append = redis.register_script(_APPEND)
        self._join = redis.register_script(_JOIN)
        self._demand = redis.register_script(_DEMAND)
        self._watching = redis.register_script(_WATCHING)
        self._want = redis.register_script(_WANT)
        self._demanded = redis.register_script(_DEMANDED)
        self._control_applied = redis.register_script(_CONTROL_APPLIED)
        self._rewind = redis.register_script(_REWIND)

    # Relay side ------------------------------------------------------------------------------------------------

    async def claim(self, run_id: str, token: str, *, lease_ttl_ms: int) -> Claim | None:
        k = self.keys.run_stream(run_id)
        result = await self._claim(keys=[k.lease, k.state, k.stream, k.snapshot],
                                   args=[token, lease_ttl_ms, new_epoch()])
        if not result:
            return None
        fresh, previous, flat, now_ms = result
        previous = _text(previous)
        state = {_text(flat[i]): _text(flat[i + 1]) for i in range(0, len(flat), 2)}
        takeover = bool(previous) and not int(fresh) and relay_of(previous) != relay_of(token)
        return Claim(epoch=state["epoch"], offset=int(state["offset"]), fresh=bool(int(fresh)),
                     takeover=takeover, position=_position(state), last_control=state.get("ctl", "0-0"),
                     redis_now_ms=int(now_ms))

    async def control_applied(self, run_id: str, token: str, control_id: str) -> None:
        """Record, under the fence, a control whose answer published nothing, so that no relay applies it again
        (a control whose answer is published is recorded by that append)."""
        k = self.keys.run_stream(run_id)
        try:
            await self._control_applied(keys=[k.lease, k.state], args=[token, control_id])
        except ResponseError as exc:
            if str(exc).startswith("FENCED"):
                raise Fenced(str(exc)) from None
            raise

    async def rewind(self, run_id: str, epoch: str, offset: int, data: bytes = b"") -> bool:
        """End the epoch if the run's stream went backwards: its state is in ``epoch`` but behind ``offset`` (or
        its message at ``offset`` is not ``data``, when given). True when it did; see ``_REWIND``."""
        k = self.keys.run_stream(run_id)
        return bool(await self._rewind(keys=[k.state, k.stream, k.snapshot, k.lease],
                                       args=[epoch, offset, data, new_epoch()]))

    async def renew(self, run_id: str, token: str, *, lease_ttl_ms: int) -> bool:
        return bool(await self._renew(keys=[self.keys.run_stream(run_id).lease], args=[token, lease_ttl_ms]))

    async def release(self, run_id: str, token: str, *, idle_ttl_ms: int) -> bool:
        k = self.keys.run_stream(run_id)
        return bool(await self._release(keys=[k.lease, k.state, k.stream, k.snapshot], args=[token, idle_ttl_ms]))

    async def append(self, run_id: str, token: str, *, offset: int, message_type: str, data: bytes, epoch: str,
                     position: PlaybackPosition, applied_control: str | None = None) -> None:
        """Append one message under ``offset`` (the next one) and record the relay's memory after it, and the
        control this message answers (``applied_control``), so that a relay taking over never applies it again."""
        k = self.keys.run_stream(run_id)
        r = self.retention

        def field(value: Any) -> str:
            return "" if value is None else str(value)

        try:
            await self._append(keys=[k.lease, k.state, k.stream, k.snapshot], args=[
                token, offset, message_type, data, epoch, field(position.cursor), field(position.state),
                field(position.speed), field(position.end_cursor), int(r.max_age_s * 1000), r.max_entries,
                r.max_bytes, field(applied_control)])
        except ResponseError as exc:
            text = str(exc)
            if text.startswith("FENCED"):
                raise Fenced(text) from None
            if text.startswith("OFFSET"):
                raise OffsetMismatch(int(text.rsplit(" ", 1)[1])) from None
            raise

    async def demanded_runs(self, *, grace_ms: int) -> Demanded:
        """The demanded runs, including those whose demand lapsed less than ``grace_ms`` ago (entries long past
        their deadline are of no use to anyone and are dropped as we go)."""
        now_ms, flat = await self._demanded(keys=[self.keys.stream_demand()], args=[grace_ms])
        return Demanded(int(now_ms), {_text(flat[i]): int(float(flat[i + 1])) for i in range(0, len(flat), 2)})

    async def reply(self, run_id: str, client: str, data: bytes, *, ttl_ms: int) -> None:
        await self._add_bounded(self.keys.run_stream(run_id).replies, {"c": client, "d": data}, 256, ttl_ms)

    # Api side ----------------------------------------------------------------------------------------------

    async def join(self, run_id: str) -> JoinState:
        """The run's epoch, its pinned snapshot and every message after it, read atomically."""
        k = self.keys.run_stream(run_id)
        epoch, offset, snap, snapshot, tail, reply_id = await self._join(
            keys=[k.state, k.snapshot, k.stream, k.replies])
        if not epoch:
            return JoinState(None, 0, None, [], _text(reply_id))
        epoch = _text(epoch)
        pinned = Entry(int(snap), "snapshot", epoch, snapshot) if snapshot else None
        entries = [parse_entry(entry_id, _fields(flat)) for entry_id, flat in tail]
        return JoinState(epoch, int(offset), pinned, entries, _text(reply_id))

    async def position(self, run_id: str) -> tuple[str | None, int]:
        """The run's epoch and the offset of its last published message."""
        epoch, offset = await self.redis.hmget(self.keys.run_stream(run_id).state, "epoch", "offset")
        return (_text(epoch) if epoch else None), int(offset or 0)

    async def history(self, run_id: str, after: int, upto: int) -> list[Entry]:
        """Messages ``after + 1 .. upto`` that are still retained (the first may be later if trimmed)."""
        if upto <= after:
            return []
        key = self.keys.run_stream(run_id).stream
        rows = await self.redis.xrange(key, stream_id(after + 1), stream_id(upto))
        return [parse_entry(entry_id, fields) for entry_id, fields in rows]

    async def watching(self, run_id: str) -> int:
        """How many viewers watch the run on every api node, as the nodes last recorded it (each node refreshes
        its counts every ``stream_demand_refresh_s``)."""
        return int(await self._watching(keys=[self.keys.run_stream(run_id).viewers], args=[]))

    async def refresh_demand(self, node: str, viewers: dict[str, int], *, ttl_ms: int,
                             key_ttl_ms: int) -> dict[str, Demand]:
        """Record this node's viewers per run (0 to withdraw) and keep demanded runs relayed for ``ttl_ms`` more
        (by Redis's clock); returns each run's viewers across nodes and its current epoch and offset."""
        runs = list(viewers)
        calls = []
        for run_id in runs:
            k = self.keys.run_stream(run_id)
            calls.append((self._demand, [k.viewers, k.state], [node, viewers[run_id], ttl_ms, key_ttl_ms]))
        wanted = [run_id for run_id in runs if viewers[run_id] > 0]
        if wanted:
            calls.append((self._want, [self.keys.stream_demand()], [ttl_ms, *wanted]))
        results = await call_scripts(self.redis, calls)
        demand = {}
        for run_id, (total, epoch, offset) in zip(runs, results[:len(runs)], strict=True):
            demand[run_id] = Demand(int(total), _text(epoch) if epoch else None,
                                    int(offset) if offset else None)
        return demand

    async def push_control(self, run_id: str, client: str, control: bytes, *, ttl_ms: int) -> None:
        await self._add_bounded(self.keys.run_stream(run_id).controls, {"c": client, "x": control}, 1024, ttl_ms)

    async def _add_bounded(self, key: str, fields: dict[str, Any], maxlen: int, ttl_ms: int) -> None:
        """Controls and replies: short streams that go away when nobody uses them."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.xadd(key, fields, maxlen=maxlen, approximate=True)
            pipe.pexpire(key, ttl_ms)
            await pipe.execute()


def _fields(flat: list[Any]) -> dict[bytes, bytes]:
    return {flat[i]: flat[i + 1] for i in range(0, len(flat), 2)}
