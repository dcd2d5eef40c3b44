"""Settings base shared by every role, and the vocabulary every role reads alike.

Each role has its own settings class deriving from :class:`HewstonSettings`, with its own prefix
(``HEWSTON_`` for the backend, ``HEWSTON_API_``, ``HEWSTON_RELAY_``, ``HEWSTON_WORKER_``). What every role must
agree on is read under one name whatever the role, so one variable sets it for a whole deployment:

- ``HEWSTON_ENVIRONMENT``, ``HEWSTON_LOG_LEVEL``, ``HEWSTON_LOG_JSON``, ``REDIS_URL`` and
  ``HEWSTON_REDIS_EVICTION_ACCEPTED`` (declared here);
- ``HEWSTON_BACKEND_URL`` and ``HEWSTON_REDIS_KEY_PREFIX`` for the roles that use them (:func:`shared`), where
  the role's own variable (``HEWSTON_API_BACKEND_URL``…) still wins when both are set.

Settings are built once by the role's entry point and passed into its app factory; nothing reads the
environment at import time.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from common.keys import DEFAULT_PREFIX

DEFAULT_BACKEND_URL = "http://127.0.0.1:8000"


def shared(role_prefix: str, name: str) -> AliasChoices:
    """The variables of a setting every role that has it reads alike: the role's own name first, then the
    deployment-wide ``HEWSTON_<NAME>``."""
    return AliasChoices(f"{role_prefix}{name}".upper(), f"HEWSTON_{name}".upper())


def backend_url_setting(role_prefix: str) -> Any:
    """A role's ``backend_url``: where it calls the backend (its own variable, or ``HEWSTON_BACKEND_URL``)."""
    return Field(default=DEFAULT_BACKEND_URL, validation_alias=shared(role_prefix, "backend_url"))


def key_prefix_setting(role_prefix: str) -> Any:
    """A role's ``redis_key_prefix``: the namespace of its Redis keys (its own variable, or
    ``HEWSTON_REDIS_KEY_PREFIX``)."""
    return Field(default=DEFAULT_PREFIX, validation_alias=shared(role_prefix, "redis_key_prefix"))


class HewstonSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HEWSTON_", env_file=".env", extra="ignore", populate_by_name=True)

    environment: Literal["local", "production"] = Field(
        default="local", validation_alias=AliasChoices("HEWSTON_ENVIRONMENT"))
    log_level: str = Field(default="INFO", validation_alias=AliasChoices("HEWSTON_LOG_LEVEL"))
    # None: JSON logs in production, console logs locally.
    log_json: bool | None = Field(default=None, validation_alias=AliasChoices("HEWSTON_LOG_JSON"))
    # Start even when REDIS_URL's maxmemory-policy may evict keys (common.redis_eviction): only for a Redis
    # whose memory limit cannot be reached, since an evicted stream key loses viewers' history.
    redis_eviction_accepted: bool = Field(default=False,
                                          validation_alias=AliasChoices("HEWSTON_REDIS_EVICTION_ACCEPTED"))
    # No URL means the embedded in-process broker (fakeredis) shared by every role in this process.
    redis_url: str | None = Field(default=None, validation_alias=AliasChoices("REDIS_URL", "HEWSTON_REDIS_URL"))

    @property
    def logs_as_json(self) -> bool:
        return self.log_json if self.log_json is not None else self.environment == "production"
