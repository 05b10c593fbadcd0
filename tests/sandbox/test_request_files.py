"""What the sandbox accepts as a request file: every signature the SDKs write, and only sound
text (sandbox/request_files.py), seen through its offline endpoints."""

from __future__ import annotations

import base64
import json
from email.utils import formatdate

import pytest
from django.test import Client

from tests.factories import (
    API_KEY,
    SHARED_KEY,
    hmac_b64,
    inner_signature,
    make_request_file,
    post_file,
    read_vector,
)


def decode(text: str) -> dict:
    return json.loads(base64.b64decode(text))


def encode(document: dict) -> str:
    return base64.b64encode(json.dumps(document).encode()).decode() + "\n"


def python_deactivation(hostname: str) -> str:
    """A deactivation as the Python SDK 4.0.0 writes one: its outer signature covers the
    inner JSON with raw UTF-8 (ensure_ascii=False), unlike its activations."""
    fields = {
        "request": "deactivation",
        "product": "TP",
        "hardware_id": "0035969ec53f6e7f0fb40f08cc9ed4783aa99c2000cf1ebe4187c10dd0d8370f",
        "license_key": "FUH3-4E7A-LZJL-7JTP",
        "os_ver": "Linux",
        "hostname": hostname,
        "ip": "127.0.0.1",
        "mac_address": "02:FC:00:00:00:01",
        "sdk_ver": "PythonSDK 4.0.0",
        "date": formatdate(usegmt=True),
        "request_id": "3d4f0c57-8f0e-4f43-9a56-1f1f7d0e2b11",
        "schema_version": 2,
    }
    fields["signature"] = inner_signature({**fields, "api_key": API_KEY})
    fields["api_key"] = API_KEY
    outer = hmac_b64(SHARED_KEY, json.dumps(fields, ensure_ascii=False))
    text = json.dumps({"request": fields, "signature": outer}, ensure_ascii=False)
    return base64.b64encode(text.encode()).decode() + "\n"


def test_activate_offline_refuses_a_python_file_with_a_changed_outer_signature(
    client: Client, demo: None
) -> None:
    document = decode(read_vector("py_activate_key.req"))
    document["signature"] = hmac_b64("another-shared-key", json.dumps(document["request"]))

    response = post_file(client, "activate_offline", encode(document))

    assert response.status_code == 400
    assert response.json()["code"] == "signature_mismatch"


def test_deactivate_offline_refuses_usage_changed_after_the_python_sdk_signed(
    client: Client, demo: None
) -> None:
    post_file(client, "activate_offline", read_vector("py_activate_key.req"))
    document = decode(read_vector("py_deactivate_key_consumption.req"))
    # The inner signature covers date, key, hardware id and api key only: the outer one is
    # what protects the usage counts.
    document["request"]["consumptions"] = -300

    response = post_file(client, "deactivate_offline", encode(document))

    assert response.status_code == 400
    assert response.json()["code"] == "signature_mismatch"


@pytest.mark.parametrize(
    "vector", ["py_activate_key.req", "node_activate_key.req", "flat_v1_activate_key.req"]
)
def test_activate_offline_accepts_each_sdk_shape_signed_as_written(
    client: Client, demo: None, vector: str
) -> None:
    response = post_file(client, "activate_offline", read_vector(vector))

    assert response.status_code == 200


def test_deactivate_offline_accepts_a_python_file_with_non_ascii_text(
    client: Client, demo: None
) -> None:
    post_file(client, "activate_offline", read_vector("py_activate_key.req"))

    response = post_file(client, "deactivate_offline", python_deactivation("Büro-Rechner"))

    assert response.status_code == 200
    assert response.json() == "license_deactivated"


def test_activate_offline_refuses_a_flat_file_with_a_changed_inner_signature(
    client: Client, demo: None
) -> None:
    document = decode(read_vector("flat_v1_activate_key.req"))
    document["signature"] = hmac_b64(SHARED_KEY, "something else")

    response = post_file(client, "activate_offline", encode(document))

    assert response.json()["code"] == "signature_mismatch"


LONE_SURROGATE = "\ud800"


def _file_with(shape: str, **changes: object) -> str:
    """A well-signed file, then changed: bad text must be refused before any signature."""
    document = decode(make_request_file(shape=shape))
    target = document if shape == "flat" else document["request"]
    target.update(changes)
    # json.dumps escapes a lone surrogate as \\ud800, which json.loads gives back as it was.
    return base64.b64encode(json.dumps(document).encode()).decode()


BAD_TEXT = {
    "surrogate in username": {"license_key": None, "username": LONE_SURROGATE},
    "surrogate in password": {"password": "pw" + LONE_SURROGATE},
    "surrogate in product": {"product": LONE_SURROGATE},
    "surrogate in hostname": {"hostname": LONE_SURROGATE},
    "surrogate in a variable name": {"variables": {LONE_SURROGATE: "1"}},
    "surrogate in a feature code": {
        "product_features": [{"code": LONE_SURROGATE, "local_consumption": 1}]
    },
    "NUL in license_key": {"license_key": "FUH3\x00-4E7A"},
    "consumptions beyond any counter": {"consumptions": 10**30},
    "hardware id longer than any computer's": {"hardware_id": "h" * 5000},
}


@pytest.mark.parametrize("shape", ["python", "node", "flat"])
@pytest.mark.parametrize("case", BAD_TEXT)
def test_activate_offline_answers_bad_text_with_a_validation_error(
    client: Client, demo: None, case: str, shape: str
) -> None:
    response = post_file(client, "activate_offline", _file_with(shape, **BAD_TEXT[case]))

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "validation_error"
    assert response.json()["message"]


def test_deactivate_offline_answers_a_surrogate_username_with_a_validation_error(
    client: Client, demo: None
) -> None:
    text = _file_with("python", request="deactivation", username=LONE_SURROGATE, license_key=None)

    response = post_file(client, "deactivate_offline", text)

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"


def test_activate_offline_answers_deeply_nested_json_with_a_client_error(
    client: Client, demo: None
) -> None:
    text = base64.b64encode(b'{"request": ' + b"[" * 20_000 + b"]" * 20_000 + b"}").decode()

    response = post_file(client, "activate_offline", text)

    assert response.status_code == 400
    assert response.json()["code"] in {"invalid_json", "validation_error"}
