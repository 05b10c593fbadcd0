"""Reading and verifying offline request files, as the License API does.

The sandbox imitates an external server, so it keeps its own reader and never imports the
portal's. A file is base64 of a JSON object in one of three shapes (protocol spec, section 3):
flat (documented v1), wrapped by the Python SDK, wrapped by the Node SDK.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest
from django.http.multipartparser import MultiPartParserError

from sandbox.errors import ApiError
from sandbox.models import Credential, OAuthClient
from sandbox.signing import hmac_b64, request_signature, signatures_match

# Offline files travel for days, so age never counts; a date from the future means a wrong
# clock or a forged file.
MAX_FUTURE_SKEW = timedelta(hours=24)
_DEVICE_FIELDS = ("hostname", "os_ver", "app_ver", "sdk_ver", "ip", "mac_address")
_JS_DATE = "%a %b %d %Y %H:%M:%S GMT%z"
# Usage counts land in 32-bit integer columns; a hardware id in a 500-character one.
_MAX_COUNT = 2**31 - 1
_MAX_HARDWARE_ID = 500


@dataclass(frozen=True)
class RequestFile:
    kind: str
    shape: str
    fields: dict[str, object] = field(repr=False)
    outer_signature: str = field(default="", repr=False)

    def text(self, name: str) -> str:
        value = self.fields.get(name)
        return value if isinstance(value, str) else ""

    @property
    def product(self) -> str:
        return self.text("product")

    @property
    def hardware_id(self) -> str:
        return self.text("hardware_id")

    @property
    def identity(self) -> str:
        """The license key, or the username of a user-based license."""
        return self.text("license_key") or self.text("username")

    @property
    def client(self) -> str:
        """The api_key (or OAuth client_id) the file was made for."""
        return self.text("api_key") or self.text("client_id")

    @property
    def device_info(self) -> dict[str, object]:
        info: dict[str, object] = {name: self.text(name) for name in _DEVICE_FIELDS}
        info["hostname"] = info["hostname"] or self.text("os_hostname")
        info["ip"] = info["ip"] or self.text("ip_local")
        info["is_vm"] = self.fields.get("is_vm") is True
        return info


def read_body(request: HttpRequest) -> str:
    """The base64 text: a raw `text/plain` body, or the multipart field `file`."""
    try:
        if request.content_type == "multipart/form-data":
            upload = request.FILES.get("file")
            raw = upload.read() if upload else request.POST.get("file", "").encode()
        else:
            raw = request.body
    except RequestDataTooBig:
        raise ApiError("validation_error", "the request body is too large", status=413) from None
    except (MultiPartParserError, TooManyFieldsSent, TooManyFilesSent):
        raise ApiError("validation_error", "the multipart body cannot be read") from None
    text = raw.decode("ascii", errors="replace").strip()
    if not text:
        raise ApiError("missing_content", "the request body holds no request file")
    return text


def parse_request_file(text: str, *, kind: str) -> RequestFile:
    """Decode a request file of any of the three shapes meant for an endpoint of `kind`."""
    document = _decode_json(text)
    _check_text(document)
    inner = document.get("request")
    if isinstance(inner, dict):
        outer = document.get("signature")
        if not isinstance(outer, str) or not outer:
            raise ApiError("validation_error", "a wrapped request file needs its signature")
        shape = "python" if "signature" in inner else "node"
        request_file = RequestFile(inner.get("request"), shape, inner, outer)
    elif isinstance(inner, str):
        request_file = RequestFile(inner, "flat", document)
    else:
        raise ApiError("validation_error", "the request file has no request object")
    _check_fields(request_file, kind=kind)
    return request_file


def verify_request_file(request_file: RequestFile, *, now: datetime) -> Credential | OAuthClient:
    """Check the file's own signature and date; return the credential (or OAuth client) it
    was made with."""
    if request_file.text("client_id") and not request_file.text("api_key"):
        credential = OAuthClient.objects.filter(client_id=request_file.text("client_id")).first()
    else:
        credential = Credential.objects.filter(api_key=request_file.text("api_key")).first()
    if credential is None:
        raise ApiError("invalid_api_key", "the request file's api_key or client_id is not valid")
    if not _signature_matches(request_file, credential.shared_key):
        raise ApiError("signature_mismatch", "the request file's signature does not match")
    moment = parse_request_date(request_file.text("date"))
    if moment is None:
        raise ApiError("validation_error", "the request date is not a date")
    if moment > now + MAX_FUTURE_SKEW:
        raise ApiError("validation_error", "request date is in the future")
    return credential


def parse_request_date(text: str) -> datetime | None:
    """RFC 7231 (Python SDK, docs), JavaScript Date (Node SDK) or ISO 8601; None if neither."""
    text = re.sub(r"\s*\([^)]*\)\s*$", "", text.strip())  # JS may append "(Zone Name)".
    parsers = (
        lambda value: datetime.strptime(value, _JS_DATE),
        parsedate_to_datetime,
        lambda value: datetime.fromisoformat(value.replace("Z", "+00:00")),
    )
    for parse in parsers:
        try:
            moment = parse(text)
        except (TypeError, ValueError, IndexError):
            continue
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return None


def _decode_json(text: str) -> dict[str, object]:
    try:
        raw = base64.b64decode("".join(text.split()), validate=True)
        document = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, RecursionError):
        raise ApiError("invalid_json", "the request file is not base64 of JSON") from None
    if not isinstance(document, dict):
        raise ApiError("validation_error", "the request file is not a JSON object")
    return document


def _check_text(document: dict[str, object]) -> None:
    """Every name and string in the file must be text a database and a hash can take: JSON may
    carry lone surrogates (\\ud800) and NUL characters, which neither can."""
    pending: list[object] = [document]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
        elif isinstance(value, str) and not _is_sound_text(value):
            raise ApiError("validation_error", "the request file holds text that is not valid")


def _is_sound_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in value


def _check_fields(request_file: RequestFile, *, kind: str) -> None:
    if request_file.kind not in ("activation", "deactivation"):
        raise ApiError("validation_error", "request must be activation or deactivation")
    if request_file.kind != kind:
        raise ApiError("validation_error", f"this endpoint takes {kind} requests")
    missing = [
        name
        for name, value in (
            ("product", request_file.product),
            ("hardware_id", request_file.hardware_id),
            ("license_key or username", request_file.identity),
            ("date", request_file.text("date")),
            ("api_key or client_id", request_file.client),
        )
        if not value
    ]
    if request_file.shape == "flat" and not request_file.text("signature"):
        missing.append("signature")
    if missing:
        message = "some parameters are missing in the request: " + ", ".join(missing)
        raise ApiError("missing_parameters", message)
    if len(request_file.hardware_id) > _MAX_HARDWARE_ID:
        raise ApiError("validation_error", "hardware_id is too long")
    _check_usage_fields(request_file.fields)


def _check_usage_fields(fields: dict[str, object]) -> None:
    """Deactivations carry usage; wrong types would corrupt the totals, so refuse them."""
    consumptions = fields.get("consumptions")
    if consumptions is not None and not _is_count(consumptions):
        raise ApiError("validation_error", "consumptions must be an integer")
    features = fields.get("product_features") or []
    if not isinstance(features, list) or not all(
        isinstance(item, dict)
        and isinstance(item.get("code"), str)
        and _is_count(item.get("local_consumption", 0))
        for item in features
    ):
        raise ApiError("validation_error", "product_features must list codes and integers")
    variables = fields.get("variables") or {}
    if not isinstance(variables, dict) or not all(
        isinstance(value, str | int | float) for value in variables.values()
    ):
        raise ApiError("validation_error", "variables must map names to strings")


def _is_count(value: object) -> bool:
    return type(value) is int and -_MAX_COUNT <= value <= _MAX_COUNT


def _signature_matches(request_file: RequestFile, shared_key: str) -> bool:
    """Every signature the file's shape carries: flat files the inner one, Node files the outer
    one, Python files both (the inner one leaves usage counts and device facts unsigned)."""
    if request_file.shape != "node" and not _inner_signature_matches(request_file, shared_key):
        return False
    return request_file.shape == "flat" or _outer_signature_matches(request_file, shared_key)


def _inner_signature_matches(request_file: RequestFile, shared_key: str) -> bool:
    expected = request_signature(
        shared_key,
        date=request_file.text("date"),
        identity=request_file.identity,
        hardware_id=request_file.hardware_id,
        client=request_file.client,
    )
    return signatures_match(expected, request_file.fields.get("signature"))


def _outer_signature_matches(request_file: RequestFile, shared_key: str) -> bool:
    # The outer signature covers the inner JSON as the SDK wrote it: Python's json.dumps,
    # ASCII-escaped for activations and raw UTF-8 for deactivations, or Node's compact
    # JSON.stringify.
    texts = (
        json.dumps(request_file.fields),
        json.dumps(request_file.fields, ensure_ascii=False),
        json.dumps(request_file.fields, separators=(",", ":"), ensure_ascii=False),
    )
    return any(
        signatures_match(hmac_b64(shared_key, text), request_file.outer_signature) for text in texts
    )
