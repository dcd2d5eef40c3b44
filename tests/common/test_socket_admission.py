"""``SocketAdmission.origin_allowed``: which browser pages may open a socket."""

from __future__ import annotations

import pytest

from common.socket_admission import SocketAdmission

ADMISSION = SocketAdmission(max_per_address=1, allowed_origins=["https://app.example", "http://localhost:5173/"])


@pytest.mark.parametrize("origin, host", [
    (None, "api.example"),                        # not a browser (a relay, a script)
    ("https://api.example", "api.example"),       # the page's own origin
    ("http://127.0.0.1:8001", "127.0.0.1:8001"),
    ("HTTPS://API.example", "api.example"),        # names are case-insensitive
    ("https://app.example", "api.example"),       # configured
    ("http://localhost:5173", "127.0.0.1:8001"),  # configured with a trailing slash
])
def test_allowed_origins(origin, host):
    assert ADMISSION.origin_allowed(origin, host)


@pytest.mark.parametrize("origin, host", [
    ("https://evil.example", "api.example"),
    ("https://api.example.evil.example", "api.example"),
    ("http://127.0.0.1:8002", "127.0.0.1:8001"),  # another port is another origin
    ("null", "api.example"),                      # a sandboxed page or a file
    ("https://api.example", None),
    ("", "api.example"),
])
def test_refused_origins(origin, host):
    assert not ADMISSION.origin_allowed(origin, host)


def test_a_star_allows_every_origin():
    assert SocketAdmission(max_per_address=1, allowed_origins=["*"]).origin_allowed("https://x.example", "y")
