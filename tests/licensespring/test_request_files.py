from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.licensespring.request_files import (
    MAX_FILE_BYTES,
    DeviceInfo,
    FeatureConsumption,
    RequestFile,
    RequestFileError,
    read_request_file,
)
from tests.factories import API_KEY, make_request_file, read_vector
from tests.strategies import json_values, request_documents, request_files

VECTORS = [
    "py_activate_key.req",
    "py_activate_user.req",
    "py_deactivate_key_consumption.req",
    "node_activate_key.req",
    "flat_v1_activate_key.req",
]
PYTHON_HWID = "0035969ec53f6e7f0fb40f08cc9ed4783aa99c2000cf1ebe4187c10dd0d8370f"
PASSWORD = "s3cret-Pa55"


def encode(document: object) -> str:
    return base64.b64encode(json.dumps(document).encode()).decode()


def decode(text: str) -> dict:
    return json.loads(base64.b64decode(text))


def flat_fields(**changes: object) -> dict:
    """A valid flat request's fields; a change to None removes that field."""
    fields = {
        "request": "activation",
        "product": "TP",
        "hardware_id": "test-hwid-0001",
        "license_key": "FUH3-4E7A-LZJL-7JTP",
        "api_key": API_KEY,
        "date": "Tue, 24 Nov 2026 15:59:26 GMT",
        "request_id": "00000000-0000-4000-8000-000000000001",
        "signature": "c2lnbmF0dXJl",
    }
    fields.update(changes)
    return {name: value for name, value in fields.items() if value is not None}


def user_fields_without(name: str) -> dict:
    """The user vector's inner fields (password included) with one field removed."""
    inner = decode(read_vector("py_activate_user.req"))["request"]
    del inner[name]
    return inner


def error_for(data: bytes | str) -> RequestFileError:
    with pytest.raises(RequestFileError) as caught:
        read_request_file(data)
    return caught.value


# The vectors


def test_read_request_file_reads_python_key_activation() -> None:
    result = read_request_file(read_vector("py_activate_key.req"))
    assert (result.kind, result.shape, result.product) == ("activation", "python", "TP")
    assert result.license_key == "FUH3-4E7A-LZJL-7JTP"
    assert result.username == ""
    assert result.hardware_id == PYTHON_HWID
    assert result.api_key == API_KEY
    assert result.request_id == "c80383c7-8a4d-42c9-9e2f-7b1c9b076189"
    assert result.request_date == "Tue, 24 Nov 2026 15:57:45 GMT"


def test_read_request_file_reads_python_device_info() -> None:
    result = read_request_file(read_vector("py_activate_key.req"))
    assert result.device == DeviceInfo(
        app_ver="1.2.0",
        sdk_ver="PythonSDK 4.0.0",
        os_ver="Linux 6.1",
        hostname="lab-pc-01",
        ip="127.0.0.1",
        mac_address="02:FC:00:00:00:01",
        is_vm=False,
    )


def test_read_request_file_reads_python_user_activation() -> None:
    result = read_request_file(read_vector("py_activate_user.req"))
    assert (result.kind, result.shape, result.product) == ("activation", "python", "TPU")
    assert result.username == "alice@example.com"
    assert result.license_key == ""
    assert result.is_user_based
    assert result.hardware_id == PYTHON_HWID
    assert result.request_id == "8e66cfbe-4910-4be2-9622-45a1fdf7ed60"
    assert result.request_date == "Tue, 24 Nov 2026 16:18:26 GMT"
    assert result.device.hostname == "vm"


def test_read_request_file_reads_python_deactivation() -> None:
    result = read_request_file(read_vector("py_deactivate_key_consumption.req"))
    assert (result.kind, result.shape, result.product) == ("deactivation", "python", "TP")
    assert result.license_key == "FUH3-4E7A-LZJL-7JTP"
    assert result.hardware_id == PYTHON_HWID
    assert result.request_id == "257a0697-5851-404c-9bef-6175b6fa4a54"
    assert result.request_date == "Tue, 24 Nov 2026 16:18:37 GMT"


def test_read_request_file_reads_deactivation_consumptions() -> None:
    result = read_request_file(read_vector("py_deactivate_key_consumption.req"))
    assert result.consumptions == 3
    assert result.feature_consumptions == (FeatureConsumption("export", 2),)
    assert result.variables == (("seat", "7"),)


def test_read_request_file_reads_node_activation() -> None:
    result = read_request_file(read_vector("node_activate_key.req"))
    assert (result.kind, result.shape, result.product) == ("activation", "node", "TP")
    assert result.license_key == "FUH3-4E7A-LZJL-7JTP"
    assert result.hardware_id == "node-hwid-7f3a9c"
    assert result.api_key == API_KEY
    assert result.request_id == "2f068090-a4b1-46f1-9248-edd6e9427247"
    assert result.request_date == "Tue Nov 24 2026 15:58:26 GMT+0000"
    assert result.device == DeviceInfo(app_name="NodeSample", app_ver="2.0.1", sdk_ver="1.4.17")


