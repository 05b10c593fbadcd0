"""Sample request files made on the sandbox page, as the Python SDK 4.0.0 writes them, and the
page's reset button (sandbox/sample_files.py, sandbox/forms.py, sandbox/views.py)."""

from __future__ import annotations

import base64
import json
from email.utils import parsedate_to_datetime

import pytest
from django.test import Client

from sandbox.models import Device, Feature, License, UsageSync
from sandbox.sample_files import Computer, Usage, build_request_file
from tests.factories import (
    API_KEY,
    CLIENT_ID,
    CLIENT_SECRET,
    SHARED_KEY,
    hmac_b64,
    post_file,
    read_vector,
)


def inner(text: str) -> dict:
    return json.loads(base64.b64decode(text))["request"]


def make_file(client: Client, identity: str, **fields: object):
    license = License.objects.get(bundle_license__isnull=True, **_identity(identity))
    data = {
        "license": license.pk,
        "computer_name": "lab-pc-7",
        "kind": "activation",
        "signed_with": "api_key",
        **fields,
    }
    return client.post("/sandbox/sample-file", data)


def _identity(identity: str) -> dict[str, str]:
    return {"user_email": identity} if "@" in identity else {"license_key": identity}


@pytest.mark.parametrize(
    "vector",
    [
        "py_activate_key.req",
        "py_activate_user.req",
        "py_deactivate_key_consumption.req",
        "py_oauth_activate_key.req",
    ],
)
def test_build_request_file_writes_each_python_sdk_vector_byte_for_byte(vector: str) -> None:
    written = read_vector(vector)
    fields = inner(written)
    oauth = "client_id" in fields
    computer = Computer(
        hardware_id=fields["hardware_id"],
        hostname=fields["hostname"],
        os_ver=fields["os_ver"],
        ip=fields["ip"],
        mac_address=fields["mac_address"],
        app_ver=fields.get("app_ver", ""),
    )
    usage = Usage(
        consumptions=fields.get("consumptions"),
        product_features=fields.get("product_features", []),
        variables=fields.get("variables", {}),
    )

    text = build_request_file(
        kind=fields["request"],
        product=fields["product"],
        computer=computer,
        api_key=CLIENT_ID if oauth else API_KEY,
        shared_key=CLIENT_SECRET if oauth else SHARED_KEY,
        client_field="client_id" if oauth else "api_key",
        now=parsedate_to_datetime(fields["date"]),
        license_key=fields.get("license_key", ""),
        username=fields.get("username", ""),
        password=fields.get("password", ""),
        usage=usage,
        request_id=fields["request_id"],
    )

    assert text == written


def test_sample_file_form_downloads_an_activation_the_sandbox_accepts(
    client: Client, demo: None
) -> None:
    response = make_file(client, "FUH3-4E7A-LZJL-7JTP")

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="ls_activation.req"'
    text = response.content.decode()
    assert text.endswith("\n") and text.count("\n") == 1
    expected_order = [
        name for name in inner(read_vector("py_activate_key.req")) if name != "app_ver"
    ]
    assert list(inner(text)) == expected_order
    activation = post_file(client, "activate_offline", text)
    assert activation.status_code == 200
    assert Device.objects.get(active=True).hostname == "lab-pc-7"


def test_sample_file_form_signs_with_the_sandbox_demo_credential(
    client: Client, demo: None, settings: object
) -> None:
    settings.LICENSE_SHARED_KEY = "a-tenant-shared-key-never-used-here"

    text = make_file(client, "FUH3-4E7A-LZJL-7JTP").content.decode()

    document = json.loads(base64.b64decode(text))
    assert document["request"]["api_key"] == API_KEY
    assert document["signature"] == hmac_b64(SHARED_KEY, json.dumps(document["request"]))


