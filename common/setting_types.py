"""Types of the settings every role shares, each checked when the settings are read.

A role reads its settings once at start-up; a value that cannot work (a Redis URL with an unknown scheme, a port
that is not a port, a log level nobody knows) is refused there, naming the setting and the reason, instead of
failing later inside a client library with a traceback.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import quote, urlsplit

from pydantic import AfterValidator, BeforeValidator, Field

from common.backend_tls import check_ca_file

# 0 asks the system for any free port (``hewston up --port 0``); a metrics port of 0 turns the metrics off.
Port = Annotated[int, Field(ge=0, le=65535)]

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LogLevel = Annotated[Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"],
                     BeforeValidator(lambda value: value.upper() if isinstance(value, str) else value)]

REDIS_SCHEMES = ("redis", "rediss", "unix", "redis+sentinel", "redis+cluster")


def _host_and_port(netloc: str, default_port: int | None) -> None:
    """Raise ValueError unless ``netloc`` (no credentials) names a host and, if any, a port in range."""
    if not netloc:
        raise ValueError("names no host")
    match = re.fullmatch(r"(\[[^\]]+\]|[^:\[\]]+)(?::(.*))?", netloc)
    if match is None:
        raise ValueError(f"{netloc!r} is not host:port")
    port = match.group(2)
    if port is None:
        if default_port is None:
            raise ValueError(f"{netloc!r} names no port")
        return
    if not port.isdigit():
        raise ValueError(f"port {port!r} is not a number")
    if not 1 <= int(port) <= 65535:
        raise ValueError(f"port {port} is not between 1 and 65535")


def _without_credentials(netloc: str) -> str:
    return netloc.rpartition("@")[2]


def check_redis_url(url: str | None) -> str | None:
    """A Redis URL every client of Hewston can use (None, or empty: the embedded broker)."""
    if not url:
        return None
    scheme, netloc, path = (part for part in urlsplit(url)[:3])
    if scheme not in REDIS_SCHEMES:
        raise ValueError(f"scheme {scheme + '://' if scheme else '(none)'} is not one of "
                         f"{', '.join(name + '://' for name in REDIS_SCHEMES)}")
    if scheme == "unix":
        if not path:
            raise ValueError("unix:// names no socket path")
        return url
    hosts = _without_credentials(netloc)
    if scheme == "redis+cluster":
        for host in hosts.split(","):
            _host_and_port(host, 6379)
        return url
    if scheme == "redis+sentinel":
        for host in hosts.split(","):
            _host_and_port(host, 26379)
        parts = [part for part in path.split("/") if part]
        if len(parts) > 1 and not parts[1].isdigit():
            raise ValueError(f"database {parts[1]!r} is not a number (redis+sentinel://hosts/<service>/<db>)")
        return url
    _host_and_port(hosts, 6379)
    database = path.strip("/")
    if database and not database.isdigit():
        raise ValueError(f"database {database!r} is not a number (redis://host:port/<db>)")
    return url


def with_password(url: str, password: str) -> str:
    """``url`` with ``password`` in its credentials, unless it carries one already (``redis://user@host`` names
    the ACL user; without a user the password is the default user's)."""
    scheme, separator, rest = url.partition("://")
    userinfo, at, hosts = rest.rpartition("@")
    if not separator or ":" in userinfo:
        return url
    return f"{scheme}://{userinfo}:{quote(password, safe='')}@{hosts if at else rest}"


def check_http_url(url: str) -> str:
    """An ``http://`` or ``https://`` URL with a host (and a port in range, if it names one)."""
    scheme, netloc = urlsplit(url)[:2]
    if scheme not in ("http", "https"):
        raise ValueError(f"scheme {scheme + '://' if scheme else '(none)'} is not http:// or https://")
    _host_and_port(_without_credentials(netloc), 80)
    return url


def check_public_url(url: str) -> str:
    """An ``http(s)://`` URL, or a path on the server that answers the browser (``/direct``)."""
    if url.startswith("/") and not url.startswith("//"):
        return url
    try:
        return check_http_url(url)
    except ValueError as exc:
        raise ValueError(f"{exc}, nor a path starting with /") from None


def check_networks(values: list[str]) -> list[str]:
    """Addresses or networks (``10.0.0.0/8``), or ``*`` for every peer."""
    for value in values:
        if value != "*":
            try:
                ipaddress.ip_network(value, strict=False)
            except ValueError:
                raise ValueError(f"{value!r} is not an IP address or network (e.g. 10.0.0.0/8), nor *") from None
    return values


RedisUrl = Annotated[str | None, AfterValidator(check_redis_url)]
HttpUrl = Annotated[str, AfterValidator(check_http_url)]
# Where a browser reaches a service: absolute, or a path on the origin the browser called (behind a proxy).
PublicUrl = Annotated[str, AfterValidator(check_public_url)]
Networks = Annotated[list[str], AfterValidator(check_networks)]
# A PEM bundle of certificate authorities, read when the settings are.
CaFile = Annotated[Path, AfterValidator(check_ca_file)]
