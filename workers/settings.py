"""arq's entry point: ``arq workers.settings.WorkerSettings``.

arq looks that name up when it starts, and only then is the environment read: into
:class:`~workers.config.WorkerConfig` for the worker itself, and into the api's settings for the cache it fills.
Nothing in the worker imports this module; it sits above all of it.
"""

from __future__ import annotations

from typing import Any

from api.settings import ApiSettings
from workers.config import WorkerConfig
from workers.worker import standalone_options


def __getattr__(name: str) -> Any:
    # The options are built when arq asks for them, not at import: a missing REDIS_URL or token stops arq with
    # the reason, and importing this module reads no environment.
    if name == "WorkerSettings":
        return standalone_options(WorkerConfig(), ApiSettings())
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
