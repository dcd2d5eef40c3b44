"""Who a caller is, as the backend decides it: the answer of ``GET /me``."""

from __future__ import annotations

from pydantic import BaseModel, Field

OPERATOR_ROLE = "operator"


class Caller(BaseModel):
    name: str = Field(description="The user the token belongs to (``service`` for the service token)")
    roles: list[str] = Field(default_factory=list, description=(
        f"Roles granted by the backend's settings; `{OPERATOR_ROLE}` may read operations and the audit trail"))
