"""The sandbox License API's four offline endpoints, driven like the real one (sandbox/views.py,
sandbox/request_files.py, sandbox/activation.py)."""

from __future__ import annotations

import base64
import io
import json
from datetime import UTC, datetime, timedelta
from email.utils import formatdate

import pytest
from django.test import Client

from sandbox.models import Device, Feature, License, UsageSync
from sandbox.request_files import parse_request_date
from tests.factories import (
    API_KEY,
    SHARED_KEY,
    auth_headers,
    hmac_b64,
    make_request_file,
    post_file,
    read_vector,
)

KEY_HWID = "0035969ec53f6e7f0fb40f08cc9ed4783aa99c2000cf1ebe4187c10dd0d8370f"
# Every field the vendor's license schema marks required, and what the SDKs read.
LICENSE_FIELDS = {
    "id", "license_type", "is_trial", "license_active", "license_enabled", "is_expired",
    "validity_period", "start_date", "maintenance_period", "max_activations", "times_activated",
    "transfer_count", "allow_unlimited_activations", "is_floating", "is_floating_cloud",
    "floating_timeout", "floating_users", "prevent_vm", "allow_overages", "max_overages",
    "max_consumptions", "total_consumptions", "consumption_period", "reset_consumption",
    "allow_negative_consumptions", "grace_period", "allow_grace_period", "product_details",
    "product_features", "customer", "custom_fields", "metadata", "device_id", "request_id",
    "date", "license_signature", "license_signature_v2", "offline_signature",
}  # fmt: skip
PRODUCT_DETAILS_FIELDS = {
    "product_id", "product_name", "short_code", "authorization_method", "prevent_vm",
    "allow_overages", "max_overages", "floating_timeout", "trial_days", "metadata",
}  # fmt: skip


@pytest.mark.parametrize(
    "vector", ["py_activate_key.req", "node_activate_key.req", "flat_v1_activate_key.req"]
)
def test_activate_offline_answers_each_key_vector_with_a_complete_license(
    client: Client, demo: None, vector: str
) -> None:
    response = post_file(client, "activate_offline", read_vector(vector))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body.keys() >= LICENSE_FIELDS
    assert body["product_details"].keys() >= PRODUCT_DETAILS_FIELDS
    assert body["license_key"] == "FUH3-4E7A-LZJL-7JTP"
    assert body["product_details"]["short_code"] == "TP"
    assert body["times_activated"] == 1
    assert {feature["code"] for feature in body["product_features"]} == {"export", "pro"}
    assert body["customer"]["email"] == "demo@example.com"


def test_activate_offline_echoes_the_request_id(client: Client, demo: None) -> None:
    response = post_file(client, "activate_offline", read_vector("py_activate_key.req"))

    assert response.json()["request_id"] == "c80383c7-8a4d-42c9-9e2f-7b1c9b076189"


def test_activate_offline_lets_all_three_key_vectors_take_a_seat(
    client: Client, demo: None
) -> None:
    for vector in ("py_activate_key.req", "node_activate_key.req", "flat_v1_activate_key.req"):
        response = post_file(client, "activate_offline", read_vector(vector))

    assert response.json()["times_activated"] == 3
    assert (
        Device.objects.filter(license__license_key="FUH3-4E7A-LZJL-7JTP", active=True).count() == 3
    )


def test_activate_offline_answers_the_user_vector(client: Client, demo: None) -> None:
    response = post_file(client, "activate_offline", read_vector("py_activate_user.req"))

    assert response.status_code == 200
    body = response.json()
    assert body.keys() >= LICENSE_FIELDS
    assert "license_key" not in body
    assert body["user"]["email"] == "alice@example.com"
    assert body["validity_period"] == "2030-01-01T00:00:00.000Z"
    assert body["product_details"]["authorization_method"] == "user"
    assert "s3cret-Pa55" not in response.content.decode()


