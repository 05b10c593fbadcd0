"""What a finished relay tells the end user, kept as plain JSON beside the result.

The license file itself is the upstream body, untouched; this module only reads it to show the
user what they got (product, license, type, expiry, seats, features).
"""

from __future__ import annotations

import json
from typing import Any

from django.utils.translation import gettext

from portal.licensespring.request_files import RequestFile
from portal.relay.errors import UNREACHABLE, RelayError

# Keys only a license object (single or bundle) has: an answer without one is no license.
_LICENSE_KEYS = frozenset(
    {
        "license_key",
        "user",
        "license_signature",
        "license_signature_v2",
        "offline_signature",
        "product_details",
        "licenses",
        "bundle_signature_v2",
    }
)


def summarize_activation(request_file: RequestFile, body: bytes) -> dict[str, Any]:
    """Display facts from an activation answer: one license, or one per bundle product.

    The activation has happened upstream by now, so an answer that is a license is the
    user's, whatever its fields hold: a field of the wrong type is left out of the summary,
    never a reason to withhold the file. Anything else is a typed 502.
    """
    license_objects, is_bundle = _read_licenses(body)
    licenses = [_describe_license(item) for item in license_objects]
    if not licenses:
        raise RelayError(
            502,
            "unexpected_answer",
            str(UNREACHABLE),
            detail=gettext("The licensing service sent no license."),
        )
    summary = {
        "kind": "activation",
        "product": request_file.product,
        "bundle": is_bundle or len(licenses) > 1,
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


def _read_licenses(body: bytes) -> tuple[list[dict[str, Any]], bool]:
    """The license objects in an answer, and whether it is a bundle's."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):  # not UTF-8, not JSON, or nested past Python's limit
        return [], False
    is_bundle = isinstance(document, dict) and isinstance(document.get("licenses"), list)
    if is_bundle:
        items = document["licenses"]
    elif isinstance(document, list):
        items = document
    else:
        items = [document]
    licenses = [item for item in items if isinstance(item, dict)]
    return [item for item in licenses if not _LICENSE_KEYS.isdisjoint(item)], is_bundle


def summarize_deactivation(
    request_file: RequestFile, body: bytes, known_product_name: str = ""
) -> dict[str, Any]:
    """What the user freed and what offline usage the file carried to the server.

    A single product's answer is only the text `license_deactivated`: the product's name comes
    from a kept activation of it when there is one (`known_product_name`), and seats in use
    only from a bundle answer that lists its licenses. Nothing is guessed.
    """
    license_objects, _is_bundle = _read_licenses(body)
    licenses = [_describe_license(item) for item in license_objects]
    named = [
        item["product_name"] for item in licenses if item["product_code"] == request_file.product
    ]
    return {
        "kind": "deactivation",
        "product": request_file.product,
        "product_name": next(iter(named), "") or known_product_name,
        "licenses": licenses,
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


def product_name_in(summary: dict[str, Any], product: str) -> str:
    """The name a kept activation's summary gives `product` (its code), or ""."""
    candidates = [summary.get("bundle_license") or {}, *summary.get("licenses", [])]
    for license in candidates:
        if license.get("product_code") == product and license.get("product_name"):
            return license["product_name"]
    return ""


def _describe_license(license_object: dict[str, Any]) -> dict[str, Any]:
    product = _as_dict(license_object.get("product_details"))
    user = _as_dict(license_object.get("user"))
    return {
        "product_name": _as_text(product.get("product_name")),
        "product_code": _as_text(product.get("short_code")),
        "license_key": _as_text(license_object.get("license_key")),
        "user_email": _as_text(user.get("email")),
        "license_type": _as_text(license_object.get("license_type")),
        "is_trial": license_object.get("is_trial") is True,
        "expires": _as_text(license_object.get("validity_period")) or None,
        "times_activated": _as_int(license_object.get("times_activated")),
        "max_activations": _as_int(license_object.get("max_activations")),
        "unlimited_activations": license_object.get("allow_unlimited_activations") is True,
        "features": _feature_names(license_object.get("product_features")),
    }


def _feature_names(value: object) -> list[str]:
    features = value if isinstance(value, list) else []
    names = (
        _as_text(item.get("name")) or _as_text(item.get("code"))
        for item in features
        if isinstance(item, dict)
    )
    return [name for name in names if name]


def _as_dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _as_text(value: object) -> str:
    """A text field, or "" for any other type. A lone surrogate (valid JSON, not valid UTF-8)
    becomes U+FFFD and a NUL is dropped, so that the page and the database (PostgreSQL takes
    neither) can hold it."""
    if not isinstance(value, str):
        return ""
    text = value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return text.replace("\x00", "")


def _as_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
