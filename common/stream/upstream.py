"""Opening a playback WebSocket on the backend, as the relay (service token) or the api's direct fallback (the
viewer's own token) does. The token travels in the ``Authorization`` header, never in the URL.

The backend accepts a socket before checking it, so a refusal arrives as a close with a code and a reason on
the first read (``websockets.exceptions.ConnectionClosed``), not as a failed handshake.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, urlencode

from websockets.asyncio.client import ClientConnection, connect

from common.backend_tls import backend_ssl_context
from common.correlation import correlation_headers

# A frame at the highest speed carries a few hundred bars; far below this.
MAX_MESSAGE_BYTES = 16 * 1024 * 1024


def playback_url(backend_url: str, run_id: str, params: dict[str, str] | None = None) -> str:
    base = backend_url.rstrip("/")
    if base.startswith("https://"):
        base = "wss://" + base[len("https://"):]
    elif base.startswith("http://"):
        base = "ws://" + base[len("http://"):]
    url = f"{base}/backtests/{quote(run_id, safe='')}/ws"
    return f"{url}?{urlencode(params)}" if params else url


async def open_playback(backend_url: str, run_id: str, authorization: str, *, ca_file: Path | None = None,
                        params: dict[str, str] | None = None, open_timeout_s: float = 5.0) -> ClientConnection:
    """``ca_file``: the CA bundle a ``wss://`` backend's certificate is checked against (unset: the system's)."""
    headers = {"Authorization": authorization, **correlation_headers()}
    url = playback_url(backend_url, run_id, params)
    tls = {"ssl": backend_ssl_context(ca_file)} if url.startswith("wss://") else {}
    # No permessage-deflate: it would cost CPU on both ends for JSON that crosses a fast network once.
    return await connect(url, additional_headers=headers, compression=None, max_size=MAX_MESSAGE_BYTES,
                         open_timeout=open_timeout_s, close_timeout=2, **tls)
