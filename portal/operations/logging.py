"""Log records as one JSON object a line, for log collectors (settings.LOGGING uses it).

Fields given with `extra=` become top-level keys, so the relay line of portal.relay.services reads
as `{"time": ..., "level": "INFO", "logger": "portal.relay", "message": "relay ok",
"reference": ..., "tenant": ..., ...}`.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

# Attributes every LogRecord has: anything else on a record came from `extra=`.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", logging.INFO, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}


_PLAIN = frozenset({str, int, float, bool})


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and not key.startswith("_"):
                line[key] = _serializable(value)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False)


def _serializable(value: object) -> object:
    """The value itself when it is plain data; else only its type's name (Django passes the
    request object along with its log records: its body must never reach a log)."""
    if value is None or type(value) in _PLAIN:
        return value
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return type(value).__name__
    return value


# A result page or license download path: /r/<token>/..., the token a download key.
_RESULT_TOKEN = re.compile(r"/r/[^/\s\"?#]+")
# What could end or rewrite a line in a log file or a terminal: C0 and C1 controls (CR, LF,
# escape sequences), DEL, and Unicode's line and paragraph separators.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class AccessLogFilter(logging.Filter):
    """gunicorn's access lines (gunicorn.conf.py) without result tokens, control characters
    escaped as \\xNN or \\uNNNN.

    A path arrives percent-decoded, so a request for /%0d%0a... would otherwise write a CR and
    a LF of the client's choosing: a forged line. A backslash is left as it is, so a path that
    holds the text \\x0d reads like an escaped CR: inexact, and it cannot start a line.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        line = _RESULT_TOKEN.sub("/r/<token>", record.getMessage())
        record.msg = _CONTROL.sub(_escape, line)
        record.args = None
        return True


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


class ClientMistakeFilter(logging.Filter):
    """Log a client's malformed request at WARNING, not ERROR.

    Django's security loggers report a body with too many fields or files, or a multipart body
    it cannot parse, at ERROR: that is the client's mistake, answered with a 400, and nothing
    an operator must act on. Set on those loggers in settings.LOGGING.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.WARNING:
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


# Django logs a client's malformed body at ERROR; these are the client's mistakes, not ours.
_CLIENT_MISTAKES = [
    "RequestDataTooBig",
    "TooManyFieldsSent",
    "TooManyFilesSent",
    "SuspiciousMultipartForm",
]


def logging_config(level: str) -> dict[str, object]:
    """settings.LOGGING: one JSON object a line on standard error (gunicorn's own logs keep
    their plain format), and a client's malformed body a WARNING with its 400, not an ERROR."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "portal.operations.logging.JsonFormatter"}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
        "filters": {"client_mistake": {"()": "portal.operations.logging.ClientMistakeFilter"}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "httpx": {"level": "WARNING"},
            "httpcore": {"level": "WARNING"},
            **{
                f"django.security.{name}": {"filters": ["client_mistake"]}
                for name in _CLIENT_MISTAKES
            },
        },
    }