def test_activate_offline_keeps_device_info_from_the_file(client: Client, demo: None) -> None:
    post_file(client, "activate_offline", read_vector("py_activate_key.req"))

    device = Device.objects.get(hardware_id=KEY_HWID, license__product__short_code="TP")
    assert (device.hostname, device.os_ver, device.mac_address) == (
        "lab-pc-01",
        "Linux 6.1",
        "02:FC:00:00:00:01",
    )


def test_activate_offline_same_device_again_takes_no_extra_seat(client: Client, demo: None) -> None:
    first = post_file(client, "activate_offline", read_vector("py_activate_key.req"))
    again = post_file(client, "activate_offline", read_vector("py_activate_key.req"))

    assert again.status_code == 200
    assert again.json()["times_activated"] == first.json()["times_activated"] == 1
    assert again.json()["device_id"] == first.json()["device_id"]


def test_activate_offline_refuses_a_new_device_past_the_limit(client: Client, demo: None) -> None:
    key = "LIMT-0000-0000-0001"
    post_file(client, "activate_offline", make_request_file(license_key=key, hardware_id="hw-1"))

    response = post_file(
        client, "activate_offline", make_request_file(license_key=key, hardware_id="hw-2")
    )

    assert response.status_code == 400
    assert response.json()["code"] == "license_activated_max_times"


def test_deactivate_offline_frees_the_seat_and_keeps_the_usage(client: Client, demo: None) -> None:
    post_file(client, "activate_offline", read_vector("py_activate_key.req"))

    response = post_file(
        client, "deactivate_offline", read_vector("py_deactivate_key_consumption.req")
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == "license_deactivated"
    device = Device.objects.get(hardware_id=KEY_HWID, license__license_key="FUH3-4E7A-LZJL-7JTP")
    assert not device.active
    assert device.variables == {"seat": "7"}
    sync = UsageSync.objects.get()
    assert sync.consumptions == 3
    assert sync.feature_consumptions == [{"code": "export", "local_consumption": 2}]
    assert sync.variables == {"seat": "7"}
    assert License.objects.get(license_key="FUH3-4E7A-LZJL-7JTP").total_consumptions == 3
    assert Feature.objects.get(code="export").total_consumptions == 2


def test_deactivate_offline_lets_another_device_take_the_freed_seat(
    client: Client, demo: None
) -> None:
    key = "LIMT-0000-0000-0001"
    post_file(client, "activate_offline", make_request_file(license_key=key, hardware_id="hw-1"))
    post_file(
        client,
        "deactivate_offline",
        make_request_file(kind="deactivation", license_key=key, hardware_id="hw-1"),
    )

    response = post_file(
        client, "activate_offline", make_request_file(license_key=key, hardware_id="hw-2")
    )

    assert response.status_code == 200
    assert response.json()["times_activated"] == 1


def test_deactivate_offline_refuses_a_device_that_is_not_active(client: Client, demo: None) -> None:
    response = post_file(
        client, "deactivate_offline", read_vector("py_deactivate_key_consumption.req")
    )

    assert response.status_code == 400
    assert response.json()["code"] == "device_not_found"


@pytest.mark.parametrize("password", ["wrong-password", None])
def test_activate_offline_refuses_a_user_without_the_right_password(
    client: Client, demo: None, password: str | None
) -> None:
    text = make_request_file(
        product="TPU", username="alice@example.com", password=password, license_key=None
    )

    response = post_file(client, "activate_offline", text)

    assert response.status_code == 400
    assert response.json()["code"] == "license_not_found"


def test_activate_bundle_offline_answers_the_bundle_then_each_product(
    client: Client, demo: None
) -> None:
    text = make_request_file(product="SUITE", license_key="SUIT-0000-0000-0001")

    response = post_file(client, "activate_bundle_offline", text)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"licenses", "bundle_signature_v2"}
    # The Python SDK's BundleManager refuses the file unless the bundle's own license is first.
    assert [item["product_details"]["short_code"] for item in body["licenses"]] == [
        "SUITE",
        "TP",
        "TPU",
    ]
    assert body["licenses"][0]["product_details"]["product_name"] == "Suite"
    for item in body["licenses"]:
        assert item.keys() >= LICENSE_FIELDS
        assert item["request_id"] == "00000000-0000-4000-8000-000000000001"
        assert item["license_key"] == "SUIT-0000-0000-0001"


