"""``GET /me``: who the caller is and which roles the backend grants them.

Roles are the backend's decision (its ``operators`` setting); the api asks this route, with the caller's token,
before it shows anything operators alone may read.
"""

from __future__ import annotations

from fastapi import APIRouter

from backend.deps import PrincipalDep
from common.models.users import Caller

router = APIRouter(tags=["users"])


@router.get("/me", response_model=Caller, summary="The caller's name and roles")
async def me(principal: PrincipalDep) -> Caller:
    return Caller(name=principal.name, roles=list(principal.roles))
