"""The serving floor: `scripts/bench.py floor` serves this instead of the portal.

A WSGI app of a few lines, served exactly as the portal is (gunicorn.conf.py: nginx in front,
the same workers), that does the least a relay can: read the body, post it to the fake License
API with one httpx client per process (as portal.licensespring.client does), answer with what
came back. No Django, no database, no checks. What the bench measures here is what the server,
the License API client and the machine cost on their own, to set the portal's figures beside.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

import httpx

from portal.licensespring.client import LIMITS

# The portal client's own pool settings (portal/licensespring/client.py), not a copy of them.
_CLIENT = httpx.Client(
    transport=httpx.HTTPTransport(limits=LIMITS), timeout=httpx.Timeout(30.0, connect=5.0)
)
_ACTIVATE = os.environ.get("LICENSE_API_URL", "").rstrip("/") + "/activate_offline"


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if environ["PATH_INFO"] == "/healthz":
        body = b'{"status": "ok"}'
    else:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        sent = environ["wsgi.input"].read(length)
        body = _CLIENT.post(_ACTIVATE, content=sent, headers={"Content-Type": "text/plain"}).content
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]
