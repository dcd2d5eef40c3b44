"""The reverse proxy of docker-compose.yml (deploy/nginx.conf) in front of two api processes: it balances HTTP and
the playback WebSocket over both, moves requests and reconnecting viewers off a node that died, and cuts off a
client that never finishes its request headers. The configuration is the deployed one, with the api nodes'
loopback addresses in place of Docker's DNS (which this machine does not have). Needs nginx.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from bench.cluster import ALICE, Cluster, create_run
from bench.processes import ROOT, answers, free_ports, wait_until
from tests.support.stream_client import StreamViewer

pytestmark = [pytest.mark.system, pytest.mark.timeout(240),
              pytest.mark.skipif(shutil.which("nginx") is None, reason="needs nginx")]


def local_config(api_ports: list[int], backend_port: int, listen_port: int, workdir: Path) -> str:
    """deploy/nginx.conf with the api nodes and the backend on loopback instead of Docker's DNS, and files under
    ``workdir``. A variable naming an upstream group is that group: no resolver is needed."""
    text = (ROOT / "deploy" / "nginx.conf").read_text()
    servers = "".join(f"server 127.0.0.1:{port};\n        " for port in api_ports)
    text, replaced = re.subn(r"\n\s*resolver [^;]*;", f"\n    upstream local_api_nodes {{\n        {servers}}}", text)
    assert replaced == 1
    text, replaced = re.subn(r"set \$api_nodes http://api:8001;", "set $api_nodes http://local_api_nodes;", text)
    assert replaced == 1
    text, replaced = re.subn(r"set \$backend http://backend:8000;", f"set $backend http://127.0.0.1:{backend_port};",
                             text)
    assert replaced == 1
    text, replaced = re.subn(r"listen 8080;", f"listen 127.0.0.1:{listen_port};", text)
    assert replaced == 1
    return f"pid {workdir}/nginx.pid;\nerror_log {workdir}/error.log;\n" + text


@pytest.fixture(scope="module")
def deployment(tmp_path_factory) -> Iterator[tuple[Cluster, str]]:
    workdir = tmp_path_factory.mktemp("proxy")
    with Cluster(workdir / "cluster", relays=1, worker=False) as cluster:
        port = free_ports(1)[0]
        conf = workdir / "nginx.conf"
        conf.write_text(local_config([api.port for api in cluster.api_nodes], cluster.backend.port, port, workdir))
        checked = subprocess.run(["nginx", "-t", "-c", str(conf), "-p", str(workdir)], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr
        proxy = subprocess.Popen(["nginx", "-c", str(conf), "-p", str(workdir), "-g", "daemon off;"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_until(lambda: answers(f"{url}/health"), 15, "the proxy did not answer")
            yield cluster, url
        finally:
            proxy.terminate()
            proxy.wait(10)


async def test_http_and_websockets_are_balanced_and_move_off_a_node_that_died(deployment):
    cluster, proxy = deployment
    api1, api2 = cluster.api_nodes
    headers = {"Authorization": f"Bearer {ALICE}"}
    for _ in range(20):
        assert httpx.get(f"{proxy}/api/v1/symbols", headers=headers, timeout=10).status_code == 200
    time.sleep(0.3)
    assert all(api.log().count("route=/api/v1/symbols") >= 5 for api in (api1, api2))

    run_id = create_run(proxy)
    viewers = [StreamViewer(proxy, run_id, ALICE) for _ in range(4)]
    for viewer in viewers:
        await viewer.__aenter__()
        assert (await viewer.recv())["type"] == "hello"
    resumed: list[StreamViewer] = []
    try:
        await viewers[0].send({"type": "speed", "value": 300})
        await viewers[0].send({"type": "play"})
        await asyncio.gather(*(viewer.until_cursor(300) for viewer in viewers))
        api1.kill()
        # Requests keep working: the proxy tries the other node.
        codes = [httpx.get(f"{proxy}/api/v1/symbols", headers=headers, timeout=10).status_code for _ in range(10)]
        assert codes == [200] * 10
        # Viewers that were on the dead node reconnect through the proxy and resume where they were.
        for viewer in viewers:
            try:
                await viewer.until(lambda _m: False, timeout_s=2)
            except ConnectionClosed:
                resumed.append(StreamViewer(proxy, run_id, ALICE, continue_from=viewer))
            except TimeoutError:
                resumed.append(viewer)  # it was on the node that lives
        assert len(resumed) == 4 and any(r is not v for r, v in zip(resumed, viewers, strict=True))
        for viewer in resumed:
            if viewer not in viewers:
                await viewer.__aenter__()
                assert (await viewer.recv())["resume"] == "recovered"
        target = max(viewer.continuity.cursor for viewer in viewers) + 300
        await asyncio.gather(*(viewer.until_cursor(target) for viewer in resumed))
    finally:
        for viewer in {*viewers, *resumed}:
            await viewer.close()
        api1.start().wait_listening()
    assert all(viewer.continuity.resets == [] for viewer in resumed if viewer not in viewers)


def test_a_client_that_never_finishes_its_headers_is_cut_off(deployment):
    _cluster, proxy = deployment
    host, port = proxy.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=20) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: hewston\r\n")  # and never the blank line
        started = time.monotonic()
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
        waited = time.monotonic() - started
    assert 9 <= waited <= 15 and (answer == b"" or answer.startswith(b"HTTP/1.1 408")), (waited, answer[:80])


def test_operator_endpoints_stay_private_and_the_direct_path_reaches_the_backend(deployment):
    cluster, proxy = deployment
    api = cluster.api_nodes[0]
    headers = {"Authorization": f"Bearer {ALICE}"}
    for path in ("/metrics", "/docs", "/openapi.json", "/redoc", "/direct/metrics", "/direct/docs",
                 "/direct/openapi.json"):
        assert httpx.get(f"{proxy}{path}", timeout=10).status_code == 404, path
    assert answers(f"{api.url}/metrics")  # still there for Prometheus, on the node itself
    symbols = httpx.get(f"{proxy}/direct/symbols", headers=headers, timeout=10)
    assert symbols.status_code == 200 and symbols.json() == httpx.get(
        f"{proxy}/api/v1/symbols", headers=headers, timeout=10).json()
