"""structlog configuration: JSON lines in production, readable console output locally.

Secrets never reach a log line, whoever writes it:

- structlog events: a key that names a credential is redacted, and the rendered line is scrubbed again;
- the standard library's loggers (uvicorn, arq, httpx, anything a library adds): rendered by the same
  pipeline as structlog's events (one format, JSON when asked), and every record is scrubbed when it
  is created, message and traceback, so a token in a URL's query, a header dump or a WebSocket message cannot
  be written by a handler that Hewston did not configure. httpx's per-request INFO line (a full URL) is off.

A failure is one line: its exception as type, message and the line it was raised at (a JSON line carries the
traceback as one string field). Local variables are never written: they hold request data and tokens, and a
rich traceback with locals once turned one failed run into thousands of lines.

Scrubbing recognises credentials by position (``Bearer <x>``, ``token=<x>``, ``"token": "<x>"`` and the like)
and Hewston's own token format (``hw_…``). Every line goes through one sink that writes to the current
``sys.stderr``; :func:`add_log_tap` lets a caller see the same lines (the test suite keeps them to prove
that no token it used was ever logged).
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from collections.abc import Callable
from typing import Any

import structlog

from common.correlation import add_correlation_id

_SECRET_KEYS = frozenset({"token", "authorization", "password", "secret", "service_token", "api_token"})
REDACTED = "[redacted]"
_NOT_REDACTED = r"(?!\[redacted\])"
_SCRUB = (
    # A credential after its scheme: "Bearer abc", "Basic abc".
    (re.compile(rf"(?i)\b(bearer|basic)([ \t]+){_NOT_REDACTED}[^\s\"',;)}}\]]+"), rf"\1\2{REDACTED}"),
    # A credential after its name: token=abc (query strings), "token": "abc" (JSON), authorization: abc.
    (re.compile(rf"(?i)((?:access_|api_|auth_|service_|refresh_|id_)?token|authorization|auth|password|secret"
                rf"|api_?key)(\\?[\"']?[ \t]*[:=][ \t]*\\?[\"']?){_NOT_REDACTED}(?!(?i:bearer|basic)[ \t])"
                rf"[^\s\"'&,;)}}\]\\]+"),
     rf"\1\2{REDACTED}"),
    # Hewston's own tokens, wherever they stand.
    (re.compile(r"\bhw_[A-Za-z0-9_\-]{8,}"), REDACTED),
)
_HTTP_CLIENT_LOGGERS = ("httpx", "httpcore")
_UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


# Words every scrubbed value stands next to: a line without any of them (most lines) skips the patterns.
_TRIGGERS = ("bearer", "basic", "token", "auth", "password", "secret", "key", "hw_")


def redact_text(text: str) -> str:
    lowered = text.lower()
    if not any(trigger in lowered for trigger in _TRIGGERS):
        return text
    for pattern, replacement in _SCRUB:
        text = pattern.sub(replacement, text)
    return text


def redact_secrets(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    for key in list(event_dict):
        if key.lower() in _SECRET_KEYS:
            event_dict[key] = REDACTED
    return event_dict


def describe_exception(exc: BaseException) -> str:
    """One line: ``Type: message (at file.py:123 in function)``, naming where it was raised."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno} in {frames[-1].name})" \
        if frames else ""
    message = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {message}{where}" if message else f"{type(exc).__name__}{where}"


