"""``/api/v1/ops/summary``: every live node's share merged into one answer the page can draw at a glance.

Rates and counts add up across nodes; a percentile cannot be added, so the summary shows the worst node's
(the page also lists each node). Who holds each watched run is read from the run's lease (its fencing token
starts with the relay's id), so a watched run with no holder shows as degraded right here.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

import orjson

from api.views import RedisGuard, RedisUnavailable
from common.keys import KeySpace

_ADDED = ("requests_per_s", "errors_per_s", "viewers", "messages_in_per_s", "resyncs")
_WORST = ("p95_ms", "backend_p95_ms", "fanout_p95_ms", "loop_lag_p95_ms", "cpu_percent", "rss_mb")


def _worst(values: list[Any]) -> float | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def _total(points: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {name: round(sum(p.get(name) or 0.0 for p in points), 3) for name in _ADDED}
    out.update({name: _worst([p.get(name) for p in points]) for name in _WORST})
    ratios = [p["cache_hit_ratio"] for p in points if p.get("cache_hit_ratio") is not None]
    out["cache_hit_ratio"] = round(sum(ratios) / len(ratios), 4) if ratios else None
    return out


def merge_history(histories: list[list[dict[str, Any]]], step_ms: int) -> list[dict[str, Any]]:
    """The nodes' histories as one, point by point, nodes' samples grouped by the interval they fall in."""
    slots: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for history in histories:
        for point in history:
            slots[point["at_ms"] // step_ms].append(point)
    return [{"at_ms": slot * step_ms, **_total(points)} for slot, points in sorted(slots.items())]


def merge_routes(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_route: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for node in nodes:
        for route in node.get("routes", []):
            by_route[route["route"]].append(route)
    merged = []
    for route, parts in by_route.items():
        row = {"route": route,
               "requests_per_s": round(sum(p["requests_per_s"] for p in parts), 3),
               "errors_per_s": round(sum(p["errors_per_s"] for p in parts), 3)}
        for name in ("p50_ms", "p95_ms", "p99_ms", "backend_p95_ms", "upstream_calls_per_request"):
            row[name] = _worst([p.get(name) for p in parts])
        p95, backend = row["p95_ms"], row["backend_p95_ms"]
        row["added_p95_ms"] = round(p95 - backend, 3) if p95 is not None and backend is not None else None
        merged.append(row)
    return sorted(merged, key=lambda r: -r["requests_per_s"])


def merge_caches(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    tally: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for node in nodes:
        for cache in node.get("caches", []):
            tally[cache["cache"]][0] += cache["hits"]
            tally[cache["cache"]][1] += cache["misses"]
    return [{"cache": name, "hits": hits, "misses": misses,
             "hit_ratio": round(hits / (hits + misses), 4) if hits + misses else None}
            for name, (hits, misses) in sorted(tally.items())]


class OpsSummary:
    def __init__(self, guard: RedisGuard, keys: KeySpace, *, interval_s: float) -> None:
        self.guard = guard
        self.keys = keys
        self.step_ms = max(1, int(interval_s * 1000))
        # A node that missed three samples in a row is gone (stopped, or cut off from Redis).
        self.stale_after_ms = 3 * self.step_ms

    async def build(self, local: bytes, local_node: str, ready: dict[str, str]) -> dict[str, Any]:
        """The summary; ``local`` is this node's own share, used as it is when Redis cannot be read."""
        shares: dict[str, bytes] = {local_node: local}
        try:
            stored = await self.guard.run(lambda r: r.hgetall(self.keys.ops_nodes()))
            shares.update({k.decode() if isinstance(k, bytes) else k: v for k, v in stored.items()})
            shares[local_node] = local
        except RedisUnavailable:
            pass
        now_ms = int(time.time() * 1000)
        nodes, histories, gone = [], [], []
        for node_id, data in sorted(shares.items()):
            share = orjson.loads(data)
            latest = share.get("latest") or {}
            if not latest or now_ms - latest.get("at_ms", 0) > self.stale_after_ms:
                gone.append(node_id)
                continue
            nodes.append({**latest, "history": share.get("history", [])})
            histories.append(share.get("history", []))
        await self._forget(gone)
        viewers: dict[str, float] = defaultdict(float)
        for node in nodes:
            for run_id, count in node.get("viewers_by_run", {}).items():
                viewers[run_id] += count
        runs = await self._holders(viewers)
        totals = _total(nodes)
        return {"at_ms": now_ms, "interval_s": self.step_ms / 1000, "ready": ready, "totals": totals,
                "history": merge_history(histories, self.step_ms), "routes": merge_routes(nodes),
                "caches": merge_caches(nodes), "runs": runs,
                "nodes": [{k: v for k, v in node.items() if k not in ("routes", "caches")} for node in nodes],
                "degraded": degraded(ready, totals, runs)}

    async def _forget(self, node_ids: list[str]) -> None:
        if node_ids:
            try:
                await self.guard.run(lambda r: r.hdel(self.keys.ops_nodes(), *node_ids))
            except RedisUnavailable:
                pass

    async def _holders(self, viewers: dict[str, float]) -> list[dict[str, Any]]:
        run_ids = sorted(viewers)
        holders: list[Any] = [None] * len(run_ids)
        if run_ids:
            try:
                holders = await self.guard.run(
                    lambda r: r.mget([self.keys.run_stream(run_id).lease for run_id in run_ids]))
            except RedisUnavailable:
                pass
        out = []
        for run_id, holder in zip(run_ids, holders, strict=True):
            token = holder.decode() if isinstance(holder, bytes) else holder
            out.append({"run_id": run_id, "viewers": viewers[run_id],
                        "relay": token.split(":", 1)[0] if token else None})
        return out


def degraded(ready: dict[str, str], totals: dict[str, Any], runs: list[dict[str, Any]]) -> list[str]:
    """What an operator should look at now, in words; empty when all is well."""
    problems = [f"{name} is {state}" for name, state in ready.items() if state != "ok"]
    if totals["errors_per_s"] > 0:
        problems.append(f"the api answers {totals['errors_per_s']:g} errors (5xx) per second")
    problems += [f"run {run['run_id']} has viewers but no relay holds it" for run in runs if run["relay"] is None]
    if totals["resyncs"] > 0:
        problems.append(f"{totals['resyncs']:g} viewers fell behind and were resynchronised")
    return problems
