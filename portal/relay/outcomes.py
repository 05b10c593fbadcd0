"""What a finished relay tells the end user, kept as plain JSON beside the result.

The license file itself is the upstream body, untouched; this module only reads it to show the
user what they got (product, license, type, expiry, seats, features).
"""

from __future__ import annotations

import json
from typing import Any

from portal.licensespring.request_files import RequestFile
from portal.relay.errors import UNREACHABLE, RelayError


def summarize_activation(request_file: RequestFile, body: bytes) -> dict[str, Any]:
    """Display facts from an activation answer: one license, or one per bundle product."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        document = None
    if isinstance(document, dict) and isinstance(document.get("licenses"), list):
        licenses = document["licenses"]
    elif isinstance(document, list):
        licenses = document
    elif isinstance(document, dict):
        licenses = [document]
    else:
        licenses = []
    licenses = [_describe_license(item) for item in licenses if isinstance(item, dict)]
    if not licenses:
        raise RelayError(
            502, "unexpected_answer", UNREACHABLE, detail="The licensing service sent no license."
        )
    summary = {
        "kind": "activation",
        "product": request_file.product,
        "bundle": len(licenses) > 1 or "licenses" in (document or {}),
        "licenses": licenses,
        "hostname": request_file.device.hostname,
    }
    # A bundle answer lists the bundle's own license first, then each product's: show the
    # bundle as the bundle and its products under it.
    if len(licenses) > 1 and licenses[0]["product_code"] in (
        request_file.product,
        request_file.bundle_code,
    ):
        summary["bundle_license"], summary["licenses"] = licenses[0], licenses[1:]
    return summary


def summarize_deactivation(request_file: RequestFile) -> dict[str, Any]:
    """What the user freed and what offline usage the file carried to the server."""
    return {
        "kind": "deactivation",
        "product": request_file.product,
        "license_key": request_file.license_key,
        "user_email": request_file.username,
        "hostname": request_file.device.hostname,
        "synced": {
            "consumptions": request_file.consumptions,
            "features": [
                {"code": item.code, "amount": item.local_consumption}
                for item in request_file.feature_consumptions
            ],
            "variables": [{"name": name, "value": value} for name, value in request_file.variables],
        },
    }


def _describe_license(license_object: dict[str, Any]) -> dict[str, Any]:
    product = _as_dict(license_object.get("product_details"))
    user = _as_dict(license_object.get("user"))
    features = [
        str(feature.get("name") or feature.get("code"))
        for feature in license_object.get("product_features") or []
        if isinstance(feature, dict) and (feature.get("name") or feature.get("code"))
    ]
    return {
        "product_name": str(product.get("product_name") or ""),
        "product_code": str(product.get("short_code") or ""),
        "license_key": str(license_object.get("license_key") or ""),
        "user_email": str(user.get("email") or ""),
        "license_type": str(license_object.get("license_type") or ""),
        "is_trial": bool(license_object.get("is_trial")),
        "expires": license_object.get("validity_period") or None,
        "times_activated": _as_int(license_object.get("times_activated")),
        "max_activations": _as_int(license_object.get("max_activations")),
        "unlimited_activations": bool(license_object.get("allow_unlimited_activations")),
        "features": features,
    }


def _as_dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _as_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
