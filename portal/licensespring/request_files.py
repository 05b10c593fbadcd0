"""Reading `.req` request files: framework-free, no I/O.

A request file is base64 of a UTF-8 JSON object in one of three shapes (protocol spec,
section 3): flat (documented v1), wrapped by the Python SDK, wrapped by the Node SDK. The
reader tells the user, in plain language, what is wrong with a file before any round trip,
and hands back what the portal needs to route, show and relay it. The end user's password
(user-based activation) is checked for nothing and copied nowhere: only `text`, the original
base64 to relay, still carries it.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from portal.licensespring.license_files import (
    LicenseFile,
    describe_license_document,
    is_license_document,
)

MAX_FILE_BYTES = 64 * 1024

Kind = Literal["activation", "deactivation"]
Shape = Literal["flat", "python", "node"]

_BOM = "\ufeff"
_BASE64_DIGITS = re.compile(r"[A-Za-z0-9+/]+")
_UNSTORABLE = re.compile(r"[\ud800-\udfff]|\\u0000")

_SAVE_AGAIN = "Save the request file again from your software and upload the new file."
_CHOOSE_REQ = "Choose the request file (its name ends in .req) that your software saved."
# Fixed texts: a message never quotes the file, which may hold the end user's password.
_MESSAGES: dict[str, str] = {
    "empty": f"This file is empty. {_CHOOSE_REQ}",
    "too_large": (
        "This file is too large to be a request file: request files are a few kilobytes. "
        f"{_CHOOSE_REQ}"
    ),
    "not_base64": (
        "This is not a request file: its content is not in the format your software saves. "
        f"{_CHOOSE_REQ} Upload it as it is, without opening or editing it."
    ),
    "not_json": f"This request file is damaged or incomplete and cannot be read. {_SAVE_AGAIN}",
    "not_object": f"This file does not contain a licensing request. {_SAVE_AGAIN}",
    "license_file": (
        "This is a license file (.lic), not a request file. A license file is what you get "
        f"back from this portal. {_CHOOSE_REQ}"
    ),
    "looks_like_json": (
        "This is the decoded content of a request file, not the file itself. Upload the file "
        "exactly as your software saved it, or paste its content unchanged."
    ),
    "missing_request_type": (
        f"This file does not say whether it activates or deactivates a license. {_SAVE_AGAIN}"
    ),
    "missing_product": f"This request file does not name a product. {_SAVE_AGAIN}",
    "missing_hardware_id": (
        f"This request file does not identify the computer (no hardware ID). {_SAVE_AGAIN}"
    ),
    "missing_license": (
        "This request file has neither a license key nor a user name. Enter your license key "
        "or user name in your software, then save the request file again and upload it."
    ),
    "missing_api_key": (
        "This request file does not say which software it was made by (no API key or client "
        "ID). Save the request file again from your software; if this keeps happening, contact "
        "the software vendor."
    ),
}


class RequestFileError(ValueError):
    """A request file the portal cannot use; `message` is safe to show the end user."""

    def __init__(self, code: str, message: str, license_file: LicenseFile | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        # For `license_file`: what the uploaded license file unlocks, to tell the user.
        self.license_file = license_file


@dataclass(frozen=True)
class DeviceInfo:
    app_name: str = ""
    app_ver: str = ""
    sdk_ver: str = ""
    os_ver: str = ""
    hostname: str = ""
    ip: str = ""
    mac_address: str = ""
    is_vm: bool | None = None


@dataclass(frozen=True)
class FeatureConsumption:
    code: str
    local_consumption: int


@dataclass(frozen=True)
class RequestFile:
    kind: Kind
    shape: Shape
    product: str
    hardware_id: str
    bundle_code: str = ""
    license_key: str = ""
    username: str = ""
    api_key: str = ""
    client_id: str = ""
    request_id: str = ""
    request_date: str = ""
    device: DeviceInfo = field(default_factory=DeviceInfo)
    # What a deactivation carries: offline usage to sync.
    consumptions: int | None = None
    feature_consumptions: tuple[FeatureConsumption, ...] = ()
    variables: tuple[tuple[str, str], ...] = ()
    # The original base64 text, trimmed, to relay byte for byte. Never log it.
    text: str = field(default="", repr=False)

    @property
    def is_user_based(self) -> bool:
        return bool(self.username) and not self.license_key

    @property
    def credential_id(self) -> str:
        """The api_key or client_id the file was made for (which vendor's software)."""
        return self.api_key or self.client_id


def read_request_file(data: bytes | str) -> RequestFile:
    """Read an uploaded file's bytes or pasted text; raise RequestFileError with a reason."""
    text = _relay_text(data)
    fields, shape = _unwrap(_decode_document(text))
    kind = _kind(fields)
    product = _required_text(fields, "product", "missing_product")
    hardware_id = _required_text(fields, "hardware_id", "missing_hardware_id")
    _require_one_of(fields, ("license_key", "username"), "missing_license")
    _require_one_of(fields, ("api_key", "client_id"), "missing_api_key")
    return RequestFile(
        kind=kind,
        shape=shape,
        product=product,
        hardware_id=hardware_id,
        bundle_code=_text(fields, "bundle_code"),
        license_key=_text(fields, "license_key"),
        username=_text(fields, "username"),
        api_key=_text(fields, "api_key"),
        client_id=_text(fields, "client_id"),
        request_id=_text(fields, "request_id"),
        request_date=_text(fields, "date"),
        device=_device(fields),
        consumptions=_count(fields.get("consumptions")),
        feature_consumptions=_feature_consumptions(fields.get("product_features")),
        variables=_variables(fields.get("variables")),
        text=text,
    )


def _error(code: str) -> RequestFileError:
    return RequestFileError(code, _MESSAGES[code])


def _relay_text(data: bytes | str) -> str:
    if _size(data) > MAX_FILE_BYTES:
        raise _error("too_large")
    try:
        text = data if isinstance(data, str) else bytes(data).decode("utf-8")
    except UnicodeDecodeError:
        # `from None`: the decode error holds the file's bytes, which may hold a password.
        raise _error("not_base64") from None
    text = text.strip().lstrip(_BOM).strip()
    if not text:
        raise _error("empty")
    # Base64 never holds a brace: this is the decoded JSON, which the API would refuse.
    if text.startswith("{"):
        raise _error("looks_like_json")
    # Editors and mail clients wrap long lines; the base64 itself has no whitespace.
    return "".join(text.split())


def _size(data: bytes | str) -> int:
    # A character is at least one byte: skip encoding text that is too long already.
    if isinstance(data, str) and len(data) <= MAX_FILE_BYTES:
        return len(data.encode("utf-8", "surrogatepass"))
    return len(data)


def _decode_document(text: str) -> dict[str, Any]:
    digits = text.rstrip("=")
    # Padding is recomputed because pasted text often loses its trailing `=`.
    if not digits or len(digits) % 4 == 1 or not _BASE64_DIGITS.fullmatch(digits):
        raise _error("not_base64")
    raw = base64.b64decode(digits + "=" * (-len(digits) % 4))
    try:
        document = json.loads(raw.decode("utf-8"))
        decoded = json.dumps(document, ensure_ascii=False)
    except (ValueError, RecursionError):
        # `from None` keeps the decoded content (and any password) out of tracebacks.
        raise _error("not_json") from None
    if not isinstance(document, dict):
        raise _error("not_object")
    # A lone surrogate (`"\\ud800"`) or a NUL (`"\\u0000"`) is valid JSON, but no text UTF-8 or
    # PostgreSQL takes, and no SDK writes one: the file is damaged.
    if _UNSTORABLE.search(decoded):
        raise _error("not_json")
    return document


def _unwrap(document: dict[str, Any]) -> tuple[dict[str, Any], Shape]:
    inner = document.get("request")
    if isinstance(inner, dict):
        # Only the Python SDK signs the inner object as well as the wrapper.
        return inner, ("python" if "signature" in inner else "node")
    if is_license_document(document):
        license_file = describe_license_document(document)
        raise RequestFileError("license_file", _MESSAGES["license_file"], license_file)
    return document, "flat"


def _kind(fields: dict[str, Any]) -> Kind:
    value = fields.get("request")
    if value in ("activation", "deactivation"):
        return value
    raise _error("missing_request_type")


def _text(fields: dict[str, Any], name: str) -> str:
    value = fields.get(name)
    return value if isinstance(value, str) else ""


def _required_text(fields: dict[str, Any], name: str, code: str) -> str:
    value = _text(fields, name)
    if not value.strip():
        raise _error(code)
    return value


def _require_one_of(fields: dict[str, Any], names: tuple[str, ...], code: str) -> None:
    if not any(_text(fields, name).strip() for name in names):
        raise _error(code)


def _device(fields: dict[str, Any]) -> DeviceInfo:
    is_vm = fields.get("is_vm")
    return DeviceInfo(
        app_name=_text(fields, "app_name"),
        app_ver=_text(fields, "app_ver"),
        sdk_ver=_text(fields, "sdk_ver"),
        os_ver=_text(fields, "os_ver"),
        # The documented flat file names these `os_hostname` and `ip_local`; the SDKs do not.
        hostname=_text(fields, "hostname") or _text(fields, "os_hostname"),
        ip=_text(fields, "ip") or _text(fields, "ip_local"),
        mac_address=_text(fields, "mac_address"),
        is_vm=is_vm if isinstance(is_vm, bool) else None,
    )


def _count(value: object) -> int | None:
    # JSON `true` arrives as a bool, which Python counts as an int: it is no count.
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def _feature_consumptions(value: object) -> tuple[FeatureConsumption, ...]:
    if not isinstance(value, list):
        return ()
    found = []
    for item in value:
        if not isinstance(item, dict):
            continue
        code, count = item.get("code"), _count(item.get("local_consumption"))
        if isinstance(code, str) and code and count is not None:
            found.append(FeatureConsumption(code=code, local_consumption=count))
    return tuple(found)


def _variables(value: object) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict):
        return ()
    pairs = ((name, _scalar_text(item)) for name, item in value.items())
    return tuple((name, text) for name, text in pairs if text is not None)


def _scalar_text(value: object) -> str | None:
    if isinstance(value, str):
        return value
    # JSON spelling, so `true` stays `true` rather than Python's `True`.
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    return None
