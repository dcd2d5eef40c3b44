"""Small helpers for benchmarks: timing statistics and recording a section of docs/benchmarks.md."""

from __future__ import annotations

import platform
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
_HEADER = """# Benchmarks

Written by `make bench`; each section is replaced when its benchmark runs again. Absolute times depend on a
shared 2-core machine, so every comparison is a ratio measured side by side in the same run.
"""


@dataclass(frozen=True)
class Stats:
    n: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float

    def row(self) -> str:
        return f"{self.p50_ms:.3f} | {self.p90_ms:.3f} | {self.p99_ms:.3f} | {self.mean_ms:.3f} | {self.n}"


def stats_ms(samples_s: list[float]) -> Stats:
    ms = sorted(s * 1000.0 for s in samples_s)

    def pct(p: float) -> float:
        return ms[min(len(ms) - 1, int(round(p * (len(ms) - 1))))]

    return Stats(n=len(ms), p50_ms=pct(0.50), p90_ms=pct(0.90), p99_ms=pct(0.99), mean_ms=statistics.fmean(ms))


def time_calls(fn: Callable[[], object], n: int, warmup: int = 3) -> Stats:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return stats_ms(samples)


def interleaved(calls: dict[str, Callable[[], object]], n: int, warmup: int = 20) -> dict[str, Stats]:
    """Time each call ``n`` times, taking turns (the order reversed every round), so that every case sees the
    same moments of a shared machine; the statistics of each, by name."""
    names = list(calls)
    for _ in range(warmup):
        for name in names:
            calls[name]()
    samples: dict[str, list[float]] = {name: [] for name in names}
    for i in range(n):
        for name in names if i % 2 == 0 else reversed(names):
            t0 = time.perf_counter()
            calls[name]()
            samples[name].append(time.perf_counter() - t0)
    return {name: stats_ms(values) for name, values in samples.items()}


def verdict(met: bool) -> str:
    return "**met**" if met else "**not met**"


STATS_HEADER = "| case | p50 ms | p90 ms | p99 ms | mean ms | n |\n| --- | --- | --- | --- | --- | --- |"


def machine_line() -> str:
    return f"{platform.python_implementation()} {platform.python_version()} on {platform.machine()}, " \
           f"{time.strftime('%Y-%m-%d', time.gmtime())}"


def record_section(name: str, markdown: str) -> None:
    """Replace (or append) the section ``name`` of docs/benchmarks.md."""
    text = DOC.read_text() if DOC.exists() else _HEADER
    begin, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{begin}\n{markdown.strip()}\n{end}"
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
    text = pattern.sub(lambda _m: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text)
    print(block)
