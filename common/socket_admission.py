"""Which WebSockets a server takes: browser pages of allowed origins only, and at most so many open sockets per
client address.

Both checks run right after the socket is accepted and before any credential is read, and a refusal closes the
socket with its code and a reason (``Refused``), like every other refusal of Hewston's sockets: answering the
handshake with an HTTP error instead would leave the client with no reason at all.

- **Origin.** A browser names the page that opens a socket in ``Origin``; a page of another site must not reach
  a socket with the visitor's token (defence in depth: tokens are bearer tokens a page cannot read from another
  origin). Allowed: no ``Origin`` (not a browser: relays, scripts), the page's own origin (``Origin`` names the
  ``Host`` the socket was opened on, whatever the scheme), and the configured origins (``*`` allows any).
- **Per address.** A socket counts from its acceptance to its end against its client address (the TCP peer, or
  the client a trusted proxy names); one beyond the cap is refused with 4429, so one client cannot hold open
  thousands of sockets. A socket whose caller turns out to be a service (a relay holds one per run it relays)
  can be let off the count.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from starlette.websockets import WebSocket

from common.close_codes import CloseCode
from common.sockets import Refused


def _origin_key(origin: str) -> str:
    """``scheme://host[:port]``, lower-cased, without a trailing slash."""
    return origin.strip().rstrip("/").lower()


class SocketAdmission:
    def __init__(self, *, max_per_address: int, allowed_origins: Iterable[str] = ()) -> None:
        self.max_per_address = max_per_address
        origins = {_origin_key(origin) for origin in allowed_origins}
        self._any_origin = "*" in origins
        self._origins = origins - {"*"}
        self._open: dict[str, int] = {}

    def origin_allowed(self, origin: str | None, host: str | None) -> bool:
        if origin is None or self._any_origin:
            return True
        key = _origin_key(origin)
        if key in self._origins:
            return True
        netloc = urlsplit(key).netloc
        return bool(netloc) and host is not None and netloc == host.strip().lower()

    def open_from(self, address: str) -> int:
        return self._open.get(address, 0)

    @contextmanager
    def slot(self, websocket: WebSocket) -> Iterator[Slot]:
        """Admit ``websocket`` for the block (raises :class:`Refused` when it may not be), counting it against its
        client address until the block ends or the slot is let off."""
        if not self.origin_allowed(websocket.headers.get("origin"), websocket.headers.get("host")):
            raise Refused(CloseCode.origin_not_allowed,
                          "Origin: this page's origin may not open sockets here (not the server's own origin, nor "
                          "a configured one)")
        address = websocket.client.host if websocket.client else "unknown"
        if self._open.get(address, 0) >= self.max_per_address:
            raise Refused(CloseCode.too_many_sockets,
                          f"too many sockets from your address (at most {self.max_per_address} at once); close "
                          "one, then retry")
        self._open[address] = self._open.get(address, 0) + 1
        slot = Slot(self, address)
        try:
            yield slot
        finally:
            slot.let_off()

    def _release(self, address: str) -> None:
        left = self._open.get(address, 0) - 1
        if left > 0:
            self._open[address] = left
        else:
            self._open.pop(address, None)


class Slot:
    """One admitted socket's place in its address's count."""

    def __init__(self, admission: SocketAdmission, address: str) -> None:
        self._admission = admission
        self.address = address
        self._counted = True

    def let_off(self) -> None:
        """Stop counting this socket (its caller is a service, or it ended)."""
        if self._counted:
            self._counted = False
            self._admission._release(self.address)