def test_read_request_file_reads_flat_activation() -> None:
    result = read_request_file(read_vector("flat_v1_activate_key.req"))
    assert (result.kind, result.shape, result.product) == ("activation", "flat", "TP")
    assert result.license_key == "FUH3-4E7A-LZJL-7JTP"
    assert result.hardware_id.startswith("A53F-0CBC-15FC")
    assert result.api_key == API_KEY
    assert result.request_id == "8cbbd568-98f5-4f3b-b7bb-878785343bef"
    assert result.request_date == "Tue, 24 Nov 2026 15:59:26 GMT"


def test_read_request_file_reads_flat_device_info_from_documented_names() -> None:
    result = read_request_file(read_vector("flat_v1_activate_key.req"))
    assert result.device == DeviceInfo(
        app_ver="LicenseSpringSample1.2.0.0",
        sdk_ver="4.3.1",
        os_ver="Microsoft Windows NT 6.2.9200.0",
        hostname="ddd.aaaa.com",
        ip="10.10.103.157",
    )


@pytest.mark.parametrize("name", VECTORS)
def test_read_request_file_text_is_vector_without_trailing_newline(name: str) -> None:
    content = read_vector(name)
    assert read_request_file(content.encode()).text == content.rstrip("\n")


@pytest.mark.parametrize("name", [name for name in VECTORS if "_activate_" in name])
def test_read_request_file_activations_carry_no_usage(name: str) -> None:
    result = read_request_file(read_vector(name))
    assert result.consumptions is None
    assert (result.feature_consumptions, result.variables) == ((), ())


# Tolerated variants of the same file


def wrap_lines(text: str, width: int, newline: str) -> str:
    return newline.join(text[start : start + width] for start in range(0, len(text), width))


VARIANTS: dict[str, Callable[[str], bytes | str]] = {
    "bytes": lambda text: text.encode(),
    "pasted_str": lambda text: text,
    "surrounding_whitespace": lambda text: f"\n\n  \t{text.strip()}  \n\n".encode(),
    "crlf": lambda text: text.strip().encode() + b"\r\n\r\n",
    "bom_bytes": lambda text: b"\xef\xbb\xbf" + text.encode(),
    "bom_str": lambda text: "\ufeff" + text,
    "wrapped_lf": lambda text: wrap_lines(text.strip(), 76, "\n").encode(),
    "wrapped_crlf": lambda text: wrap_lines(text.strip(), 64, "\r\n").encode() + b"\r\n",
    "wrapped_pasted_with_indent": lambda text: "    " + wrap_lines(text.strip(), 60, "\n    "),
}


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", VECTORS)
def test_read_request_file_variant_reads_the_same(name: str, variant: str) -> None:
    content = read_vector(name)
    assert read_request_file(VARIANTS[variant](content)) == read_request_file(content.encode())


@pytest.mark.parametrize("name", VECTORS)
def test_read_request_file_tolerates_missing_padding(name: str) -> None:
    content = read_vector(name).strip()
    result = read_request_file(content.rstrip("="))
    assert dataclasses.replace(result, text=content) == read_request_file(content)


# Shapes and field mapping


@pytest.mark.parametrize("shape", ["flat", "python", "node"])
def test_read_request_file_detects_shape(shape: str) -> None:
    assert read_request_file(make_request_file(shape=shape)).shape == shape


def test_read_request_file_wrapped_without_inner_signature_is_node() -> None:
    document = {"request": flat_fields(signature=None), "signature": "b3V0ZXI="}
    assert read_request_file(encode(document)).shape == "node"


def test_read_request_file_reads_bundle_code() -> None:
    result = read_request_file(make_request_file(bundle_code="BNDL"))
    assert result.bundle_code == "BNDL"


def test_read_request_file_reads_client_id_instead_of_api_key() -> None:
    result = read_request_file(encode(flat_fields(api_key=None, client_id="oauth-client")))
    assert (result.api_key, result.client_id, result.credential_id) == (
        "",
        "oauth-client",
        "oauth-client",
    )


def test_read_request_file_prefers_sdk_device_names_over_documented_ones() -> None:
    fields = flat_fields(hostname="sdk", os_hostname="doc", ip="1.1.1.1", ip_local="10.0.0.1")
    device = read_request_file(encode(fields)).device
    assert (device.hostname, device.ip) == ("sdk", "1.1.1.1")


