"""Request files made in tests, signed exactly as the SDKs sign them (protocol spec, section 3)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from email.utils import formatdate
from pathlib import Path

VECTORS = Path(__file__).resolve().parent.parent / "sandbox" / "fixtures" / "requests"
API_KEY = "3f0b1b7e-5c1a-4d2e-9a77-0c1d2e3f4a5b"
SHARED_KEY = "demo-shared-key-0123456789abcdef"


def read_vector(name: str) -> str:
    return (VECTORS / name).read_text(encoding="utf-8")


def hmac_b64(key: str, message: str) -> str:
    digest = hmac.new(key.encode(), message.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def inner_signature(fields: dict, shared_key: str = SHARED_KEY) -> str:
    who = fields.get("license_key") or fields.get("username")
    client = fields.get("api_key") or fields.get("client_id")
    message = f"licenseSpring\ndate: {fields['date']}\n{who}\n{fields['hardware_id']}\n{client}"
    return hmac_b64(shared_key, message)


def make_request_file(
    *,
    kind: str = "activation",
    shape: str = "python",
    product: str = "TP",
    hardware_id: str = "test-hwid-0001",
    license_key: str | None = "FUH3-4E7A-LZJL-7JTP",
    username: str | None = None,
    password: str | None = None,
    api_key: str = API_KEY,
    shared_key: str = SHARED_KEY,
    date: str | None = None,
    request_id: str = "00000000-0000-4000-8000-000000000001",
    **extra: object,
) -> str:
    """The base64 text of a request file as the Python SDK, the Node SDK or the docs make it."""
    fields: dict[str, object] = {"request": kind, "product": product, "hardware_id": hardware_id}
    if username:
        fields["username"] = username
        if password is not None:
            fields["password"] = password
    elif license_key:
        fields["license_key"] = license_key
    fields.update(extra)
    if shape == "node":
        fields["date"] = date or "Tue Nov 24 2026 15:58:26 GMT+0000"
        fields.update(request_id=request_id, schema_version=2, api_key=api_key)
        inner_text = json.dumps(fields, separators=(",", ":"), ensure_ascii=False)
        document = {"request": fields, "signature": hmac_b64(shared_key, inner_text)}
        text = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
        return base64.b64encode(text.encode()).decode()
    fields["date"] = date or formatdate(usegmt=True)
    fields["request_id"] = request_id
    if shape == "flat":
        fields["api_key"] = api_key
        fields["signature"] = inner_signature(fields, shared_key)
        return base64.b64encode(json.dumps(fields).encode()).decode()
    fields["schema_version"] = 2
    fields["signature"] = inner_signature({**fields, "api_key": api_key}, shared_key)
    fields["api_key"] = api_key
    document = {"request": fields, "signature": hmac_b64(shared_key, json.dumps(fields))}
    return base64.b64encode(json.dumps(document).encode()).decode() + "\n"
