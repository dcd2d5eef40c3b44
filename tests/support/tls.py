"""Certificates made at test time with the ``openssl`` command: a throwaway certificate authority, a server
certificate it signs for ``127.0.0.1`` and ``localhost``, and one it signs for another host name. Nothing is
mocked: the servers under test present these over real TLS on loopback."""

from __future__ import annotations

import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

OPENSSL = "/usr/bin/openssl"
_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


@dataclass(frozen=True)
class Certificates:
    ca_file: Path  # the authority's certificate: the bundle a client is told to trust
    cert_file: Path  # for 127.0.0.1 and localhost
    key_file: Path
    other_host_cert_file: Path  # signed by the same authority for backend.invalid only
    other_host_key_file: Path

    def server_context(self, *, other_host: bool = False) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        if other_host:
            context.load_cert_chain(self.other_host_cert_file, self.other_host_key_file)
        else:
            context.load_cert_chain(self.cert_file, self.key_file)
        return context


def _openssl(*args: str | Path) -> None:
    subprocess.run([OPENSSL, *map(str, args)], check=True, capture_output=True, timeout=30)


def _server_certificate(directory: Path, name: str, ca: Path, ca_key: Path, alt_names: str) -> tuple[Path, Path]:
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    _openssl("req", "-x509", *_KEY, "-keyout", key, "-out", cert, "-days", "2", "-subj", f"/CN={name}",
             "-CA", ca, "-CAkey", ca_key, "-addext", f"subjectAltName={alt_names}",
             "-addext", "basicConstraints=critical,CA:FALSE", "-addext", "keyUsage=critical,digitalSignature",
             "-addext", "extendedKeyUsage=serverAuth")
    return cert, key


def make_certificates(directory: Path) -> Certificates:
    ca, ca_key = directory / "ca.pem", directory / "ca.key"
    _openssl("req", "-x509", *_KEY, "-keyout", ca_key, "-out", ca, "-days", "2", "-subj", "/CN=Hewston test CA",
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    cert, key = _server_certificate(directory, "server", ca, ca_key, "IP:127.0.0.1,DNS:localhost")
    other_cert, other_key = _server_certificate(directory, "other-host", ca, ca_key, "DNS:backend.invalid")
    return Certificates(ca, cert, key, other_cert, other_key)
