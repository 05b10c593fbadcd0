"""Log records as one JSON object a line, for log collectors (settings.LOGGING uses it).

Fields given with `extra=` become top-level keys, so the relay line of portal.services reads
as `{"time": ..., "level": "INFO", "logger": "portal.relay", "message": "relay ok",
"reference": ..., "tenant": ..., ...}`.
"""

from __future__ import annotations

import json
import logging
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