def _exception_in_one_line(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    exc_info = event_dict.pop("exc_info", None)
    if exc_info is True:
        exc_info = sys.exc_info()
    exc = exc_info if isinstance(exc_info, BaseException) else exc_info[1] if isinstance(exc_info, tuple) else None
    if exc is not None:
        event_dict["raised"] = describe_exception(exc)  # not "exception": renderers print that on lines of its own
    return event_dict


def _scrub_rendered(_logger: Any, _method: str, line: str) -> str:
    return redact_text(line)


class _Sink:
    """stderr as it is at write time (test runners swap it), plus any taps."""

    def __init__(self) -> None:
        self.taps: list[Callable[[str], None]] = []

    def write(self, text: str) -> int:
        sys.stderr.write(text)
        for tap in self.taps:
            tap(text)
        return len(text)

    def flush(self) -> None:
        sys.stderr.flush()


_sink = _Sink()
_handler = logging.StreamHandler(_sink)
_base_record_factory = logging.getLogRecordFactory()
_traceback_formatter = logging.Formatter()


def _redacting_record_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = _base_record_factory(*args, **kwargs)
    try:
        message = record.getMessage()
    except Exception:  # a library's malformed format arguments: leave the record to the handler's own report
        return record
    clean = redact_text(message)
    if clean != message:
        record.msg, record.args = clean, None
    if record.exc_info and record.exc_info[0] is not None:
        record.exc_text = redact_text(_traceback_formatter.formatException(record.exc_info))
    return record


def add_log_tap(tap: Callable[[str], None]) -> None:
    """Also hand every written log line (already redacted) to ``tap``."""
    _sink.taps.append(tap)


def remove_log_tap(tap: Callable[[str], None]) -> None:
    if tap in _sink.taps:
        _sink.taps.remove(tap)


def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced by an object without isatty, or closed
        return False


def configure_logging(*, json_logs: bool, level: str = "INFO") -> None:
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        add_correlation_id,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_secrets,
    ]
    # Colours only for a person at a terminal: a log file or a collector would keep the escape codes.
    renderer: Any = (structlog.processors.JSONRenderer() if json_logs
                     else structlog.dev.ConsoleRenderer(colors=_stderr_is_terminal()))
    # Console lines name the exception in one line; JSON lines carry the plain traceback as one field. Neither
    # has local variables (the console renderer's rich tracebacks would print every frame's).
    rendering = [structlog.processors.format_exc_info if json_logs else _exception_in_one_line, renderer]
    structlog.configure(
        processors=[*shared, *rendering, _scrub_rendered],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        logger_factory=structlog.PrintLoggerFactory(_sink),
        cache_logger_on_first_use=False,
    )
    logging.setLogRecordFactory(_redacting_record_factory)
    # The standard library's records (uvicorn, arq, httpx, asyncio) are rendered by the same processors as
    # structlog's own events, so every line of every role has one format (JSON for a collector), with the
    # logger's name where structlog's events carry their own fields.
    _handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared[:4], structlog.stdlib.add_logger_name, structlog.stdlib.ExtraAdder(),
                           redact_secrets],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *rendering, _scrub_rendered]))
    # The standard library's loggers (uvicorn, httpx) write through the same sink at the same level; their
    # access logs are replaced by our structured ones.
    root = logging.getLogger()
    if _handler not in root.handlers:
        root.addHandler(_handler)
    root.setLevel(level.upper())
    for name in _UVICORN_LOGGERS:
        # uvicorn's command line installs handlers of its own before the app factory runs; ours scrub.
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    for name in _HTTP_CLIENT_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)


class SteadyLogger:
    """A named logger for a hot path, assembled once per structlog configuration.

    :func:`get_logger`'s loggers assemble themselves (wrapper, processors, output) on every call, because the
    configuration is not fixed for the life of the process: each role configures it as it starts, the test
    suite configures it again per test, and ``structlog.testing.capture_logs`` swaps its processors for a
    while. Caching on first use would keep whichever came first. This one keeps the logger it assembled while
    the configuration it was assembled from is the current one (the very same processors, wrapper and output),
    and assembles again when it is not: a line per request costs the line, not the assembly.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._made_from: tuple[Any, ...] = (None, None, None, None)
        self._logger: Any = None

    def current(self) -> Any:
        config = structlog.get_config()
        then = self._made_from
        # Compared one by one, without a generator: this runs on every request.
        if (self._logger is None or config["processors"] is not then[0] or config["wrapper_class"] is not then[1]
                or config["logger_factory"] is not then[2] or config["context_class"] is not then[3]):
            self._logger = structlog.get_logger(self.name).bind()
            self._made_from = (config["processors"], config["wrapper_class"], config["logger_factory"],
                               config["context_class"])
        return self._logger

    def __getattr__(self, method: str) -> Any:
        """``info``, ``warning``, ... of the current logger, so that a steady logger is used as any other."""
        if method.startswith("_"):  # copy, pickle and the like ask for these: they are not the logger's
            raise AttributeError(method)
        return getattr(self.current(), method)
