"""Viewers joining a run's stream share access questions: one per token and run while it is answered, and a
backend answer reused only for as long as the access cache would serve it."""

from __future__ import annotations

import asyncio

import pytest

from api.stream.join_access import JoinAccess
from api.views import BackendRefused, Decision

ALICE = "Bearer alice-token-0123456789"
BOB = "Bearer bob-token-0123456789"


class Backend:
    """Stands in for :class:`api.views.AccessChecks`: answers after a pause, says where the answer came from, and
    counts the questions it was asked."""

    def __init__(self, source: str = "backend", refuse: bool = False) -> None:
        self.source = source
        self.refuse = refuse
        self.asked: list[tuple[str, str]] = []

    async def run(self, authorization: str, run_id: str) -> Decision:
        self.asked.append((authorization, run_id))
        await asyncio.sleep(0.01)
        if self.refuse:
            raise BackendRefused(404, "not_found", "run not found")
        return Decision(b"{}", {"status": "completed", "can_control": authorization == ALICE}, self.source, "u")


async def test_viewers_joining_at_once_with_one_token_ask_once():
    backend = Backend()
    joins = JoinAccess(backend, ttl_s=5.0)  # type: ignore[arg-type]
    decisions = await asyncio.gather(*(joins.run(ALICE, "r1") for _ in range(500)),
                                     joins.run(BOB, "r1"), joins.run(ALICE, "r2"))
    assert len(backend.asked) == 3  # one per token and run
    assert [d.body["can_control"] for d in decisions[-3:]] == [True, False, True]


async def test_a_backend_answer_serves_later_joins_until_the_cache_would_have_expired():
    backend = Backend()
    joins = JoinAccess(backend, ttl_s=0.2)  # type: ignore[arg-type]
    await joins.run(ALICE, "r1")
    await joins.run(ALICE, "r1")
    assert len(backend.asked) == 1
    await asyncio.sleep(0.25)
    await joins.run(ALICE, "r1")
    assert len(backend.asked) == 2  # as old as the access cache allows: asked again


async def test_an_answer_from_the_access_cache_is_not_kept():
    backend = Backend(source="access_cache")  # another node asked, at a time this one does not know
    joins = JoinAccess(backend, ttl_s=5.0)  # type: ignore[arg-type]
    await joins.run(ALICE, "r1")
    await joins.run(ALICE, "r1")
    assert len(backend.asked) == 2


async def test_a_refusal_is_shared_by_those_waiting_but_never_kept():
    backend = Backend(refuse=True)
    joins = JoinAccess(backend, ttl_s=5.0)  # type: ignore[arg-type]
    results = await asyncio.gather(*(joins.run(BOB, "r1") for _ in range(10)), return_exceptions=True)
    assert all(isinstance(r, BackendRefused) for r in results) and len(backend.asked) == 1
    with pytest.raises(BackendRefused):
        await joins.run(BOB, "r1")
    assert len(backend.asked) == 2


async def test_the_kept_answers_are_bounded():
    backend = Backend()
    joins = JoinAccess(backend, ttl_s=5.0, max_entries=3)  # type: ignore[arg-type]
    for run in range(5):
        await joins.run(ALICE, f"r{run}")
    assert len(joins._recent) == 3
    await joins.run(ALICE, "r4")
    assert len(backend.asked) == 6  # r4 was not kept: asked again
