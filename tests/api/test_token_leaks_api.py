"""No token reaches a log line: not from a header, a query string, a body or a WebSocket message, and not
through a library's own logger (httpx's request line, uvicorn's WebSocket line). The last test of the run
reads every line the whole suite logged and looks for every token the suite used."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import orjson
from websockets.sync.client import connect

from api.main import create_app
from tests.api.conftest import SYMBOL, api_settings
from tests.support.logs import captured_logs
from tests.support.servers import live_server
from tests.support.tokens import USED_TOKENS, token

# Not in Hewston's token format, so only the position it stands in can give it away.
LEAK_TOKEN = token("leakcheck-5f1e2d3c4b5a69788796a5b4c3d2e1f0")
CHATTY_LOGGERS = ("httpx", "httpcore", "uvicorn.error", "websockets")


@contextmanager
def chatty_libraries() -> Iterator[None]:
    """Libraries at their most talkative (INFO), as an operator debugging the services might set them."""
    levels = {name: logging.getLogger(name).level for name in CHATTY_LOGGERS}
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO)
    try:
        yield
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def test_a_token_in_any_position_is_never_logged(shared_backend, completed_run):
    app = create_app(api_settings(shared_backend.http_url, None))
    bearer = {"Authorization": f"Bearer {LEAK_TOKEN}"}
    with live_server(app) as api, chatty_libraries(), captured_logs() as lines:
        with httpx.Client(base_url=api.http_url) as client:
            client.get("/api/v1/symbols", headers=bearer)
            client.get("/api/v1/chart-data", params={"symbol": SYMBOL, "timeframe": "1D"}, headers=bearer)
            client.get("/api/v1/symbols", params={"token": LEAK_TOKEN, "access_token": LEAK_TOKEN})
            client.post("/api/v1/backtests", json={"token": LEAK_TOKEN, "symbol": SYMBOL}, headers=bearer)
            client.post("/api/v1/backtests", content=f"token={LEAK_TOKEN}", headers=bearer)
        # The HTTP client's own request line, with a token in the query string.
        httpx.get(f"{shared_backend.http_url}/health", params={"token": LEAK_TOKEN})
        run_url = f"{shared_backend.ws_url}/backtests/{completed_run['id']}/ws"
        # A token in the socket's query (refused with 4400) and in its first message.
        for url, first in ((f"{run_url}?token={LEAK_TOKEN}", None),
                           (run_url, {"type": "auth", "token": LEAK_TOKEN})):
            with connect(url) as ws:
                if first is not None:
                    ws.send(orjson.dumps(first).decode())
                try:
                    ws.recv(timeout=5)
                except Exception:  # the refusal closes the socket; what it says is not this test's concern
                    pass
        logging.getLogger("hewston.test").info("caller sent Authorization: Bearer %s", LEAK_TOKEN)
    log = "".join(lines)
    assert LEAK_TOKEN not in log
    # The lines were written (scrubbed), not merely suppressed.
    assert "HTTP Request: GET" in log and "token=[redacted]" in log
    assert "WebSocket" in log and "Bearer [redacted]" in log


def test_no_token_the_suite_used_was_ever_logged(run_log):
    """Runs last (see tests/conftest.py): every line of every test so far, every token of every test."""
    text = run_log.read_text(encoding="utf-8", errors="replace")
    assert text, "the run log is empty: the tap saw nothing"
    leaked = sorted(t for t in USED_TOKENS if t in text)
    assert not leaked, f"tokens found in the run's logs: {leaked}"
