"""Reading a license file uploaded by mistake: what it unlocks, told without sending it."""

from __future__ import annotations

import json

import pytest

from portal.licensespring.request_files import RequestFileError, read_request_file
from tests.factories import BUNDLE_BODY, LICENSE_BODY, LICENSE_OBJECT, license_file_text


def _license_file_of(text: str):
    with pytest.raises(RequestFileError) as caught:
        read_request_file(text)
    assert caught.value.code == "license_file"
    return caught.value.license_file


def test_read_request_file_single_license_file_tells_what_it_unlocks():
    body = json.dumps({**LICENSE_OBJECT, "hardware_id": "hw-1"}).encode()

    license_file = _license_file_of(license_file_text(body))

    assert license_file.product_label == "Test Product"
    assert license_file.product_code == "TP"
    assert license_file.hardware_id == "hw-1"
    assert license_file.license_key == "FUH3-4E7A-LZJL-7JTP"
    assert license_file.valid_until == "2030-01-01T00:00:00Z"
    assert not license_file.is_bundle


def test_read_request_file_license_file_as_the_api_sends_it_is_recognised():
    # The License API copies `"request": "activation"` into the license object.
    body = json.dumps({**LICENSE_OBJECT, "request": "activation", "active": True}).encode()

    license_file = _license_file_of(license_file_text(body))

    assert license_file.product_label == "Test Product"


def test_read_request_file_bundle_license_file_names_the_bundle():
    license_file = _license_file_of(license_file_text(BUNDLE_BODY))

    assert license_file.product_label == "Studio Bundle"
    assert license_file.is_bundle
    assert license_file.product_count == 1


def test_read_request_file_user_license_file_names_the_user():
    fields = {key: value for key, value in LICENSE_OBJECT.items() if key != "license_key"}
    body = json.dumps({**fields, "user": {"email": "alice@example.com"}}).encode()

    license_file = _license_file_of(license_file_text(body))

    assert license_file.user_email == "alice@example.com"
    assert license_file.license_key == ""


def test_read_request_file_license_file_with_odd_fields_still_recognised():
    body = json.dumps({"license_signature": "x", "product_details": "no", "validity_period": 5})

    license_file = _license_file_of(license_file_text(body.encode()))

    assert (license_file.product_label, license_file.valid_until) == ("", "")


def test_read_request_file_license_file_message_says_so():
    with pytest.raises(RequestFileError) as caught:
        read_request_file(license_file_text(LICENSE_BODY))

    assert "license file" in caught.value.message
