"""Whether the caller is an operator: the backend says so (``GET /me``, with the caller's token).

The api keeps no list of operators and reads no token; it forwards the header and believes the answer.
"""

from __future__ import annotations

from api.views import Upstream
from common.errors import HewstonError
from common.models.users import OPERATOR_ROLE, Caller


class NotAnOperator(HewstonError):
    status_code = 403
    code = "forbidden"


async def require_operator(upstream: Upstream, authorization: str | None) -> Caller:
    """The caller, when the backend grants them the operator role; 401 or 403 otherwise."""
    response = await upstream.get_ok("/me", route="/me", authorization=authorization)
    caller = Caller.model_validate_json(response.content)
    if OPERATOR_ROLE not in caller.roles:
        raise NotAnOperator(f"only operators may read this, and the backend does not name {caller.name} one")
    return caller