def test_activate_bundle_offline_counts_seats_per_bundle(client: Client, demo: None) -> None:
    key = "SUIT-0000-0000-0001"
    post_file(
        client,
        "activate_bundle_offline",
        make_request_file(product="SUITE", license_key=key, hardware_id="hw-1"),
    )

    response = post_file(
        client,
        "activate_bundle_offline",
        make_request_file(product="SUITE", license_key=key, hardware_id="hw-2"),
    )

    assert response.json()["code"] == "license_activated_max_times"


def test_deactivate_bundle_offline_frees_every_product_seat(client: Client, demo: None) -> None:
    fields = {"product": "SUITE", "license_key": "SUIT-0000-0000-0001"}
    post_file(client, "activate_bundle_offline", make_request_file(**fields))

    response = post_file(
        client, "deactivate_bundle_offline", make_request_file(kind="deactivation", **fields)
    )

    assert response.json() == "license_deactivated"
    assert not Device.objects.filter(active=True).exists()


def test_activate_bundle_offline_takes_the_freed_seat_on_another_computer(
    client: Client, demo: None
) -> None:
    fields = {"product": "SUITE", "license_key": "SUIT-0000-0000-0001"}
    post_file(client, "activate_bundle_offline", make_request_file(hardware_id="hw-1", **fields))
    post_file(
        client,
        "deactivate_bundle_offline",
        make_request_file(kind="deactivation", hardware_id="hw-1", **fields),
    )

    response = post_file(
        client, "activate_bundle_offline", make_request_file(hardware_id="hw-2", **fields)
    )

    assert response.status_code == 200
    assert [item["times_activated"] for item in response.json()["licenses"]] == [1, 1, 1]
    assert [item["hardware_id"] for item in response.json()["licenses"]] == ["hw-2"] * 3


def test_activate_offline_calls_a_bundle_an_unknown_product(client: Client, demo: None) -> None:
    text = make_request_file(product="SUITE", license_key="SUIT-0000-0000-0001")

    response = post_file(client, "activate_offline", text)

    assert response.status_code == 400
    assert response.json()["code"] == "unknown_product"


def test_activate_bundle_offline_refuses_a_single_product(client: Client, demo: None) -> None:
    response = post_file(client, "activate_bundle_offline", read_vector("py_activate_key.req"))

    assert response.status_code == 400
    assert response.json()["code"] == "product_not_bundle"


def _wrong_header_key() -> dict[str, str]:
    return auth_headers(shared_key="not-the-shared-key")


def _file_signed_with(shared_key: str) -> str:
    return make_request_file(shared_key=shared_key)


ERROR_CASES = {
    "missing_headers": ({}, read_vector("py_activate_key.req"), 400),
    "invalid_api_key header": (auth_headers(api_key="unknown"), make_request_file(), 400),
    "signature_mismatch header": (_wrong_header_key(), make_request_file(), 401),
    "signature_mismatch file": (None, _file_signed_with("another-shared-key"), 400),
    "invalid_api_key file": (None, make_request_file(api_key="unknown-key"), 400),
    "missing_content": (None, "  \n", 400),
    "invalid_json not base64": (None, "this is not base64!", 400),
    "invalid_json not json": (None, base64.b64encode(b"not json").decode(), 400),
    "validation_error not an object": (None, base64.b64encode(b"[1, 2]").decode(), 400),
    "validation_error wrong kind": (None, make_request_file(kind="deactivation"), 400),
    "validation_error bad date": (None, make_request_file(date="yesterday-ish"), 400),
    "missing_parameters": (None, make_request_file(hardware_id=""), 400),
    "license_not_found": (None, make_request_file(license_key="NONE-0000-0000-0000"), 400),
    "unknown_product": (None, make_request_file(product="NOPE"), 400),
    "license_not_enabled": (None, make_request_file(license_key="DISA-BLED-0000-0001"), 400),
    "license_not_active": (None, make_request_file(license_key="EXPD-0000-0000-0001"), 400),
    "trial_expired": (None, make_request_file(license_key="TRIA-L000-0000-0001"), 400),
}


