"""Encoded answers about one completed run, kept with its loaded data because they never change.

A completed run's artifacts are immutable, so an answer built from them (the orders document compressed, the
equity curve decimated for a chart) is the same bytes every time it is asked for. Keeping those bytes means a
second request (the api's cache expired, another api node, the prewarm worker) costs no encoding. The access
check is not part of an answer: every request still passes it before kept bytes go out.

An answer of which a run has exactly one (its orders document, its metrics) is kept pinned, whatever its size.
Answers that vary with the request (any ``max_points``, any zoomed range) could be many, so at most
``max_answers`` of them are kept, least recently used out first, and none larger than ``max_bytes``: a
full-resolution curve is rebuilt when asked for rather than held. The loaded-run cache counts every kept byte
in the run's size.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator

# A chart's shapes of the curve, each plain and compressed.
MAX_ANSWERS = 32
MAX_ANSWER_BYTES = 1 << 20


class KeptAnswers:
    def __init__(self, max_answers: int = MAX_ANSWERS, max_bytes: int = MAX_ANSWER_BYTES) -> None:
        self.max_answers = max_answers
        self.max_bytes = max_bytes
        self._pinned: dict[Hashable, bytes] = {}
        self._answers: OrderedDict[Hashable, bytes] = OrderedDict()

    def get(self, key: Hashable) -> bytes | None:
        body = self._pinned.get(key)
        if body is None:
            body = self._answers.get(key)
            if body is not None:
                self._answers.move_to_end(key)
        return body

    def keep(self, key: Hashable, body: bytes, *, pinned: bool = False) -> bytes:
        """Keep ``body`` under ``key`` (pinned: for as long as the run stays loaded; otherwise when it is small
        enough, among the most recent); returns ``body`` either way."""
        if pinned:
            self._pinned[key] = body
        elif len(body) <= self.max_bytes:
            self._answers[key] = body
            self._answers.move_to_end(key)
            while len(self._answers) > self.max_answers:
                self._answers.popitem(last=False)
        return body

    def get_or_build(self, key: Hashable, build: Callable[[], bytes]) -> bytes:
        body = self.get(key)
        return body if body is not None else self.keep(key, build())

    def values(self) -> Iterator[bytes]:
        return iter([*self._pinned.values(), *self._answers.values()])

    def __len__(self) -> int:
        return len(self._pinned) + len(self._answers)

    @property
    def nbytes(self) -> int:
        return sum(len(body) for body in self.values())
