"""The whole api against a real Hewston backend served over TLS on loopback (uvicorn with a certificate signed by
a throwaway authority): trusted through ``backend_ca_file``, a passthrough call and chart data answer; a certificate
the api cannot verify (an authority it was not told to trust, or another host's name) is its usual 503, with a log
line naming the cause and never the caller's token."""

from __future__ import annotations

import httpx
import pytest

from common.backend_tls import backend_ssl_context
from tests.api.conftest import SYMBOL, served_over_tls
from tests.conftest import ALICE_TOKEN, auth
from tests.support.logs import captured_logs
from tests.support.servers import LiveServer

pytestmark = pytest.mark.redis
DECIMATED = {"symbol": SYMBOL, "timeframe": "1M_DECIMATED", "target_points": 500}


def test_a_backend_over_tls_answers_through_the_api(tls_backend, make_api, tls_certificates):
    backend = tls_backend
    assert backend.http_url.startswith("https://")
    api = make_api(backend.http_url, backend_ca_file=tls_certificates.ca_file)
    direct = httpx.get(f"{backend.http_url}/symbols/{SYMBOL}", headers=auth(ALICE_TOKEN),
                       verify=backend_ssl_context(tls_certificates.ca_file))
    assert direct.status_code == 200
    with httpx.Client(base_url=api.http_url, headers=auth(ALICE_TOKEN)) as client:
        for _ in range(2):  # the second call on the pool's kept TLS connection
            symbol = client.get(f"/api/v1/symbols/{SYMBOL}")
            assert symbol.status_code == 200 and symbol.headers["x-hewston-user"] == "alice"
            assert symbol.content == direct.content
        chart = client.get("/api/v1/chart-data", params=DECIMATED)
        assert chart.status_code == 200 and chart.json()["symbol"] == SYMBOL
        assert 0 < chart.json()["returned_points"] == len(chart.json()["close"]) <= 500
        ready = client.get("/ready").json()
        assert ready["backend"]["state"] == "ok"


def unverified(api: LiveServer, cause: str) -> None:
    """Every call the api makes to the backend is refused as unreachable, each logged with its cause."""
    with captured_logs() as lines, httpx.Client(base_url=api.http_url, headers=auth(ALICE_TOKEN)) as client:
        passthrough = client.get("/api/v1/symbols")
        chart = client.get("/api/v1/chart-data", params=DECIMATED)
    for response in (passthrough, chart):
        assert response.status_code == 503, response.text
        assert response.json()["error"]["code"] == "service_unavailable"
    refused = [line for line in lines if "backend_unreachable" in line]
    assert len(refused) >= 2 and all(cause in line for line in refused), lines
    assert not any(ALICE_TOKEN in line for line in lines)
    # A certificate that failed verification fails again at once: the passthrough GET, which a refused
    # connection would retry, was tried once.
    metrics = httpx.get(f"{api.http_url}/metrics").text
    assert ('hewston_api_upstream_duration_seconds_count{method="GET",route="/symbols",status="unreachable"} 1.0'
            in metrics), [line for line in metrics.splitlines() if "unreachable" in line]


def test_a_backend_whose_authority_the_api_does_not_trust_is_unreachable(tls_backend, make_api):
    # With retries on (as deployed), to show that a certificate failure does not use them.
    unverified(make_api(tls_backend.http_url, upstream_retries=2),
               "certificate verify failed: unable to get local issuer certificate")


def test_a_certificate_for_another_host_is_refused(tmp_path_factory, make_api, tls_certificates):
    certificate = (tls_certificates.other_host_cert_file, tls_certificates.other_host_key_file)
    for other_host in served_over_tls(tmp_path_factory, certificate):
        api = make_api(other_host.http_url, backend_ca_file=tls_certificates.ca_file, upstream_retries=2)
        unverified(api, "certificate verify failed: IP address mismatch")
