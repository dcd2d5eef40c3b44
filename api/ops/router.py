"""``/api/v1/ops/summary`` and ``/api/v1/ops/audit``: for operators only, as the backend decides."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from api.deps import AuthorizationDep, GuardDep, UpstreamDep
from api.ops.audit import AuditTrail, stream_id
from api.ops.models import AuditPage, OpsSummaryResponse
from api.ops.operator import require_operator
from api.ops.sampler import OpsSampler
from api.ops.summary import OpsSummary
from api.views import RedisUnavailable
from common.errors import ServiceUnavailable
from common.models.users import Caller

router = APIRouter(prefix="/ops", tags=["operations"])
_FORBIDDEN = {403: {"description": "The backend does not name the caller an operator"}}


async def _operator(upstream: UpstreamDep, authorization: AuthorizationDep) -> Caller:
    return await require_operator(upstream, authorization)


OperatorDep = Annotated[Caller, Depends(_operator)]


@router.get("/summary", response_model=OpsSummaryResponse, responses=_FORBIDDEN,
            summary="Every api node's last window and recent history: latency against the backend, caches, "
                    "streams, processes, and what is degraded")
async def summary(request: Request, _caller: OperatorDep, guard: GuardDep) -> dict:
    sampler: OpsSampler = request.app.state.ops_sampler
    ops: OpsSummary = request.app.state.ops_summary
    if not sampler.latest:
        sampler.sample()
    # The backend just answered GET /me, so it is up as far as this node can tell.
    return await ops.build(sampler.share(), sampler.node_id, {"redis": guard.state, "backend": "ok"})


@router.get("/audit", response_model=AuditPage, responses={**_FORBIDDEN, 503: {"description": "Redis is down"}},
            summary="Audit events of state-changing calls, newest first, a page at a time")
async def audit(request: Request, _caller: OperatorDep,
                before: Annotated[str | None, Query(max_length=42, description="`next` of the previous page")] = None,
                limit: Annotated[int, Query(ge=1, le=200)] = 50) -> AuditPage:
    trail: AuditTrail = request.app.state.audit
    try:
        events, cursor = await trail.page(before=stream_id(before) if before else None, limit=limit)
    except RedisUnavailable:
        raise ServiceUnavailable("the audit trail is kept in Redis, which cannot be reached now") from None
    return AuditPage.model_validate({"events": events, "next": cursor})
