import json

import structlog

from common.logging import REDACTED, configure_logging, get_logger


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
