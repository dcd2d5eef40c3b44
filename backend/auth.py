"""Bearer-token authentication. Tokens are stored as SHA-256 hashes and never logged.

API tokens are long random strings, so a fast hash is enough: there is nothing to brute-force.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from backend.catalog import Catalog
from common.errors import Unauthorized
from common.models.users import OPERATOR_ROLE

TOKEN_PREFIX = "hw_"


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user, or the service principal that relay and workers use to read every run."""

    user_id: int | None
    name: str
    is_service: bool = False
    roles: tuple[str, ...] = ()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


class Authenticator:
    def __init__(self, catalog: Catalog, service_token: str | None, operators: list[str] | None = None) -> None:
        self.catalog = catalog
        self._service_token = service_token
        self._operators = frozenset(operators or ())

    def authenticate(self, token: str | None) -> Principal:
        if not token:
            raise Unauthorized()
        if self._service_token and hmac.compare_digest(token, self._service_token):
            return Principal(user_id=None, name="service", is_service=True)
        user = self.catalog.user_by_token_hash(hash_token(token))
        if user is None:
            raise Unauthorized("the bearer token is not valid")
        roles = (OPERATOR_ROLE,) if user.name in self._operators else ()
        return Principal(user_id=user.id, name=user.name, roles=roles)
