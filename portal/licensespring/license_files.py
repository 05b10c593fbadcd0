"""Reading license files (`.lic`, single or bundle): framework-free, no I/O.

A license file is base64 of the License API's answer to an offline activation (protocol spec,
section 5): one license object, or a bundle's `{"licenses": [...], "bundle_signature_v2"}`
with the bundle's own license first. End users upload one here by mistake; the portal reads it
only to say what it unlocks and where it goes. Nothing in it is sent anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Keys only a license file has at its top level, never a request file.
LICENSE_MARKERS = frozenset(
    {
        "license_signature",
        "license_signature_v2",
        "offline_signature",
        "product_details",
        "licenses",
        "bundle_signature_v2",
    }
)


@dataclass(frozen=True)
class LicenseFile:
    """What a license file unlocks: its first license (a bundle's own), and on what."""

    product_name: str
    product_code: str
    hardware_id: str
    license_key: str = ""
    user_email: str = ""
    # The API's timestamp text (e.g. 2030-01-01T00:00:00.000Z), or "" when it never expires.
    valid_until: str = ""
    is_bundle: bool = False
    product_count: int = 1

    @property
    def product_label(self) -> str:
        return self.product_name or self.product_code


def is_license_document(document: dict[str, Any]) -> bool:
    """Whether a decoded file's JSON object is a license file rather than a request. A license
    object carries `"request": "activation"` too (the API copies it), so only a wrapped
    request's `request` object rules it out."""
    return not isinstance(document.get("request"), dict) and not LICENSE_MARKERS.isdisjoint(
        document
    )


def describe_license_document(document: dict[str, Any]) -> LicenseFile:
    """The facts a person needs from a decoded license file; fields of the wrong type read as
    empty (the file is not ours to judge: the software checks its signatures)."""
    items = document.get("licenses")
    is_bundle = isinstance(items, list)
    licenses = [item for item in items if isinstance(item, dict)] if is_bundle else [document]
    first = licenses[0] if licenses else {}
    product = _as_dict(first.get("product_details"))
    user = _as_dict(first.get("user"))
    return LicenseFile(
        product_name=_as_text(product.get("product_name")),
        product_code=_as_text(product.get("short_code")),
        hardware_id=_as_text(first.get("hardware_id")),
        license_key=_as_text(first.get("license_key")),
        user_email=_as_text(user.get("email")) or _as_text(first.get("username")),
        valid_until=_as_text(first.get("validity_period")),
        is_bundle=is_bundle,
        product_count=max(len(licenses) - 1, 1) if is_bundle else 1,
    )


def _as_dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _as_text(value: object) -> str:
    if not isinstance(value, str):
        return ""
    # A lone surrogate is valid JSON but no text a page can hold.
    return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace").replace("\x00", "")
