"""Settings base shared by every role, and the vocabulary every role reads alike.

Each role has its own settings class deriving from :class:`HewstonSettings`, with its own prefix
(``HEWSTON_`` for the backend, ``HEWSTON_API_``, ``HEWSTON_RELAY_``, ``HEWSTON_WORKER_``). What every role must
agree on is read under one name whatever the role, so one variable sets it for a whole deployment:

- ``HEWSTON_ENVIRONMENT``, ``HEWSTON_LOG_LEVEL``, ``HEWSTON_LOG_JSON`` and ``REDIS_URL`` (declared here);
- ``HEWSTON_BACKEND_URL`` and ``HEWSTON_REDIS_KEY_PREFIX`` for the roles that use them (:func:`shared`), where
  the role's own variable (``HEWSTON_API_BACKEND_URL``…) still wins when both are set. A role that calls the
  backend (:class:`BackendClientSettings`) and is given no backend URL finds the backend on this machine at
  ``HEWSTON_PORT``, the backend's own port setting, so moving the backend's port is one variable.

Every value is checked when the settings are read (:mod:`common.setting_types`): a bad one stops the role with
a line naming it, before anything starts.

Settings are built once by the role's entry point and passed into its app factory; nothing reads the
environment at import time.
"""

from __future__ import annotations

import os
import re
from typing import Any, Literal, Self

from pydantic import AliasChoices, Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from common.keys import DEFAULT_PREFIX
from common.setting_types import LogLevel, Port, RedisUrl

DEFAULT_BACKEND_PORT = 8000
DEFAULT_BACKEND_URL = f"http://127.0.0.1:{DEFAULT_BACKEND_PORT}"


def shared(role_prefix: str, name: str) -> AliasChoices:
    """The variables of a setting every role that has it reads alike: the role's own name first, then the
    deployment-wide ``HEWSTON_<NAME>``."""
    return AliasChoices(f"{role_prefix}{name}".upper(), f"HEWSTON_{name}".upper())


def backend_url_setting(role_prefix: str) -> Any:  # declared as ``backend_url: HttpUrl = ...``
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
    log_level: LogLevel = Field(default="INFO", validation_alias=AliasChoices("HEWSTON_LOG_LEVEL"))
    # None: JSON logs in production, console logs locally.
    log_json: bool | None = Field(default=None, validation_alias=AliasChoices("HEWSTON_LOG_JSON"))
    # No URL means the embedded in-process broker (fakeredis) shared by every role in this process.
    redis_url: RedisUrl = Field(default=None, validation_alias=AliasChoices("REDIS_URL", "HEWSTON_REDIS_URL"))

    @property
    def logs_as_json(self) -> bool:
        return self.log_json if self.log_json is not None else self.environment == "production"


class BackendClientSettings(HewstonSettings):
    """Settings of a role that calls the backend (api, relay, worker); the role declares ``backend_url`` with
    :func:`backend_url_setting`."""

    # The backend's own port setting: where a role given no backend URL finds it on this machine.
    backend_port: Port = Field(default=DEFAULT_BACKEND_PORT, validation_alias=AliasChoices("HEWSTON_PORT"))

    @model_validator(mode="after")
    def _backend_url_from_its_port(self) -> Self:
        if "backend_url" not in self.model_fields_set and self.backend_port:
            self.backend_url = f"http://127.0.0.1:{self.backend_port}"
        return self


def _all_settings_classes() -> list[type[HewstonSettings]]:
    found, pending = [], [HewstonSettings]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


def _settings_class(name: str) -> type[HewstonSettings] | None:
    return next((cls for cls in _all_settings_classes() if cls.__name__ == name), None)


def setting_variables(cls: type[BaseSettings], field: str) -> list[str]:
    """The environment variables that set ``field`` of ``cls``, the one that wins first."""
    alias = cls.model_fields[field].validation_alias
    if isinstance(alias, AliasChoices):
        return [choice for choice in alias.choices if isinstance(choice, str)]
    if isinstance(alias, str):
        return [alias]
    return [f"{cls.model_config.get('env_prefix', '')}{field}".upper()]


def _field_of(cls: type[BaseSettings], name: str) -> str | None:
    if name in cls.model_fields:
        return name
    return next((field for field in cls.model_fields
                 if name.upper() in (variable.upper() for variable in setting_variables(cls, field))), None)


_SECRET_FIELDS = ("token", "password", "secret")
_URL_PASSWORD = re.compile(r"(://[^:@/]*:)[^@/]*@")


def _shown(field: str, value: Any) -> str:
    """The bad value as the error line shows it: never a secret, and a URL without its password."""
    if any(word in field for word in _SECRET_FIELDS):
        return ""
    shown = _URL_PASSWORD.sub(r"\1***@", repr(value))
    return f" (got {shown})"


def describe_setting_errors(exc: ValidationError, *, options: dict[tuple[str, str], str] | None = None) -> list[str]:
    """One line per bad setting of a role's settings: the variables (and option) that set it, the reason, the
    value given. ``options`` maps (settings class name, field) to the command-line option that sets it too."""
    cls = _settings_class(exc.title)
    lines = []
    for error in exc.errors():
        reason = error["msg"].removeprefix("Value error, ")
        name = str(error["loc"][0]) if error["loc"] else ""
        field = _field_of(cls, name) if cls is not None and name else None
        if field is None:
            lines.append(f"{exc.title}{' ' + name if name else ''}: {reason}")
            continue
        setting = " or ".join(setting_variables(cls, field))
        option = (options or {}).get((exc.title, field))
        lines.append(f"{setting}{f' (or {option})' if option else ''}: {reason}{_shown(field, error.get('input'))}")
    return lines


def describe_unparsed_setting(exc: SettingsError) -> str:
    """The line for a value pydantic-settings could not even parse (a list or mapping setting that is not JSON),
    naming the variables of the field it names that are set."""
    match = re.search(r'field "([^"]+)"', str(exc))
    field = match.group(1) if match else "?"
    variables = {variable for cls in _all_settings_classes() if field in cls.model_fields
                 for variable in setting_variables(cls, field)}
    named = sorted(variable for variable in variables if variable in os.environ) or sorted(variables) or [field]
    return f"{' or '.join(named)}: not valid JSON (lists are written as JSON, e.g. [\"https://example.com\"])"
