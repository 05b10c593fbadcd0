"""Request files made in tests, signed exactly as the SDKs sign them (protocol spec, section 3)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
from email.utils import formatdate
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from django.core.management import call_command
from django.test import Client

import sandbox

VECTORS = Path(__file__).resolve().parent.parent / "sandbox" / "fixtures" / "requests"
API_KEY = "3f0b1b7e-5c1a-4d2e-9a77-0c1d2e3f4a5b"
SHARED_KEY = "demo-shared-key-0123456789abcdef"
# The deadline of a relay in the tests that inject faults: long enough for a loaded machine
# to answer a well-behaved request, short enough to wait out a few times.
FAULT_DEADLINE = 2.0

# The demo seed's OAuth company client (py_oauth_activate_key.req was made with it).
CLIENT_ID = "auth_company_100123"
CLIENT_SECRET = "demo-client-secret-0123456789"


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
    client_id: str | None = None,
    **extra: object,
) -> str:
    """The base64 text of a request file as the Python SDK, the Node SDK or the docs make it.
    With `client_id`, as an SDK on OAuth makes it: `client_id` instead of `api_key`, signed
    with the client secret (pass it as `shared_key`)."""
    client_field = {"client_id": client_id} if client_id else {"api_key": api_key}
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
        fields.update(request_id=request_id, schema_version=2, **client_field)
        inner_text = json.dumps(fields, separators=(",", ":"), ensure_ascii=False)
        document = {"request": fields, "signature": hmac_b64(shared_key, inner_text)}
        text = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
        return base64.b64encode(text.encode()).decode()
    fields["date"] = date or formatdate(usegmt=True)
    fields["request_id"] = request_id
    if shape == "flat":
        fields.update(client_field)
        fields["signature"] = inner_signature(fields, shared_key)
        return base64.b64encode(json.dumps(fields).encode()).decode()
    fields["schema_version"] = 2
    fields["signature"] = inner_signature({**fields, **client_field}, shared_key)
    fields.update(client_field)
    document = {"request": fields, "signature": hmac_b64(shared_key, json.dumps(fields))}
    return base64.b64encode(json.dumps(document).encode()).decode() + "\n"


# Without the `hardware_id` and `request_id` the License API copies from the request file, so
# that it answers any file in the tests; portal/licensespring/answers.py checks those.
LICENSE_OBJECT = {
    "id": 1001,
    "license_key": "FUH3-4E7A-LZJL-7JTP",
    "license_type": "time-limited",
    "is_trial": False,
    "validity_period": "2030-01-01T00:00:00Z",
    "max_activations": 3,
    "times_activated": 1,
    "product_details": {"product_id": 7, "product_name": "Test Product", "short_code": "TP"},
    "product_features": [{"code": "export", "name": "Export"}],
    "license_signature": "c2ln",
}
# What the License API sends, with its own spacing: the license file must keep these bytes.
LICENSE_BODY = json.dumps(LICENSE_OBJECT, indent=1).encode()

DEMO_SEED = Path(sandbox.__file__).resolve().parent / "fixtures" / "demo.json"


def seed_demo(settings: object, key_path: Path) -> None:
    """The demo seed that `make run` loads, with the RSA key kept out of var/."""
    settings.SANDBOX_KEY_PATH = key_path
    # The production hasher takes most of a second per password: too slow for every test.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("sandbox_seed", str(DEMO_SEED), stdout=io.StringIO())


def auth_headers(
    *, api_key: str = API_KEY, shared_key: str = SHARED_KEY, date: str | None = None
) -> dict[str, str]:
    date = date or formatdate(usegmt=True)
    signature = hmac_b64(shared_key, f"licenseSpring\ndate: {date}")
    authorization = (
        f'algorithm="hmac-sha256",headers="date",signature="{signature}",apiKey="{api_key}"'
    )
    return {"HTTP_DATE": date, "HTTP_AUTHORIZATION": authorization}


def post_file(
    client: Client, endpoint: str, text: str, headers: dict[str, str] | None = None
) -> object:
    return client.post(
        f"/sandbox/api/v4/{endpoint}",
        data=text,
        content_type="text/plain",
        **(auth_headers() if headers is None else headers),
    )


def fetch_public_key(client: Client) -> RSAPublicKey:
    response = client.get("/sandbox/public-key.pem")
    key = serialization.load_pem_public_key(response.content)
    assert isinstance(key, RSAPublicKey)
    return key


def verify(key: RSAPublicKey, signature_b64: str, message: bytes) -> None:
    """RSA-SHA256 PKCS#1 v1.5, as the SDKs verify; raises InvalidSignature."""
    key.verify(base64.b64decode(signature_b64), message, padding.PKCS1v15(), hashes.SHA256())


def signed_v2_text(body: bytes) -> bytes:
    """What the SDKs rebuild: the parsed body without both signatures, compact, in order."""
    license_object = json.loads(body)
    del license_object["license_signature"], license_object["license_signature_v2"]
    return json.dumps(license_object, separators=(",", ":")).encode()


# A bundle's answer: the bundle's own license first, then each product's.
BUNDLE_BODY = json.dumps(
    {
        "licenses": [
            {
                **LICENSE_OBJECT,
                "hardware_id": "test-hwid-0001",
                "product_details": {"product_name": "Studio Bundle", "short_code": "BNDL"},
            },
            {**LICENSE_OBJECT, "hardware_id": "test-hwid-0001"},
        ],
        "bundle_signature_v2": "c2ln",
    }
).encode()


def license_file_text(body: bytes) -> str:
    """A `.lic` as the portal hands it out: base64 of the License API's answer."""
    return base64.b64encode(body).decode()


def tenant_on_host(host: str, **fields: object) -> object:
    """A vendor's tenant (TenantSettings, `fields` over plain defaults) served on `host`; the
    tenants' cache is emptied so that the next request sees it."""
    from portal.tenants import resolution
    from portal.tenants.models import TenantHost, TenantSettings

    resolution.forget_cached_tenants()
    defaults = {"slug": "acme", "name": "Acme", "api_url": "https://api.acme.test/api/v4"}
    tenant = TenantSettings.objects.create(**{**defaults, "api_key": "K1", **fields})
    TenantHost.objects.create(tenant=tenant, host=host)
    return tenant
