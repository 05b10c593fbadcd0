"""Hypothesis strategies for hostile input: request files, multipart bodies, upstream answers.

Shared by the tests of the request-file reader, the pages, the API and the relay service.
"""

from __future__ import annotations

import base64
import json

import httpx
from hypothesis import strategies as st

from tests.factories import LICENSE_OBJECT, read_vector

VECTORS = [
    "py_activate_key.req",
    "py_activate_user.req",
    "py_deactivate_key_consumption.req",
    "node_activate_key.req",
    "flat_v1_activate_key.req",
]
FIELD_NAMES = [
    "request",
    "product",
    "hardware_id",
    "license_key",
    "username",
    "password",
    "api_key",
    "client_id",
    "bundle_code",
    "date",
    "request_id",
    "signature",
    "hostname",
    "os_hostname",
    "ip",
    "is_vm",
    "consumptions",
    "product_features",
    "variables",
    "license_signature",
    "licenses",
]
VECTOR_BYTES = [read_vector(name).encode() for name in VECTORS]
LICENSE_FIELDS = [*LICENSE_OBJECT, "user", "licenses", "allow_unlimited_activations"]
UPSTREAM_CODES = [
    "license_activated_max_times",
    "license_not_found",
    "unknown_product",
    "product_not_bundle",
    "invalid_api_key",
    "rate_limited",
    "signature_mismatch",
    "internal_error",
]

# Any code point, lone surrogates included: JSON can carry them as `"\ud800"` escapes.
any_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=True, allow_infinity=True)
    | any_text
    | st.sampled_from(["", "activation", "deactivation", "TP", "2030-01-01T00:00:00Z"])
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(FIELD_NAMES + LICENSE_FIELDS) | any_text, children, max_size=5
        )
    ),
    max_leaves=8,
)


def _deep_json(depth: int) -> str:
    return "[" * depth + "]" * depth


def encode(document: object) -> bytes:
    """Base64 of JSON, lone surrogates escaped as JSON allows."""
    return base64.b64encode(json.dumps(document).encode())


@st.composite
def request_documents(draw: st.DrawFn) -> object:
    """A request file's JSON in one of the three shapes, some fields given random values."""
    fields: dict[str, object] = {
        "request": draw(st.sampled_from(["activation", "deactivation"])),
        "product": "TP",
        "hardware_id": "generated-hwid",
        "license_key": "AAAA-BBBB-CCCC-DDDD",
        "api_key": "3f0b1b7e-5c1a-4d2e-9a77-0c1d2e3f4a5b",
    }
    for name in draw(st.lists(st.sampled_from(FIELD_NAMES), max_size=5)):
        fields[name] = draw(json_values)
    shape = draw(st.sampled_from(["flat", "python", "node"]))
    if shape == "flat":
        return fields
    if shape == "python":
        fields["signature"] = draw(json_values)
    return {"request": fields, "signature": draw(json_values)}


@st.composite
def mutated_vectors(draw: st.DrawFn) -> bytes:
    content = bytearray(draw(st.sampled_from(VECTOR_BYTES)))
    digits = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
    for _ in range(draw(st.integers(1, 5))):
        # Mostly base64 digits, so that many mutants still decode and reach the JSON.
        byte = draw(st.sampled_from(digits) | st.integers(0, 255))
        content[draw(st.integers(0, len(content) - 1))] = byte
    return bytes(content[: draw(st.integers(0, len(content)))])


def _laid_out(text: bytes, draw: st.DrawFn) -> bytes:
    """As editors and mail clients leave a file: wrapped, padded with blanks, a BOM."""
    width = draw(st.sampled_from([0, 60, 76]))
    if width:
        text = b"\n".join(text[start : start + width] for start in range(0, len(text), width))
    if draw(st.booleans()):
        text = text.rstrip(b"=")
    return draw(st.sampled_from([b"", b"\xef\xbb\xbf", b"  \n"])) + text


@st.composite
def request_files(draw: st.DrawFn) -> bytes:
    """Bytes a user might upload as a request file, valid or anything but."""
    kind = draw(st.integers(0, 5))
    if kind == 0:
        return draw(st.binary(max_size=400))
    if kind == 1:
        return base64.b64encode(draw(st.binary(max_size=300)))
    if kind == 2:
        return draw(mutated_vectors())
    if kind == 3:
        deep = _deep_json(draw(st.integers(1, 5000)))
        document = '{"request": "activation", "product": ' + deep + "}"
        return base64.b64encode(document.encode())
    if kind == 4:
        return _laid_out(encode(draw(json_values)), draw)
    return _laid_out(encode(draw(request_documents())), draw)