def test_read_request_file_stringifies_variable_values() -> None:
    variables = {"seat": 7, "ratio": 1.5, "trial": True, "name": "lab"}
    result = read_request_file(encode(flat_fields(variables=variables)))
    assert result.variables == (("seat", "7"), ("ratio", "1.5"), ("trial", "true"), ("name", "lab"))


def test_read_request_file_skips_bad_feature_consumptions() -> None:
    features = [
        {"code": "export", "local_consumption": 2},
        {"code": "print"},
        {"code": 5, "local_consumption": 1},
        {"code": "scan", "local_consumption": "3"},
        {"code": "flag", "local_consumption": True},
        "export",
        None,
    ]
    result = read_request_file(encode(flat_fields(product_features=features)))
    assert result.feature_consumptions == (FeatureConsumption("export", 2),)


def test_read_request_file_ignores_wrong_typed_optional_fields() -> None:
    wrong = {
        "bundle_code": 1,
        "request_id": [],
        "date": 20261124,
        "app_name": {},
        "sdk_ver": 4.0,
        "hostname": None,
        "ip": ["127.0.0.1"],
        "is_vm": "no",
        "consumptions": "3",
        "product_features": {"code": "export"},
        "variables": ["seat", "7"],
    }
    result = read_request_file(encode(flat_fields(**wrong)))
    assert result == RequestFile(
        kind="activation",
        shape="flat",
        product="TP",
        hardware_id="test-hwid-0001",
        license_key="FUH3-4E7A-LZJL-7JTP",
        api_key=API_KEY,
        text=result.text,
    )


def test_read_request_file_skips_variables_that_are_not_scalars() -> None:
    variables = {"seat": "7", "nested": {"a": 1}, "list": [1], "none": None}
    result = read_request_file(encode(flat_fields(variables=variables)))
    assert result.variables == (("seat", "7"),)


def test_read_request_file_treats_boolean_consumptions_as_absent() -> None:
    result = read_request_file(encode(flat_fields(request="deactivation", consumptions=True)))
    assert result.consumptions is None


# Failures

