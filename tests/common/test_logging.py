import json
import logging

import structlog

from common.logging import REDACTED, configure_logging, get_logger
from tests.conftest import ALICE_TOKEN, auth


def test_json_logs_redact_credentials_and_carry_context(capsys):
    configure_logging(json_logs=True, level="INFO")
    structlog.contextvars.bind_contextvars(correlation_id="cid-9")
    try:
        get_logger("t").info("login", token="hw_secret_value", Authorization="Bearer hw_secret_value", user="alice")
    finally:
        structlog.contextvars.clear_contextvars()
    line = capsys.readouterr().err.strip().splitlines()[-1]
    record = json.loads(line)
    assert record["event"] == "login"
    assert record["correlation_id"] == "cid-9"
    assert record["token"] == REDACTED and record["Authorization"] == REDACTED
    assert record["user"] == "alice"
    assert "hw_secret_value" not in line


def test_level_filters_debug(capsys):
    configure_logging(json_logs=True, level="WARNING")
    get_logger("t").info("quiet")
    get_logger("t").warning("loud")
    err = capsys.readouterr().err
    assert "quiet" not in err and "loud" in err


def test_backend_access_log_names_route_user_and_status_never_the_token(backend_client, capsys):
    configure_logging(json_logs=True, level="INFO")
    backend_client.get("/backtests/not-a-run", headers={**auth(ALICE_TOKEN), "X-Request-ID": "trace-1"})
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    [record] = [r for r in lines if r.get("event") == "request"]
    assert record["route"] == "/backtests/{run_id}" and record["status"] == 404
    assert record["user"] == "alice" and record["correlation_id"] == "trace-1"
    assert ALICE_TOKEN not in json.dumps(lines)


def test_console_logs_have_colours_only_at_a_terminal(monkeypatch, capsys):
    import sys

    configure_logging(json_logs=False, level="INFO")
    get_logger("t").info("to_a_file", user="alice")
    assert "\x1b[" not in capsys.readouterr().err  # pytest's capture is not a terminal

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    configure_logging(json_logs=False, level="INFO")
    get_logger("t").info("to_a_terminal", user="alice")
    assert "\x1b[" in capsys.readouterr().err
    monkeypatch.undo()
    configure_logging(json_logs=False, level="INFO")


def test_library_loggers_share_the_structlog_format(capsys):
    """arq's and uvicorn's lines are JSON like Hewston's own, with their logger's name, and still scrubbed."""
    import logging

    configure_logging(json_logs=True, level="INFO")
    structlog.contextvars.bind_contextvars(correlation_id="cid-7")
    try:
        logging.getLogger("arq.worker").info("Starting worker for %d functions: %s", 2, "prewarm")
        logging.getLogger("uvicorn.error").warning("Invalid HTTP request: Authorization: Bearer %s", "hw_x_leak_1234")
        get_logger("hewston.t").info("own_line")
    finally:
        structlog.contextvars.clear_contextvars()
    records = [json.loads(line) for line in capsys.readouterr().err.strip().splitlines()[-3:]]
    assert [(r["logger"] if "logger" in r else None, r["level"]) for r in records[:2]] == [
        ("arq.worker", "info"), ("uvicorn.error", "warning")]
    assert records[0]["event"] == "Starting worker for 2 functions: prewarm"
    assert all("timestamp" in r and r["correlation_id"] == "cid-7" for r in records)
    assert "hw_x_leak_1234" not in json.dumps(records)


def test_the_access_line_follows_every_new_configuration_of_one_running_app(backend_client, capsys):
    """The access log assembles its logger once per configuration, so one app built before the changes writes
    its line in each configuration in turn: JSON, console, filtered out, then captured by ``capture_logs``."""
    from structlog.testing import capture_logs

    def lines_of_one_request() -> list[str]:
        backend_client.get("/backtests/not-a-run", headers=auth(ALICE_TOKEN))
        return [line for line in capsys.readouterr().err.splitlines() if "backtests/{run_id}" in line]

    configure_logging(json_logs=True, level="INFO")
    [line] = lines_of_one_request()
    assert json.loads(line)["status"] == 404
    configure_logging(json_logs=False, level="INFO")
    [line] = lines_of_one_request()
    assert not line.startswith("{") and "request" in line and "404" in line
    configure_logging(json_logs=True, level="WARNING")
    assert lines_of_one_request() == []
    configure_logging(json_logs=True, level="INFO")
    with capture_logs() as captured:
        assert lines_of_one_request() == []
    assert [(r["event"], r["status"]) for r in captured if r.get("route") == "/backtests/{run_id}"] == [
        ("request", 404)]
    [line] = lines_of_one_request()
    assert ALICE_TOKEN not in line


def test_a_steady_logger_is_assembled_again_only_when_the_configuration_changes():
    from structlog.testing import capture_logs

    from common.logging import SteadyLogger

    configure_logging(json_logs=True, level="INFO")
    steady = SteadyLogger("hewston.t")
    first = steady.current()
    assert steady.current() is first
    # capture_logs swaps the processors inside the configured list, so the assembled logger follows it.
    with capture_logs() as captured:
        steady.current().info("seen")
    assert [r["event"] for r in captured] == ["seen"] and steady.current() is first
    configure_logging(json_logs=True, level="WARNING")
    quiet = steady.current()
    assert quiet is not first and not quiet.is_enabled_for(logging.INFO)
    assert steady.current() is quiet


def test_a_steady_logger_writes_as_any_other():
    from structlog.testing import capture_logs

    from common.logging import SteadyLogger

    configure_logging(json_logs=True, level="INFO")
    steady = SteadyLogger("hewston.t")
    with capture_logs() as captured:
        steady.info("joined", viewers=2)
        steady.warning("left")
    assert [(r["event"], r["log_level"]) for r in captured] == [("joined", "info"), ("left", "warning")]
    assert captured[0]["viewers"] == 2


def test_every_line_written_while_a_request_is_served_carries_its_correlation_id(capsys):
    """The correlation middleware sets one context variable; structlog's lines and the standard library's read it."""
    from common.correlation import _correlation_id

    configure_logging(json_logs=True, level="INFO")
    token = _correlation_id.set("cid-11")
    try:
        get_logger("hewston.t").info("own_line")
        logging.getLogger("uvicorn.error").warning("library_line")
        get_logger("hewston.t").info("named_line", correlation_id="explicit")
    finally:
        _correlation_id.reset(token)
    get_logger("hewston.t").info("after")
    records = [json.loads(line) for line in capsys.readouterr().err.strip().splitlines()[-4:]]
    assert [r.get("correlation_id") for r in records] == ["cid-11", "cid-11", "explicit", None]
