"""The license objects the License API answers an offline activation with, signed.

Fields follow the vendor's license schema (activate license / activate bundle offline pages,
the SDKs' type declarations), in the order the real API sends them. Signatures per the
protocol spec, section 4:

- license_signature: RSA-SHA256 over lower-cased "{hardware_id}#{key or username}#{validity}";
- license_signature_v2: RSA-SHA256 over the compact JSON of the object without both signatures;
- offline_signature: the request file's HMAC formula, recomputed with the response's `date`;
- bundle_signature_v2: RSA-SHA256 over the compact JSON of a bundle's `licenses` list.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from django.utils.http import http_date

from sandbox.activation import Activation
from sandbox.models import Device, Feature, License, Product
from sandbox.request_files import RequestFile
from sandbox.signing import request_signature, rsa_sign_b64


def render_activation(
    activations: list[Activation],
    request_file: RequestFile,
    shared_key: str,
    *,
    bundle: bool,
    now: datetime,
) -> bytes:
    """The 200 body: one license object, or a bundle's `{"licenses", "bundle_signature_v2"}`
    listing the bundle's own license first, then each product's (as `activations` come)."""
    date = http_date(now.timestamp())
    objects = [
        build_license_object(activation, request_file, shared_key, date=date)
        for activation in activations
    ]
    if not bundle:
        return compact_json(objects[0]).encode()
    signature = rsa_sign_b64(compact_json(objects).encode())
    return compact_json({"licenses": objects, "bundle_signature_v2": signature}).encode()


def compact_json(value: object) -> str:
    """The JSON text that is signed and sent. The SDKs re-dump the parsed body with compact
    separators and raw UTF-8 (Python SDK 4: ensure_ascii=False; Node: JSON.stringify)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def build_license_object(
    activation: Activation, request_file: RequestFile, shared_key: str, *, date: str
) -> dict[str, object]:
    license, device = activation.license, activation.device
    validity = _iso(license.validity_period)
    body = {
        **_license_terms(license, validity),
        **_license_content(license),
        **_device_part(license, device, request_file),
        "date": date,
        "offline_signature": request_signature(
            shared_key,
            date=date,
            identity=request_file.identity,
            hardware_id=request_file.hardware_id,
            client=request_file.client,
        ),
    }
    identity = license.license_key or license.user_email
    message = f"{device.hardware_id}#{identity}#{validity or ''}".lower()
    signature_v2 = rsa_sign_b64(compact_json(body).encode())
    body["license_signature"] = rsa_sign_b64(message.encode())
    body["license_signature_v2"] = signature_v2
    return body


def _license_terms(license: License, validity: str | None) -> dict[str, object]:
    product = license.product
    identity: dict[str, object] = (
        {"license_key": license.license_key} if license.license_key else _user(license)
    )
    return {
        "id": license.pk,
        "license_active": True,
        "license_enabled": license.enabled,
        "license_type": license.license_type,
        **identity,
        "is_trial": license.is_trial,
        "validity_period": validity,
        "maintenance_period": None,
        "allow_grace_period": False,
        "grace_period": 0,
        "max_activations": license.max_activations,
        "allow_unlimited_activations": license.allow_unlimited_activations,
        "times_activated": license.devices.filter(active=True).count(),
        "start_date": None,
        "transfer_count": license.transfer_count,
        "max_transfers": 0,
        "allow_overages": license.allow_overages,
        "max_overages": license.max_overages,
        "is_floating_cloud": False,
        "is_floating": False,
        "floating_timeout": product.floating_timeout,
        "floating_users": 0,
        "can_borrow": False,
        "max_borrow_time": 0,
        "prevent_vm": license.prevent_vm or product.prevent_vm,
    }


def _license_content(license: License) -> dict[str, object]:
    product = license.product
    return {
        "custom_fields": [],
        "product_features": [_feature(feature, product) for feature in license.features.all()],
        "customer": _customer(license),
        "product_details": {
            "product_id": product.pk,
            "product_name": product.name,
            "short_code": product.short_code,
            "authorization_method": product.authorization_method,
            "prevent_vm": product.prevent_vm,
            "allow_overages": product.allow_overages,
            "max_overages": product.max_overages,
            "floating_timeout": product.floating_timeout,
            "trial_days": product.trial_days,
            "metadata": {},
        },
        "metadata": {},
        "max_consumptions": license.max_consumptions,
        "total_consumptions": license.total_consumptions,
        "allow_unlimited_consumptions": False,
        "allow_negative_consumptions": False,
        "reset_consumption": False,
        "consumption_period": None,
    }


def _device_part(license: License, device: Device, request_file: RequestFile) -> dict[str, object]:
    return {
        "device_id": device.pk,
        "is_borrowed": False,
        "borrowed_until": None,
        "is_expired": False,
        "request": "activation",
        "active": True,
        "hardware_id": device.hardware_id,
        "variables": [
            {"variable": name, "value": value, "device_id": device.pk, "created_at": None}
            for name, value in sorted(device.variables.items())
        ],
        "request_id": request_file.fields.get("request_id"),
    }


def _user(license: License) -> dict[str, object]:
    return {
        "user": {
            "id": license.pk,
            "email": license.user_email,
            "first_name": license.user_first_name,
            "last_name": license.user_last_name,
            "phone_number": "",
            "is_initial_password": False,
        },
        "username": license.user_email,
    }


def _customer(license: License) -> dict[str, object]:
    return {
        "email": license.customer_email,
        "company_name": license.customer_company_name,
        "reference": license.customer_reference,
        "phone": license.customer_phone,
        "first_name": license.customer_first_name,
        "last_name": license.customer_last_name,
        "city": "",
        "postcode": "",
        "state": "",
        "country": "",
        "customer_account": None,
        "metadata": {},
    }


def _feature(feature: Feature, product: Product) -> dict[str, object]:
    return {
        "id": feature.pk,
        "code": feature.code,
        "name": feature.name,
        "feature_type": feature.feature_type,
        "expiry_date": None,
        "metadata": {},
        "is_floating_cloud": False,
        "is_floating": False,
        "floating_users": 0,
        "floating_timeout": product.floating_timeout,
        "max_consumption": feature.max_consumption,
        "allow_unlimited_consumptions": False,
        "total_consumptions": feature.total_consumptions,
        "allow_overages": False,
        "max_overages": 0,
        "reset_consumption": False,
        "consumption_period": None,
        "allow_negative_consumptions": False,
    }


def _iso(moment: datetime | None) -> str | None:
    """The API's timestamp form, e.g. 2030-01-01T00:00:00.000Z."""
    if moment is None:
        return None
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
