"""``hewston probe URL``: the readiness check of the systemd units and the compose health checks."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bench.processes import free_ports
from hewston.cli import main


class _Answers(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the standard library's name
        self.send_response(200 if self.path == "/health" else 503)
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


def test_probe_passes_once_the_url_answers_200_and_fails_in_one_line_otherwise(capsys):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answers)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        assert main(["probe", f"{url}/health"]) == 0
        assert main(["probe", f"{url}/ready", "--wait-s", "0.5"]) == 1
        assert capsys.readouterr().err.strip() == f"error: {url}/ready did not answer 200 within 0.5 s"
    finally:
        server.shutdown()
        server.server_close()
    assert main(["probe", f"http://127.0.0.1:{free_ports(1)[0]}/health"]) == 1
