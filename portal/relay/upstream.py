"""The process's License API client, built from settings on first use.

One per process: a worker's uploads share its kept-alive connections (gunicorn.conf.py).
"""

from __future__ import annotations

import threading

from django.conf import settings

from portal.licensespring.client import LicenseApiClient, Transport

_client: LicenseApiClient | None = None
_lock = threading.Lock()


def build_client(transport: Transport | None = None) -> LicenseApiClient:
    """A client configured from settings; tests pass a fake `transport`."""
    return LicenseApiClient(
        connect_timeout=settings.LICENSE_API_CONNECT_TIMEOUT,
        read_timeout=settings.LICENSE_API_READ_TIMEOUT,
        deadline=settings.LICENSE_API_DEADLINE,
        transport=transport,
    )


def get_client() -> LicenseApiClient:
    """The process's client, built on first use."""
    global _client
    client = _client
    if client is None:
        with _lock:
            if _client is None:
                _client = build_client()
            client = _client
    return client


def set_client(client: LicenseApiClient | None) -> None:
    """Replace the process's client (tests); None makes the next relay build a fresh one.

    The replaced client is closed, so call this only when no relay is in flight.
    """
    global _client
    with _lock:
        previous, _client = _client, client
    if previous is not None and previous is not client:
        previous.close()
