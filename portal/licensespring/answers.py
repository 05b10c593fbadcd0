"""Reading the License API's answers, and whether an activation answer is a license for the
request file that asked for it.

An answer is read from the stream up to MAX_ANSWER_BYTES: a license answer is a few kilobytes,
and anything past that is not one.

A License API answer read on a kept-alive connection could be a late answer to an earlier
request (a proxy's retry, a server's bug): kept as this user's result, it would hand them
someone else's license. The License API copies the file's `hardware_id` and `request_id` into
each license object it sends (protocol spec, section 4), so an answer whose license carries
another computer's hardware id, or another request's id, belongs to another request.

The check also refuses an answer the portal cannot read as license objects (not JSON, nested
too deep to parse, fields of the wrong type): the license file is the body as sent, and one
the SDKs cannot read would fail on the user's computer instead.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from portal.licensespring.errors import LicenseApiError
from portal.licensespring.request_files import RequestFile

MAX_ANSWER_BYTES = 1024 * 1024
# Fields the SDKs and the portal read from a license object, with their JSON types.
_FIELD_TYPES: dict[str, type] = {
    "hardware_id": str,
    "request_id": str,
    "license_key": str,
    "license_type": str,
    "product_details": dict,
    "product_features": list,
    "customer": dict,
    "user": dict,
    "max_activations": int,
    "times_activated": int,
}


def check_activation_answer(request_file: RequestFile, body: bytes) -> None:
    """Raise LicenseApiError (502) unless `body` holds license objects for `request_file`."""
    for license_object in _license_objects(body):
        _check_types(license_object)
        _check_belongs(license_object, request_file)


def read_answer(response: httpx.Response) -> bytes:
    """The answer's body, up to MAX_ANSWER_BYTES. Read from the stream itself: httpx's
    iterators pool the connection as the last byte arrives, before the answer is checked."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > MAX_ANSWER_BYTES:
        raise _unexpected(f"The answer is larger than {MAX_ANSWER_BYTES} bytes.")
    chunks, size = [], 0
    for chunk in response.stream:
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise _unexpected(f"The answer is larger than {MAX_ANSWER_BYTES} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


def check_plain(response: httpx.Response) -> None:
    """Refuse a compressed answer: the license file is the body exactly as sent."""
    if response.headers.get("Content-Encoding", "identity").lower() != "identity":
        raise _unexpected("The answer is compressed, though the portal asked for it plain.")


def drop_connection(response: httpx.Response) -> None:
    """Close the connection an answer came on, so that no later request reads from it."""
    network_stream = response.extensions.get("network_stream")
    if network_stream is not None:  # httpcore's; a test's MockTransport has none
        network_stream.close()


def _license_objects(body: bytes) -> list[dict[str, Any]]:
    """One license object, or a bundle's `{"licenses": [...]}`."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):  # not UTF-8, not JSON, or nested too deep
        raise _unexpected("The answer is not JSON the portal can read.") from None
    if isinstance(document, dict) and "licenses" in document:
        licenses = document["licenses"]
    else:
        licenses = [document]
    if not isinstance(licenses, list) or not licenses:
        raise _unexpected("The answer holds no license.")
    if not all(isinstance(item, dict) for item in licenses):
        raise _unexpected("The answer holds something other than licenses.")
    return licenses


def _check_types(license_object: dict[str, Any]) -> None:
    for name, expected in _FIELD_TYPES.items():
        value = license_object.get(name)
        if value is not None and (not isinstance(value, expected) or isinstance(value, bool)):
            raise _unexpected(f"The license's {name} is not a {_json_type(expected)}.")


def _check_belongs(license_object: dict[str, Any], request_file: RequestFile) -> None:
    hardware_id = license_object.get("hardware_id")
    if hardware_id is not None and hardware_id != request_file.hardware_id:
        raise _mismatched("The license is for another computer.")
    request_id = license_object.get("request_id")
    if request_id and request_file.request_id and request_id != request_file.request_id:
        raise _mismatched("The license answers another request.")


def _json_type(expected: type) -> str:
    return {str: "string", int: "number", dict: "object", list: "list"}[expected]


def _unexpected(message: str) -> LicenseApiError:
    return LicenseApiError(status=502, code="unexpected_answer", message=message)


def _mismatched(message: str) -> LicenseApiError:
    return LicenseApiError(status=502, code="mismatched_answer", message=message)
