"""Sample request files, written exactly as the Python SDK 4.0.0 writes them (protocol spec,
section 3b), so that a visitor without the vendor's SDK has something to upload.

Field order, date format, both signatures and the trailing newline follow the SDK's
`activate_offline_dump` / `deactivate_offline_dump`; compare sandbox/fixtures/requests/py_*.req.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import formatdate
from pathlib import Path

from django.contrib.auth.hashers import check_password

from sandbox.models import Credential, License, OAuthClient
from sandbox.signing import hmac_b64, request_signature

SDK_VERSION = "PythonSDK 4.0.0"
DEMO_SEED = Path(__file__).resolve().parent / "fixtures" / "demo.json"


class SampleFileError(ValueError):
    """A sample file that cannot be made; the message says why, in plain words."""


@dataclass(frozen=True)
class Computer:
    """What the SDK reads from the machine it runs on."""

    hardware_id: str
    hostname: str
    os_ver: str = "Sandbox sample"
    ip: str = "127.0.0.1"
    mac_address: str = "02:00:00:00:00:01"
    app_ver: str = ""


@dataclass(frozen=True)
class Usage:
    """Offline usage a deactivation carries to the server."""

    consumptions: int | None = None
    product_features: list[dict[str, object]] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)


def make_sample_file(
    *,
    license: License,
    kind: str,
    computer_name: str,
    password: str,
    usage: Usage,
    now: datetime,
    oauth: bool = False,
) -> str:
    """A request file for a demo license, signed with the sandbox's own demo credential (never
    a tenant's key: the sandbox stands in for the vendor, who holds these keys): its API key,
    or with `oauth` its company OAuth client, as an SDK set up for OAuth writes it."""
    client_field, client, key = _sandbox_credential(oauth)
    if license.user_email and kind == "activation" and not password:
        password = seed_password(license)
    return build_request_file(
        kind=kind,
        product=license.product.short_code,
        computer=sample_computer(computer_name),
        api_key=client,
        shared_key=key,
        client_field=client_field,
        now=now,
        license_key=license.license_key,
        username=license.user_email if not license.license_key else "",
        password=password,
        usage=usage,
    )


def _sandbox_credential(oauth: bool) -> tuple[str, str, str]:
    """The request file's client field, its value, and the key that signs the file."""
    if oauth:
        company = OAuthClient.objects.filter(license=None).order_by("pk").first()
        if company is None:
            raise SampleFileError("The sandbox holds no company OAuth client: load its seed.")
        return "client_id", company.client_id, company.client_secret
    credential = Credential.objects.order_by("pk").first()
    if credential is None:
        raise SampleFileError("The sandbox holds no API key yet: load its seed first.")
    return "api_key", credential.api_key, credential.shared_key


def seed_password(license: License) -> str:
    """The demo user's password as the bundled seed gives it, if it is still the one in use.

    Only a hash is stored, so the plain text comes from the seed document itself."""
    try:
        document = json.loads(DEMO_SEED.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        document = {}
    for entry in document.get("licenses") or []:
        user = entry.get("user") if isinstance(entry, dict) else None
        password = user.get("password") if isinstance(user, dict) else None
        if isinstance(password, str) and check_password(password, license.user_password):
            return password
    raise SampleFileError("Give the user's password: the seed does not hold it.")


def sample_computer(name: str) -> Computer:
    """A computer whose hardware id follows from its name: the same name, the same device, so
    a deactivation file made later frees the seat the activation file took."""
    digest = hashlib.sha256(f"offline-portal-sandbox:{name.strip().casefold()}".encode())
    mac = ":".join(f"{byte:02X}" for byte in digest.digest()[:5])
    return Computer(hardware_id=digest.hexdigest(), hostname=name.strip(), mac_address=f"02:{mac}")


def build_request_file(
    *,
    kind: str,
    product: str,
    computer: Computer,
    api_key: str,
    shared_key: str,
    now: datetime,
    license_key: str = "",
    username: str = "",
    password: str = "",
    usage: Usage | None = None,
    request_id: str = "",
    client_field: str = "api_key",
) -> str:
    """The `.req` text: base64 of `{"request": {...}, "signature": ...}`, then a newline.
    `api_key` goes in `client_field`: `client_id` for an SDK set up for OAuth, whose files
    are signed with the client secret (given as `shared_key`)."""
    fields: dict[str, object] = {
        "request": kind,
        "product": product,
        "hardware_id": computer.hardware_id,
    }
    if license_key:
        fields["license_key"] = license_key
    else:
        fields["username"] = username
        if kind == "activation" and password:
            fields["password"] = password
    fields.update(_device_fields(kind, computer))
    if kind == "deactivation" and usage is not None:
        fields.update(_usage_fields(usage))
    date = formatdate(now.timestamp(), usegmt=True)
    fields.update(date=date, request_id=request_id or str(uuid.uuid4()), schema_version=2)
    fields["signature"] = request_signature(
        shared_key,
        date=date,
        identity=license_key or username,
        hardware_id=computer.hardware_id,
        client=api_key,
    )
    fields[client_field] = api_key
    # The SDK escapes non-ASCII text in activations but writes raw UTF-8 in deactivations.
    ascii_only = kind == "activation"
    outer = hmac_b64(shared_key, json.dumps(fields, ensure_ascii=ascii_only))
    text = json.dumps({"request": fields, "signature": outer}, ensure_ascii=ascii_only)
    return base64.b64encode(text.encode()).decode() + "\n"


def _device_fields(kind: str, computer: Computer) -> dict[str, object]:
    fields: dict[str, object] = {
        "os_ver": computer.os_ver,
        "hostname": computer.hostname,
        "ip": computer.ip,
        "mac_address": computer.mac_address,
    }
    if kind == "activation":
        fields.update(is_vm=False, vm_info=None)
    fields["sdk_ver"] = SDK_VERSION
    if computer.app_ver:
        fields["app_ver"] = computer.app_ver
    return fields


def _usage_fields(usage: Usage) -> dict[str, object]:
    fields: dict[str, object] = {}
    if usage.consumptions is not None:
        fields["consumptions"] = usage.consumptions
    if usage.product_features:
        fields["product_features"] = usage.product_features
    if usage.variables:
        fields["variables"] = usage.variables
    return fields
