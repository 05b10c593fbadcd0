"""The License API client: the one module that imports httpx.

One pooled `httpx.Client` per process, shared by a gthread worker's threads (the serving model
is chosen here and in gunicorn.conf.py; nothing else depends on it). Requests are signed per
the protocol spec, section 2; the body is relayed byte for byte. Failures become
`LicenseApiError`, carrying a status, a code and the upstream message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Endpoint = Literal[
    "activate_offline",
    "deactivate_offline",
    "activate_bundle_offline",
    "deactivate_bundle_offline",
]


@dataclass(frozen=True)
class Credentials:
    api_url: str  # base URL, e.g. https://api.licensespring.com/api/v4 (no trailing slash)
    api_key: str
    shared_key: str

    def __repr__(self) -> str:
        return f"Credentials(api_url={self.api_url!r}, api_key={self.api_key!r}, shared_key=***)"


@dataclass(frozen=True)
class UpstreamResponse:
    status: int
    body: bytes  # exact bytes of the 200 body: the license file is base64 of these
    elapsed_ms: float


class LicenseApiError(Exception):
    """The License API refused the request, or could not be reached.

    `status` is the upstream HTTP status (502 for unreachable, 504 for a timeout);
    `code` the upstream error code (`license_activated_max_times`, ...) or
    `service_unreachable` / `service_timeout`; `message` the upstream message (detail to show
    in small print); `retry_after` seconds from a 429's Retry-After.
    """

    def __init__(
        self,
        *,
        status: int,
        code: str,
        message: str,
        retry_after: int | None = None,
        elapsed_ms: float = 0.0,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after
        self.elapsed_ms = elapsed_ms

    @property
    def unreachable(self) -> bool:
        return self.code in {"service_unreachable", "service_timeout"}


def post_request(*, credentials: Credentials, endpoint: Endpoint, body: str) -> UpstreamResponse:
    """POST a request file's text to `{api_url}/{endpoint}`; return the 200 response."""
    raise NotImplementedError