def test_sample_file_form_deactivation_with_the_same_name_frees_the_seat_and_syncs_usage(
    client: Client, demo: None
) -> None:
    post_file(client, "activate_offline", make_file(client, "FUH3-4E7A-LZJL-7JTP").content.decode())
    usage = {
        "consumptions": 3,
        "feature_code": "export",
        "feature_consumption": 2,
        "variable_name": "seat",
        "variable_value": "7",
    }

    response = make_file(client, "FUH3-4E7A-LZJL-7JTP", kind="deactivation", **usage)

    assert response["Content-Disposition"] == 'attachment; filename="ls_deactivation.req"'
    text = response.content.decode()
    assert list(inner(text)) == list(inner(read_vector("py_deactivate_key_consumption.req")))
    assert post_file(client, "deactivate_offline", text).json() == "license_deactivated"
    assert not Device.objects.filter(active=True).exists()
    assert UsageSync.objects.get().variables == {"seat": "7"}
    assert License.objects.get(license_key="FUH3-4E7A-LZJL-7JTP").total_consumptions == 3
    assert Feature.objects.get(code="export").total_consumptions == 2


def test_sample_file_form_fills_in_the_demo_users_password_from_the_seed(
    client: Client, demo: None
) -> None:
    text = make_file(client, "alice@example.com").content.decode()

    assert list(inner(text)) == list(inner(read_vector("py_activate_user.req")))
    assert post_file(client, "activate_offline", text).status_code == 200


def test_sample_file_form_uses_a_password_given_instead(client: Client, demo: None) -> None:
    text = make_file(client, "alice@example.com", password="not-hers").content.decode()

    assert inner(text)["password"] == "not-hers"
    assert post_file(client, "activate_offline", text).json()["code"] == "license_not_found"


def test_sample_file_form_makes_a_bundle_file_for_the_bundle_endpoint(
    client: Client, demo: None
) -> None:
    text = make_file(client, "SUIT-0000-0000-0001").content.decode()

    assert inner(text)["product"] == "SUITE"
    response = post_file(client, "activate_bundle_offline", text)
    codes = [item["product_details"]["short_code"] for item in response.json()["licenses"]]
    assert codes == ["SUITE", "TP", "TPU"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"computer_name": ""}, "This field is required."),
        ({"feature_code": "export"}, "Choose a feature and give its uses, or neither."),
        ({"variable_name": "seat"}, "Give the variable a name and a value, or neither."),
        ({"consumptions": -1}, "greater than or equal to 0"),
    ],
)
def test_sample_file_form_shows_what_to_fix_on_the_page(
    client: Client, demo: None, fields: dict, message: str
) -> None:
    response = make_file(client, "FUH3-4E7A-LZJL-7JTP", kind="deactivation", **fields)

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert message in response.content.decode()


def test_reset_asks_first_then_frees_every_seat_and_forgets_usage(
    client: Client, demo: None
) -> None:
    post_file(client, "activate_offline", read_vector("py_activate_key.req"))
    post_file(client, "deactivate_offline", read_vector("py_deactivate_key_consumption.req"))
    post_file(client, "activate_offline", read_vector("node_activate_key.req"))

    question = client.get("/sandbox/reset")
    answer = client.post("/sandbox/reset", follow=True)

    assert "Yes, reset the sandbox" in question.content.decode()
    assert Device.objects.filter(active=True).count() == 0
    assert answer.redirect_chain == [("/sandbox/", 302)]
    assert "every seat is free" in answer.content.decode()
    assert "No active device: every seat is free." in answer.content.decode()
    assert not UsageSync.objects.exists()
    assert License.objects.get(license_key="FUH3-4E7A-LZJL-7JTP").total_consumptions == 0
    assert Feature.objects.get(code="export").total_consumptions == 0


def test_reset_refuses_a_post_without_the_csrf_token(demo: None) -> None:
    post_file(Client(), "activate_offline", read_vector("py_activate_key.req"))

    response = Client(enforce_csrf_checks=True).post("/sandbox/reset")

    assert response.status_code == 403
    assert Device.objects.filter(active=True).count() == 1


def test_sample_file_form_signs_for_software_set_up_with_oauth(client: Client, demo: None) -> None:
    response = make_file(client, "FUH3-4E7A-LZJL-7JTP", signed_with="oauth")
    fields = inner(response.content.decode())

    assert response.status_code == 200
    assert fields["client_id"] == CLIENT_ID
    assert "api_key" not in fields
