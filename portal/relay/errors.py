"""What went wrong with a relay, in words an end user can act on (protocol spec, section 4).

Every text is looked up by its stable code and translated into the request's language when the
error is made; the code itself stays English for machines and support.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

UNREACHABLE = _(
    "The licensing service could not be reached just now. Your request file is fine: "
    "please try again in a minute."
)

# Said of a file the License API could not read: the same file would fail the same way.
_UNREADABLE_UPSTREAM = _(
    "The licensing service could not read this request file. Make a new request file with "
    "your software and upload that one."
)

# Upstream error codes, as the end user should read them.
UPSTREAM_MESSAGES: dict[str, Promise] = {
    "license_activated_max_times": _(
        "This license is already active on its maximum number of computers."
    ),
    "license_not_found": _(
        "No matching license was found. Check the license key, or the e-mail address and "
        "password you entered in the software, then make a new request file."
    ),
    "license_key_required": _(
        "The request file has no license key. Enter your key in the software "
        "and make a new request file."
    ),
    "license_not_enabled": _(
        "This license has been disabled. Please contact the vendor's support."
    ),
    "license_not_active": _("This license is not active: it may have expired or not started yet."),
    "trial_expired": _("The trial period of this license has ended."),
    "device_not_found": _(
        "This computer is not active on that license, so there was nothing to deactivate. It "
        "may already have been deactivated."
    ),
    "unknown_product": _(
        "The licensing service does not know the product in this request file. It may have "
        "been made for another vendor's software."
    ),
    "product_not_bundle": _("The product in this request file is not a bundle."),
    "disabled_product": _(
        "This product is no longer available for activation. Please contact the vendor's support."
    ),
    "archived_product": _(
        "This product is no longer available for activation. Please contact the vendor's support."
    ),
    "api_key_product_not_allowed": _(
        "This portal is not allowed to activate this product. Please contact the vendor's support."
    ),
    "missing_hardware_id": _(
        "The request file does not identify the computer. Make a new request "
        "file with your software."
    ),
    "signature_mismatch": _(
        "The request file's signature does not match. The file may have been changed after "
        "your software saved it, or made for another vendor's software. Make a new request "
        "file and upload it unchanged."
    ),
    "validation_error": _UNREADABLE_UPSTREAM,
    "invalid_json": _UNREADABLE_UPSTREAM,
    "missing_parameters": _(
        "The request file is missing information the licensing service needs. "
        "Make a new request file with your software."
    ),
    "missing_content": _("The request file arrived empty. Choose the file again and retry."),
    "unsupported_product_feature": _(
        "This request uses a feature the license does not include. "
        "Please contact the vendor's support."
    ),
    "rate_limited": _("Too many requests right now. Please wait a moment, then try again."),
    "not_found": _("The licensing service could not find what this request refers to."),
    "service_unreachable": UNREACHABLE,
    "service_timeout": _(
        "The licensing service took too long to answer. Nothing was changed on your side: "
        "please try again in a minute."
    ),
    "portal_credentials_refused": _(
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


_SAVE_AGAIN = _("Save the request file again from your software and upload the new file.")
_CHOOSE_REQ = _("Choose the request file (its name ends in .req) that your software saved.")

# portal.licensespring.request_files' codes (it stays framework-free, its own texts English),
# as the end user reads them. Fixed texts: a message never quotes the file, which may hold the
# end user's password. Each entry is (message, advice).
REQUEST_FILE_MESSAGES: dict[str, tuple[Promise, Promise | str]] = {
    "empty": (_("This file is empty."), _CHOOSE_REQ),
    "too_large": (
        _("This file is too large to be a request file: request files are a few kilobytes."),
        _CHOOSE_REQ,
    ),
    "not_base64": (
        _("This is not a request file: its content is not in the format your software saves."),
        _(
            "Choose the request file (its name ends in .req) that your software saved. Upload "
            "it as it is, without opening or editing it."
        ),
    ),
    "not_json": (_("This request file is damaged or incomplete and cannot be read."), _SAVE_AGAIN),
    "not_object": (_("This file does not contain a licensing request."), _SAVE_AGAIN),
    "license_file": (
        _(
            "This is a license file (.lic), not a request file. A license file is what you get "
            "back from this portal."
        ),
        _CHOOSE_REQ,
    ),
    "looks_like_json": (
        _(
            "This is the decoded content of a request file, not the file itself. Upload the "
            "file exactly as your software saved it, or paste its content unchanged."
        ),
        "",
    ),
    "missing_request_type": (
        _("This file does not say whether it activates or deactivates a license."),
        _SAVE_AGAIN,
    ),
    "missing_product": (_("This request file does not name a product."), _SAVE_AGAIN),
    "missing_hardware_id": (
        _("This request file does not identify the computer (no hardware ID)."),
        _SAVE_AGAIN,
    ),
    "missing_license": (
        _(
            "This request file has neither a license key nor a user name. Enter your license "
            "key or user name in your software, then save the request file again and upload it."
        ),
        "",
    ),
    "missing_api_key": (
        _(
            "This request file does not say which software it was made by (no API key or "
            "client ID). Save the request file again from your software; if this keeps "
            "happening, contact the software vendor."
        ),
        "",
    ),
}


# Where sending the same file again can work: the service was down, slow, busy or garbled
# its answer. Any other refusal would come back the same, so the page offers no "Try again".
RETRYABLE_CODES = frozenset(
    {
        "service_unreachable",
        "service_timeout",
        "rate_limited",
        "unexpected_answer",
        "mismatched_answer",
    }
)

# Where only the vendor can help: another file from the same person would fail the same way.
SUPPORT_CODES = frozenset(
    {
        "license_not_enabled",
        "license_not_active",
        "trial_expired",
        "disabled_product",
        "archived_product",
        "api_key_product_not_allowed",
        "unsupported_product_feature",
        "product_not_bundle",
        "not_found",
        "portal_credentials_refused",
        "setup_mismatch",
        "activation_disabled",
        "deactivation_disabled",
    }
)

_ASK_SUPPORT = _("Please contact the vendor's support and give them the support reference below.")

# What to do next, where the message itself does not say it already. Neither the License API's
# refusals nor the request file carry a seat count or the license's dates, so these texts say
# plainly what is not known rather than guess it.
NEXT_STEPS: dict[str, Promise] = {
    "license_activated_max_times": _(
        "To free a seat: on a computer that no longer needs the software, make a deactivation "
        "request file in the software and upload it here. Then upload this request file "
        "again. If that computer is lost or broken, the vendor's support can free its seat."
    ),
    "license_not_active": _(
        "The licensing service's answer gives no date, so this portal cannot tell when the "
        "license ended or when it starts. The vendor's support can tell you, and renew or "
        "extend the license."
    ),
    "trial_expired": _(
        "The licensing service's answer gives no date for the end of the trial. To keep "
        "using the software, buy a full license from the vendor, then make a new request "
        "file with its license key."
    ),
    "device_not_found": _(
        "If you meant to free this computer's seat, there is nothing more to do. To free "
        "another computer's seat, upload the deactivation request file made on that computer."
    ),
    "unknown_product": _(
        "Check that this is the portal of the company that sold you the software. If it is, "
        "please contact the vendor's support."
    ),
    "product_not_bundle": _ASK_SUPPORT,
    "not_found": _ASK_SUPPORT,
    "activation_disabled": _ASK_SUPPORT,
    "deactivation_disabled": _ASK_SUPPORT,
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

    @property
    def retryable(self) -> bool:
        """Whether sending the same file again can work (any 429: gateways name it freely)."""
        return self.code in RETRYABLE_CODES or self.status == 429

    @property
    def needs_support(self) -> bool:
        """Whether only the vendor's support can help: no other file would do."""
        return self.code in SUPPORT_CODES

    @property
    def next_step(self) -> str:
        """What to do next, in the active language, where `message` does not say it."""
        step = NEXT_STEPS.get(self.code)
        return str(step) if step else ""


def describe_upstream_error(code: str, upstream_message: str) -> str:
    """The plain-language text for an upstream code; unknown codes show the upstream text."""
    return str(UPSTREAM_MESSAGES.get(code) or upstream_message or UNREACHABLE)


def describe_request_file_error(code: str, fallback: str) -> str:
    """The plain-language text for a request file's refusal, in the active language."""
    if code not in REQUEST_FILE_MESSAGES:
        return fallback
    message, advice = REQUEST_FILE_MESSAGES[code]
    if not advice:
        return str(message)
    # Translators: what is wrong, then what to do; Japanese, for one, puts no space between.
    return gettext("%(problem)s %(advice)s") % {"problem": message, "advice": advice}
