"""Settings base shared by every role.

Each role has its own settings class deriving from :class:`HewstonSettings`. Settings are built once by the
role's entry point and passed into its app factory; nothing reads the environment at import time.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class HewstonSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HEWSTON_", env_file=".env", extra="ignore")

    environment: Literal["local", "production"] = "local"
    log_level: str = "INFO"
    # None: JSON logs in production, console logs locally.
    log_json: bool | None = None
    # No URL means the embedded in-process broker (fakeredis) shared by every role in this process.
    redis_url: str | None = Field(default=None, validation_alias=AliasChoices("REDIS_URL", "HEWSTON_REDIS_URL"))

    @property
    def logs_as_json(self) -> bool:
        return self.log_json if self.log_json is not None else self.environment == "production"
