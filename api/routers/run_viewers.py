"""``GET /api/v1/runs/{id}/viewers``: how many people watch a run's shared replay now.

The playback page learns its count from the stream itself (``hello``, ``heartbeat`` and ``presence``); the other
pages that show a run have no stream, and read the same figure here: each api node records its viewers per run
in Redis with every demand refresh, and this sums the counts that still stand. Only a caller who may see the run
gets an answer (the backend decides, as for every other part of a run).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from api.deps import AccessDep, AuthorizationDep, GuardDep, StreamHubDep
from api.models import RunViewers
from api.views import RUN_ID_PATTERN, RedisUnavailable
from common.errors import ServiceUnavailable

router = APIRouter(tags=["runs"])

_ERRORS = {401: {"description": "Missing or invalid token"},
           404: {"description": "No such run, or the caller may not see it"},
           503: {"description": "Redis or the backend cannot be reached"}}


@router.get("/runs/{run_id}/viewers", response_model=RunViewers, responses=_ERRORS,
            summary="How many people watch the run's shared replay now")
async def run_viewers(run_id: Annotated[str, Path(pattern=RUN_ID_PATTERN)], authorization: AuthorizationDep,
                      access: AccessDep, guard: GuardDep, hub: StreamHubDep) -> RunViewers:
    await access.run(authorization, run_id)
    try:
        viewers = await guard.run(lambda _redis: hub.store.watching(run_id))
    except RedisUnavailable:
        raise ServiceUnavailable("the viewer count is kept in Redis, which cannot be reached now") from None
    return RunViewers(run_id=run_id, viewers=viewers)
