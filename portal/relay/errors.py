"""What went wrong with a relay, in words an end user can act on (protocol spec, section 4)."""

from __future__ import annotations

from dataclasses import dataclass

UNREACHABLE = (
    "The licensing service could not be reached just now. Your request file is fine: "
    "please try again in a minute."
)

# Upstream error codes, as the end user should read them.
UPSTREAM_MESSAGES: dict[str, str] = {
    "license_activated_max_times": (
        "This license is already active on its maximum number of computers. Deactivate it on "
        "a computer you no longer use, then try again."
    ),
    "license_not_found": (
        "No matching license was found. Check the license key, or the e-mail address and "
        "password you entered in the software, then make a new request file."
    ),
    "license_key_required": "The request file has no license key. Enter your key in the software "
    "and make a new request file.",
    "license_not_enabled": "This license has been disabled. Please contact the vendor's support.",
    "license_not_active": (
        "This license is not active: it may have expired or not started yet. Please contact "
        "the vendor's support."
    ),
    "trial_expired": "The trial period of this license has ended. Contact the vendor to buy a "
    "full license.",
    "device_not_found": (
        "This computer is not active on that license, so there was nothing to deactivate. It "
        "may already have been deactivated."
    ),
    "unknown_product": (
        "The licensing service does not know the product in this request file. It may have "
        "been made for another vendor's software."
    ),
    "product_not_bundle": "The product in this request file is not a bundle.",
    "disabled_product": "This product is no longer available for activation. Please contact the "
    "vendor's support.",
    "archived_product": "This product is no longer available for activation. Please contact the "
    "vendor's support.",
    "api_key_product_not_allowed": (
        "This portal is not allowed to activate this product. Please contact the vendor's support."
    ),
    "missing_hardware_id": "The request file does not identify the computer. Make a new request "
    "file with your software.",
    "signature_mismatch": (
        "The request file's signature does not match. The file may have been changed after "
        "your software saved it, or made for another vendor's software. Make a new request "
        "file and upload it unchanged."
    ),
    "validation_error": "The licensing service could not read this request file. Make a new "
    "request file with your software and try again.",
    "invalid_json": "The licensing service could not read this request file. Make a new "
    "request file with your software and try again.",
    "missing_parameters": "The request file is missing information the licensing service needs. "
    "Make a new request file with your software.",
    "missing_content": "The request file arrived empty. Choose the file again and retry.",
    "unsupported_product_feature": "This request uses a feature the license does not include. "
    "Please contact the vendor's support.",
    "rate_limited": "Too many requests right now. Please wait a moment, then try again.",
    "not_found": "The licensing service could not find what this request refers to.",
    "service_unreachable": UNREACHABLE,
    "service_timeout": (
        "The licensing service took too long to answer. Nothing was changed on your side: "
        "please try again in a minute."
    ),
    "portal_credentials_refused": (
        "This portal is not set up correctly: the licensing service refused its credentials. "
        "Please tell the vendor's support; your request file is fine."
    ),
    "unexpected_answer": (
        "The licensing service sent an answer this portal cannot use. Your request file is "
        "fine: please try again in a few minutes, and if this happens again, contact the "
        "vendor's support with the reference below."
    ),
    "mismatched_answer": UNREACHABLE,
}


@dataclass
class RelayError(Exception):
    """A relay that did not produce a result. `message` is for the end user; `detail` is the
    upstream wording for support (small print). Neither ever holds a key or a password."""

    status: int
    code: str
    message: str
    detail: str = ""
    retry_after: int | None = None
    reference: str = ""  # shown to the user and logged: a support reference

    def __str__(self) -> str:
        return f"{self.status} {self.code}"


def describe_upstream_error(code: str, upstream_message: str) -> str:
    """The plain-language text for an upstream code; unknown codes show the upstream text."""
    return UPSTREAM_MESSAGES.get(code) or upstream_message or UNREACHABLE
