"""How a role trusts an ``https://`` backend: the system's certificate authorities, or the operator's own CA
bundle (``HEWSTON_BACKEND_CA_FILE``) instead of them. Certificates and host names are always verified.

The bundle is read when the settings are read (:func:`check_ca_file`), so a missing or unreadable file stops the
role at start-up with a line naming the setting; each process then loads it once (:func:`backend_ssl_context`).
"""

from __future__ import annotations

import ssl
from functools import lru_cache
from pathlib import Path


def _context(ca_file: Path | None) -> ssl.SSLContext:
    # With a bundle, only its certificates are trusted (as with curl's --cacert); without, the system's.
    return ssl.create_default_context(cafile=ca_file)


@lru_cache(maxsize=4)
def backend_ssl_context(ca_file: Path | None) -> ssl.SSLContext:
    """The TLS context every connection to the backend uses (the pool's, the playback sockets')."""
    return _context(ca_file)


def check_ca_file(ca_file: Path) -> Path:
    """``ca_file`` when it is a readable file holding at least one PEM certificate; else ValueError saying why."""
    try:
        _context(ca_file)
    except FileNotFoundError:
        raise ValueError("no such file") from None
    except IsADirectoryError:
        raise ValueError("is a directory, not a PEM file") from None
    except PermissionError:
        raise ValueError("cannot be read (permission denied)") from None
    except ssl.SSLError as exc:
        raise ValueError(f"holds no PEM certificate ({exc.reason or exc})") from None
    except OSError as exc:
        raise ValueError(f"cannot be read ({exc.strerror or exc})") from None
    return ca_file
