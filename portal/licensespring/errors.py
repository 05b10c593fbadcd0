"""What went wrong with a License API call, as one error type (protocol spec, section 4).

Nothing here quotes a request: error texts reach logs and pages, and a request carries the
signed Authorization header and may carry an end user's password.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

MAX_DETAIL_CHARS = 500

_ERRNO_PREFIX = re.compile(r"^\[Errno -?\d+\]\s*")


class LicenseApiError(Exception):
    """The License API refused the request, could not be reached, or answered nonsense.

    `status` is the upstream HTTP status (502 for unreachable or an unusable answer, 504 for a
    timeout); `code` the upstream error code (`license_activated_max_times`, ...) or one of
    ours: `service_unreachable`, `service_timeout`, `unexpected_answer` (not a license, or too
    large), `mismatched_answer` (a license for another request); `message` the upstream
    message or our detail (small print, never a secret); `retry_after` seconds from a 429.
    """

    def __init__(
        self,
        *,
        status: int,
        code: str,
        message: str,
        retry_after: int | None = None,
        elapsed_ms: float = 0.0,
        token_ms: float | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after
        self.elapsed_ms = elapsed_ms
        self.token_ms = token_ms  # time spent fetching an OAuth token, when one was fetched

    @property
    def unreachable(self) -> bool:
        return self.code in {"service_unreachable", "service_timeout"}


def error_from_response(status: int, headers: httpx.Headers, body: bytes) -> LicenseApiError:
    """The error an answer other than 2xx stands for."""
    payload = _json_object(body)
    if status == 429:
        # Proxies and gateways rate-limit too, with any body: the status alone is enough.
        return LicenseApiError(
            status=status,
            code=_text((payload or {}).get("code")) or "rate_limited",
            message=_upstream_message(payload or {}, status),
            retry_after=_parse_retry_after(headers.get("Retry-After")),
        )
    if 400 <= status < 500 and payload is not None:
        return LicenseApiError(
            status=status,
            code=_text(payload.get("code")) or f"http_{status}",
            message=_upstream_message(payload, status),
        )
    # A 5xx, a redirect or an error page that is not JSON comes from a crash or from a proxy
    # in front of the API, not from its licensing logic: to the user, the service is down.
    return LicenseApiError(status=502, code="service_unreachable", message=f"HTTP {status}")


def error_code(body: bytes) -> object:
    """The `code` of an error answer's JSON body, or None."""
    return (_json_object(body) or {}).get("code")


def error_from_exception(exc: Exception, *, timed_out: str) -> LicenseApiError:
    """The error an httpx failure stands for; `timed_out` says what a timeout ran out of."""
    if isinstance(exc, httpx.TimeoutException):
        return LicenseApiError(status=504, code="service_timeout", message=timed_out)
    return LicenseApiError(status=502, code="service_unreachable", message=_describe(exc))


def _describe(exc: Exception) -> str:
    if isinstance(exc, httpx.ConnectError):
        # Socket and TLS errors name their cause ("Connection refused", "certificate verify
        # failed") and are raised before a byte of the request is written.
        return _ERRNO_PREFIX.sub("", str(exc)).strip()[:MAX_DETAIL_CHARS] or "Could not connect"
    if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol):
        return "Invalid License API URL"
    # Only the kind of the other errors: their text can quote the request (h11 echoes an
    # illegal header value, which would be the signed Authorization header).
    return type(exc).__name__


def _json_object(content: bytes) -> dict[str, object] | None:
    try:
        value = json.loads(content)
    except (ValueError, RecursionError):  # also bytes that are not UTF-8, and deep nesting
        return None
    return value if isinstance(value, dict) else None


def _upstream_message(payload: dict[str, object], status: int) -> str:
    # `detail` is what the API's framework says when the failure happens before its own
    # error handling (authentication, throttling).
    return _text(payload.get("message")) or _text(payload.get("detail")) or f"HTTP {status}"


def _text(value: object) -> str:
    if value is None:
        return ""
    # A validation error's message can be a structure of field errors.
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    # JSON may carry lone surrogates and NULs, which no page, log or database can hold.
    text = text.encode("utf-8", "replace").decode("utf-8").replace("\x00", "")
    return text.strip()[:MAX_DETAIL_CHARS]


def _parse_retry_after(value: str | None) -> int | None:
    """Seconds to wait, from delay-seconds or an HTTP date (RFC 9110, section 10.2.3)."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return max(1, int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000" parses as naive, and means UTC
        when = when.replace(tzinfo=UTC)
    return max(1, math.ceil((when - datetime.now(UTC)).total_seconds()))