LICENSE_FILE = {
    "id": 1,
    "license_key": "FUH3-4E7A-LZJL-7JTP",
    "license_type": "perpetual",
    "product_details": {"product_id": 1, "short_code": "TP"},
    "license_signature": "c2ln",
}
FAILURES: dict[str, tuple[str, bytes | str]] = {
    "empty_bytes": ("empty", b""),
    "empty_str": ("empty", ""),
    "only_whitespace": ("empty", " \r\n\t\n "),
    "only_bom": ("empty", b"\xef\xbb\xbf\r\n"),
    "too_large_bytes": ("too_large", b"A" * (MAX_FILE_BYTES + 1)),
    "too_large_str": ("too_large", "A" * (MAX_FILE_BYTES + 1)),
    "too_large_counted_in_bytes": ("too_large", "é" * (MAX_FILE_BYTES // 2 + 1)),
    "too_large_whitespace": ("too_large", b" " * (MAX_FILE_BYTES + 1)),
    "too_large_binary": ("too_large", b"\xff" * (MAX_FILE_BYTES + 1)),
    "not_base64_punctuation": ("not_base64", "this is not a request file!"),
    "not_base64_binary": ("not_base64", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"),
    "not_base64_non_ascii": ("not_base64", "cGF0w6k=é"),
    "not_base64_bad_length": ("not_base64", "abcde"),
    "not_base64_inner_padding": ("not_base64", "ab=cdefg"),
    "not_base64_only_padding": ("not_base64", "===="),
    "not_json_text": ("not_json", base64.b64encode(b"hello, world").decode()),
    "not_json_binary": ("not_json", base64.b64encode(b"\xff\xfe\x00\x01").decode()),
    "not_json_truncated": ("not_json", encode(flat_fields())[:40]),
    "not_json_deeply_nested": ("not_json", base64.b64encode(b"[" * 40000).decode()),
    "not_object_list": ("not_object", encode([1, 2])),
    "not_object_string": ("not_object", encode("activation")),
    "not_object_null": ("not_object", encode(None)),
    "license_file": ("license_file", encode(LICENSE_FILE)),
    "license_file_bundle": ("license_file", encode({"licenses": [], "bundle_signature_v2": "x"})),
    "looks_like_json_str": ("looks_like_json", json.dumps(flat_fields())),
    "looks_like_json_bytes": (
        "looks_like_json",
        b"\xef\xbb\xbf" + json.dumps(LICENSE_FILE).encode(),
    ),
    "missing_request": ("missing_request_type", encode(flat_fields(request=None))),
    "unknown_request": ("missing_request_type", make_request_file(kind="refresh")),
    "request_not_string": ("missing_request_type", encode(flat_fields(request=1))),
    "wrapped_missing_request": (
        "missing_request_type",
        encode({"request": flat_fields(request=None), "signature": "x"}),
    ),
    "missing_product": ("missing_product", encode(flat_fields(product=None))),
    "empty_product": ("missing_product", make_request_file(product="")),
    "product_not_string": ("missing_product", encode(flat_fields(product=["TP"]))),
    "missing_hardware_id": ("missing_hardware_id", encode(flat_fields(hardware_id=None))),
    "blank_hardware_id": ("missing_hardware_id", make_request_file(hardware_id="  ")),
    "hardware_id_not_string": ("missing_hardware_id", encode(flat_fields(hardware_id=42))),
    "missing_license": ("missing_license", make_request_file(license_key=None)),
    "license_key_not_string": ("missing_license", encode(flat_fields(license_key=123))),
    "missing_api_key": ("missing_api_key", make_request_file(api_key="")),
    "api_key_not_string": ("missing_api_key", encode(flat_fields(api_key={"k": 1}))),
}


@pytest.mark.parametrize("case", FAILURES)
def test_read_request_file_rejects_with_code(case: str) -> None:
    code, data = FAILURES[case]
    assert error_for(data).code == code


@pytest.mark.parametrize("case", FAILURES)
def test_read_request_file_error_message_is_plain_and_specific(case: str) -> None:
    error = error_for(FAILURES[case][1])
    assert error.message == str(error)
    assert error.message.endswith(".")
    assert len(error.message) > 30


def test_read_request_file_error_messages_differ_per_code() -> None:
    messages = {code: error_for(data).message for code, data in FAILURES.values()}
    assert len(set(messages.values())) == len(messages)


def test_read_request_file_error_never_echoes_file_content() -> None:
    text = encode(flat_fields(product=None, hostname="very-distinctive-host"))
    error = error_for(text)
    assert text not in str(error)
    assert "very-distinctive-host" not in repr(error)


# The end user's password


def test_read_request_file_password_absent_from_repr() -> None:
    assert PASSWORD not in repr(read_request_file(read_vector("py_activate_user.req")))


def test_read_request_file_password_absent_from_every_field_but_text() -> None:
    result = read_request_file(read_vector("py_activate_user.req"))
    copied = dataclasses.asdict(result)
    del copied["text"]
    assert PASSWORD not in repr(copied)


def test_read_request_file_text_still_carries_password_for_relay() -> None:
    result = read_request_file(read_vector("py_activate_user.req"))
    assert decode(result.text)["request"]["password"] == PASSWORD


@pytest.mark.parametrize(
    "data",
    [
        encode(user_fields_without("product")),
        encode(user_fields_without("hardware_id")),
        encode(user_fields_without("username")),
        encode(user_fields_without("api_key")),
        encode(user_fields_without("request")),
        encode({"request": user_fields_without("request"), "signature": "x"}),
        json.dumps(user_fields_without("product")),
        base64.b64encode(json.dumps(user_fields_without("product")).encode()[:-3]).decode(),
    ],
)
def test_read_request_file_password_absent_from_errors(data: str) -> None:
    error = error_for(data)
    assert PASSWORD not in f"{error!s} {error!r} {error.message} {error.args}"


# Generated input: whatever arrives, the only failure is a RequestFileError, and what is read
# can be stored, shown and relayed.

ERROR_CODES = {code for code, _ in FAILURES.values()}


def _check_read(data: bytes | str) -> None:
    try:
        request_file = read_request_file(data)
    except RequestFileError as error:
        assert error.code in ERROR_CODES
        return
    fields = [value for value in vars(request_file).values() if isinstance(value, str)]
    fields += [value for value in vars(request_file.device).values() if isinstance(value, str)]
    for value in fields:
        value.encode("utf-8")  # no lone surrogate, and no NUL: every database takes it
        assert "\x00" not in value
    assert request_file.kind in ("activation", "deactivation")


@settings(max_examples=settings.default.max_examples * 3)
@given(data=request_files())
def test_read_request_file_generated_bytes_raise_only_request_file_error(data: bytes) -> None:
    _check_read(data)


@settings(max_examples=settings.default.max_examples * 2)
@given(document=request_documents() | json_values, wrap=st.booleans())
def test_read_request_file_generated_documents_read_or_raise_request_file_error(
    document: object, wrap: bool
) -> None:
    text = encode(document)
    _check_read(text if wrap else text.encode())


@settings(max_examples=settings.default.max_examples)
@given(text=st.text(st.characters(codec=None, exclude_categories=()), max_size=200))
def test_read_request_file_generated_pasted_text_raises_only_request_file_error(
    text: str,
) -> None:
    _check_read(text)
