"""What the backend process keeps for playback: its options, the shared cache of loaded runs, and the open
connections (so operators and tests can see what is playing, and that nothing is left once a client leaves).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from backend.playback.cache import RunCache
from backend.playback.connection import PlaybackConnection
from backend.playback.session import PlaybackOptions


@dataclass(frozen=True)
class PlaybackConfig:
    options: PlaybackOptions = field(default_factory=PlaybackOptions)
    # Browsers cannot set headers on a WebSocket, so they authenticate in their first message within this time.
    auth_timeout_s: float = 5.0
    # An open socket re-checks its caller's access this often (the api's access cache holds answers as long).
    access_recheck_s: float = 5.0
    # A year of minute bars with its running arrays is about 70 MB.
    cache_bytes: int = 512 * 1024 * 1024


class PlaybackService:
    def __init__(self, config: PlaybackConfig | None = None) -> None:
        self.config = config or PlaybackConfig()
        self.cache = RunCache(self.config.cache_bytes)
        self.connections: set[PlaybackConnection] = set()

    def opened(self, connection: PlaybackConnection) -> None:
        self.connections.add(connection)

    def closed(self, connection: PlaybackConnection) -> None:
        self.connections.discard(connection)
