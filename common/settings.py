"""Settings base shared by every role, and the vocabulary every role reads alike.

Each role has its own settings class deriving from :class:`HewstonSettings`, with its own prefix
(``HEWSTON_`` for the backend, ``HEWSTON_API_``, ``HEWSTON_RELAY_``, ``HEWSTON_WORKER_``). What every role must
agree on is read under one name whatever the role, so one variable sets it for a whole deployment:

- ``HEWSTON_ENVIRONMENT``, ``HEWSTON_LOG_LEVEL``, ``HEWSTON_LOG_JSON``, ``REDIS_URL`` and
  ``HEWSTON_REDIS_EVICTION_ACCEPTED`` (declared here);
- ``HEWSTON_BACKEND_URL``, ``HEWSTON_BACKEND_CA_FILE`` and ``HEWSTON_REDIS_KEY_PREFIX`` for the roles that use
  them (:func:`shared`), where the role's own variable (``HEWSTON_API_BACKEND_URL``…) still wins when both are
  set. A role that calls the backend (:class:`BackendClientSettings`) and is given no backend URL finds the
  backend on this machine at ``HEWSTON_PORT``, the backend's own port setting, so moving the backend's port is one
  variable.

Secrets can also come from files, one per setting and named like its variable (``hewston_service_token``,
``hewston_redis_password``): in ``$CREDENTIALS_DIRECTORY`` (systemd's ``LoadCredential=``) or ``/run/secrets``
(Docker and Compose secrets). A variable that is set wins over a file. ``HEWSTON_REDIS_PASSWORD`` completes a
``REDIS_URL`` that names no password, so the URL itself need not be secret.

Every value is checked when the settings are read (:mod:`common.setting_types`): a bad one stops the role with
a line naming it, before anything starts.

Settings are built once by the role's entry point and passed into its app factory; nothing reads the
environment at import time.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SecretsSettingsSource,
    SettingsConfigDict,
)

from common.keys import DEFAULT_PREFIX
from common.redis_client import cluster_address
from common.setting_types import LogLevel, Port, RedisUrl, with_password

DOCKER_SECRETS_DIR = Path("/run/secrets")
DEFAULT_BACKEND_PORT = 8000
DEFAULT_BACKEND_URL = f"http://127.0.0.1:{DEFAULT_BACKEND_PORT}"


def shared(role_prefix: str, name: str) -> AliasChoices:
    """The variables of a setting every role that has it reads alike: the role's own name first, then the
    deployment-wide ``HEWSTON_<NAME>``."""
    return AliasChoices(f"{role_prefix}{name}".upper(), f"HEWSTON_{name}".upper())


def backend_url_setting(role_prefix: str) -> Any:  # declared as ``backend_url: HttpUrl = ...``
    """A role's ``backend_url``: where it calls the backend (its own variable, or ``HEWSTON_BACKEND_URL``)."""
    return Field(default=DEFAULT_BACKEND_URL, validation_alias=shared(role_prefix, "backend_url"))


def backend_ca_file_setting(role_prefix: str) -> Any:  # declared as ``backend_ca_file: CaFile | None = ...``
    """A role's ``backend_ca_file``: the CA bundle an ``https://`` backend's certificate is checked against instead
    of the system's (its own variable, or ``HEWSTON_BACKEND_CA_FILE``); unset: the system's."""
    return Field(default=None, validation_alias=shared(role_prefix, "backend_ca_file"))


def key_prefix_setting(role_prefix: str) -> Any:
    """A role's ``redis_key_prefix``: the namespace of its Redis keys (its own variable, or
    ``HEWSTON_REDIS_KEY_PREFIX``)."""
    return Field(default=DEFAULT_PREFIX, validation_alias=shared(role_prefix, "redis_key_prefix"))


def secrets_dir() -> Path | None:
    """Where secret files are, if anywhere: systemd's credentials of this service, or Docker's secrets."""
    credentials = os.environ.get("CREDENTIALS_DIRECTORY")
    if credentials and Path(credentials).is_dir():
        return Path(credentials)
    return DOCKER_SECRETS_DIR if DOCKER_SECRETS_DIR.is_dir() else None


class HewstonSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HEWSTON_", env_file=".env", extra="ignore", populate_by_name=True)

    environment: Literal["local", "production"] = Field(
        default="local", validation_alias=AliasChoices("HEWSTON_ENVIRONMENT"))
    log_level: LogLevel = Field(default="INFO", validation_alias=AliasChoices("HEWSTON_LOG_LEVEL"))
    # None: JSON logs in production, console logs locally.
    log_json: bool | None = Field(default=None, validation_alias=AliasChoices("HEWSTON_LOG_JSON"))
    # Start even when REDIS_URL's maxmemory-policy may evict keys (common.redis_eviction): only for a Redis
    # whose memory limit cannot be reached, since an evicted stream key loses viewers' history.
    redis_eviction_accepted: bool = Field(default=False,
                                          validation_alias=AliasChoices("HEWSTON_REDIS_EVICTION_ACCEPTED"))
    # No URL means the embedded in-process broker (fakeredis) shared by every role in this process.
    # Not in the settings' repr: the URL may carry a password.
    redis_url: RedisUrl = Field(default=None, repr=False,
                                validation_alias=AliasChoices("REDIS_URL", "HEWSTON_REDIS_URL"))

    # Completes REDIS_URL when it names no password (a secret file, typically: see above).
    redis_password: str | None = Field(default=None, repr=False,
                                       validation_alias=AliasChoices("HEWSTON_REDIS_PASSWORD"))

    # arq's job queue (prewarming): arq has no cluster client, so with REDIS_URL naming a Redis Cluster the queue
    # needs a Redis of its own (one server, or Sentinel). Unset: the queue lives on REDIS_URL.
    queue_redis_url: RedisUrl = Field(default=None, repr=False,
                                      validation_alias=AliasChoices("HEWSTON_QUEUE_REDIS_URL"))

    @property
    def queue_url(self) -> str | None:
        """Where the job queue lives; None with a cluster and no queue of its own (nothing is queued then)."""
        if self.queue_redis_url:
            return self.queue_redis_url
        if self.redis_url and cluster_address(self.redis_url) is not None:
            return None
        return self.redis_url

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        secrets = secrets_dir()
        files = (SecretsSettingsSource(settings_cls, secrets_dir=secrets),) if secrets is not None else ()
        return init_settings, env_settings, dotenv_settings, *files

    @model_validator(mode="after")
    def _password_into_redis_url(self) -> Self:
        if self.redis_url and self.redis_password:
            self.redis_url = with_password(self.redis_url, self.redis_password)
        return self

    @property
    def logs_as_json(self) -> bool:
        return self.log_json if self.log_json is not None else self.environment == "production"


class BackendClientSettings(HewstonSettings):
    """Settings of a role that calls the backend (api, relay, worker); the role declares ``backend_url`` and
    ``backend_ca_file`` with :func:`backend_url_setting` and :func:`backend_ca_file_setting`."""

    # The backend's own port setting: where a role given no backend URL finds it on this machine.
    backend_port: Port = Field(default=DEFAULT_BACKEND_PORT, validation_alias=AliasChoices("HEWSTON_PORT"))

    @model_validator(mode="after")
    def _backend_url_from_its_port(self) -> Self:
        if "backend_url" not in self.model_fields_set and self.backend_port:
            self.backend_url = f"http://127.0.0.1:{self.backend_port}"
        return self
