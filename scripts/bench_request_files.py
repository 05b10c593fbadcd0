"""The request files `make bench` uploads (scripts/bench_locustfile.py, scripts/bench_profile.py):
every one distinct, since the portal answers a file it has seen from its stored result."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from pathlib import Path

VECTOR = Path(__file__).resolve().parents[1] / "sandbox/fixtures/requests/py_activate_key.req"
SHARED_KEY = "demo-shared-key-0123456789abcdef"  # the vectors' (sandbox/fixtures/requests/README)
FIELDS = json.loads(base64.b64decode(VECTOR.read_text()))["request"]


def make_request_file() -> str:
    """The real vector py_activate_key.req with a new hardware id and request id, signed again
    as the Python SDK signs (tests/factories.py does the same): the portal answers a file it
    has seen within 30 minutes from its stored result, without an upstream call."""
    fields = {
        **FIELDS,
        "hardware_id": hashlib.sha256(uuid.uuid4().bytes).hexdigest(),
        "request_id": str(uuid.uuid4()),
    }
    who, client = fields["license_key"], fields["api_key"]
    inner = f"licenseSpring\ndate: {fields['date']}\n{who}\n{fields['hardware_id']}\n{client}"
    fields["signature"] = _sign(inner)
    document = {"request": fields, "signature": _sign(json.dumps(fields))}
    return base64.b64encode(json.dumps(document).encode()).decode() + "\n"


def _sign(message: str) -> str:
    digest = hmac.new(SHARED_KEY.encode(), message.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()