_BOUNDARY_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'()+_,-./:=? "


@st.composite
def multipart_bodies(draw: st.DrawFn) -> tuple[bytes, str]:
    """(body, Content-Type) of a multipart upload: random boundaries, part names, headers."""
    boundary = draw(st.text(_BOUNDARY_CHARS, min_size=1, max_size=72))
    encoded = boundary.encode()
    body = b""
    for _ in range(draw(st.integers(0, 4))):
        name = draw(st.sampled_from(["file", "request_text", "csrfmiddlewaretoken"]) | any_text)
        headers = [f'Content-Disposition: form-data; name="{name}"']
        if draw(st.booleans()):
            headers[0] += f'; filename="{draw(any_text)}"'
        for header in draw(st.lists(_part_headers, max_size=3)):
            headers.append(header)
        head = "\r\n".join(headers).encode("utf-8", "surrogatepass")
        content = draw(request_files() | st.sampled_from(VECTOR_BYTES))
        body += b"--" + encoded + b"\r\n" + head + b"\r\n\r\n" + content + b"\r\n"
    if draw(st.booleans()):
        body += b"--" + encoded + b"--\r\n"
    body = body[: draw(st.integers(0, len(body)))] if draw(st.booleans()) else body
    content_type = draw(
        st.sampled_from(
            [
                f"multipart/form-data; boundary={boundary}",
                f'multipart/form-data; boundary="{boundary}"',
                "multipart/form-data",
                f"multipart/form-data; boundary={boundary}; charset={draw(any_text)}",
                f"multipart/mixed; boundary={boundary}",
            ]
        )
    )
    # A header travels as latin-1 in WSGI: whatever else the client sent arrives as that.
    return body, content_type.encode("utf-8", "surrogatepass").decode("latin-1")


_part_headers = st.sampled_from(
    [
        "Content-Type: text/plain",
        "Content-Type: text/plain; charset=utf-16",
        "Content-Type: text/plain; charset=no-such-charset",
        "Content-Type: application/octet-stream",
        "Content-Transfer-Encoding: base64",
        "Content-Transfer-Encoding: quoted-printable",
        "Content-Length: 3",
        "Content-Disposition: attachment",
    ]
) | any_text.map(lambda text: "X-" + text)


@st.composite
def license_answers(draw: st.DrawFn) -> bytes:
    """A License API 200 body: a license or a bundle with fields of any type, or anything."""
    kind = draw(st.integers(0, 4))
    license_object = dict(LICENSE_OBJECT)
    for name in draw(st.lists(st.sampled_from(LICENSE_FIELDS), max_size=4)):
        license_object[name] = draw(json_values)
    if kind == 0:
        return json.dumps(license_object).encode()
    if kind == 1:
        return json.dumps({"licenses": [license_object, draw(json_values)]}).encode()
    if kind == 2:
        return json.dumps(draw(json_values)).encode()
    if kind == 3:
        depth = draw(st.integers(1, 3000))
        return b'{"license_key": "K", "x": ' + _deep_json(depth).encode() + b"}"
    return draw(st.binary(max_size=300))


@st.composite
def error_answers(draw: st.DrawFn) -> bytes:
    payload = {
        "status": draw(st.integers(0, 999) | json_values),
        "code": draw(st.sampled_from(UPSTREAM_CODES) | json_values),
        "message": draw(json_values),
    }
    return draw(st.just(json.dumps(payload).encode()) | license_answers())


@st.composite
def upstream_answers(draw: st.DrawFn) -> httpx.Response | Exception:
    """What the License API sends back: any status, headers and body, or a failure."""
    if draw(st.integers(0, 9)) == 0:
        return draw(
            st.sampled_from(
                [
                    httpx.ConnectError("refused"),
                    httpx.ReadTimeout("slow"),
                    httpx.RemoteProtocolError("garbled"),
                    httpx.ReadError("reset"),
                ]
            )
        )
    status = draw(st.sampled_from([200, 200, 200, 201, 204, 400, 401, 404, 429, 500, 503]))
    status = draw(st.just(status) | st.integers(200, 599))
    body = draw(license_answers()) if status < 300 else draw(error_answers())
    headers = {}
    if draw(st.booleans()):
        headers["Retry-After"] = draw(
            st.sampled_from(["0", "12", "-1", "99999999999", "Wed, 21 Oct 2015 07:28:00 GMT"])
            | st.text("0123456789abc -:,", max_size=30)
        )
    return httpx.Response(status, headers=headers, content=body)