@pytest.mark.parametrize("case", ERROR_CASES)
def test_activate_offline_answers_each_error_as_the_api_does(
    client: Client, demo: None, case: str
) -> None:
    headers, text, status = ERROR_CASES[case]

    response = post_file(client, "activate_offline", text, headers)

    assert response.status_code == status
    assert response.json()["status"] == status
    assert response.json()["code"] == case.split()[0]
    assert response.json()["message"]


def test_activate_offline_says_which_signature_failed(client: Client, demo: None) -> None:
    header = post_file(client, "activate_offline", make_request_file(), _wrong_header_key())
    file = post_file(client, "activate_offline", _file_signed_with("another-shared-key"))

    assert "request file" not in header.json()["message"]
    assert "request file's signature does not match" in file.json()["message"]


def test_activate_offline_checks_the_node_outer_signature(client: Client, demo: None) -> None:
    document = json.loads(base64.b64decode(read_vector("node_activate_key.req")))
    document["request"]["hardware_id"] = "another-computer"
    text = base64.b64encode(json.dumps(document, separators=(",", ":")).encode()).decode()

    response = post_file(client, "activate_offline", text)

    assert response.json()["code"] == "signature_mismatch"


def test_activate_offline_accepts_an_outer_signature_in_python_form(
    client: Client, demo: None
) -> None:
    inner = {
        "request": "activation",
        "product": "TP",
        "hardware_id": "py-outer-only",
        "license_key": "FUH3-4E7A-LZJL-7JTP",
        "date": formatdate(usegmt=True),
        "request_id": "r-1",
        "schema_version": 2,
        "api_key": API_KEY,
    }
    document = {"request": inner, "signature": hmac_b64(SHARED_KEY, json.dumps(inner))}
    text = base64.b64encode(json.dumps(document).encode()).decode()

    response = post_file(client, "activate_offline", text)

    assert response.status_code == 200


def test_activate_offline_accepts_a_multipart_file(client: Client, demo: None) -> None:
    upload = io.BytesIO(read_vector("py_activate_key.req").encode())
    upload.name = "request.req"

    response = client.post("/sandbox/api/v4/activate_offline", {"file": upload}, **auth_headers())

    assert response.status_code == 200
    assert response.json()["license_key"] == "FUH3-4E7A-LZJL-7JTP"


def test_activate_offline_refuses_a_date_two_days_ahead(client: Client, demo: None) -> None:
    ahead = formatdate((datetime.now(UTC) + timedelta(days=2)).timestamp(), usegmt=True)

    response = post_file(client, "activate_offline", make_request_file(date=ahead))

    assert response.status_code == 400
    assert response.json() == {
        "status": 400,
        "code": "validation_error",
        "message": "request date is in the future",
    }


def test_activate_offline_accepts_an_old_date(client: Client, demo: None) -> None:
    text = make_request_file(date="Wed, 01 Jan 2020 10:00:00 GMT")

    response = post_file(client, "activate_offline", text)

    assert response.status_code == 200


def test_activate_offline_refuses_other_methods(client: Client, demo: None) -> None:
    response = client.get("/sandbox/api/v4/activate_offline")

    assert response.status_code == 405


@pytest.mark.parametrize(
    "text",
    [
        "Tue, 24 Nov 2026 15:57:45 GMT",
        "Tue Nov 24 2026 15:57:45 GMT+0000",
        "Tue Nov 24 2026 15:57:45 GMT+0000 (Coordinated Universal Time)",
        "2026-11-24T15:57:45Z",
    ],
)
def test_parse_request_date_reads_the_sdks_formats(text: str) -> None:
    assert parse_request_date(text) == datetime(2026, 11, 24, 15, 57, 45, tzinfo=UTC)


def test_parse_request_date_refuses_nonsense() -> None:
    assert parse_request_date("next tuesday") is None
