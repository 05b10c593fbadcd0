"""The portal and the built-in sandbox talking over real HTTP (a live server), as a user sees it.

The browser side is Django's test client on the portal's pages; the portal's relay goes out
through its real httpx client to the sandbox served by the live server.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from portal.relay import upstream as upstream_client
from portal.relay.models import LearnedBundle
from sandbox.models import Device, UsageSync
from tests.factories import (
    API_KEY,
    SHARED_KEY,
    hmac_b64,
    make_request_file,
    read_vector,
    seed_demo,
    signed_v2_text,
    verify,
)

pytestmark = pytest.mark.django_db(transaction=True)

KEY_HWID = "0035969ec53f6e7f0fb40f08cc9ed4783aa99c2000cf1ebe4187c10dd0d8370f"


@pytest.fixture
def sandbox(live_server, settings, tmp_path: Path) -> str:
    """The portal's default tenant pointed at the sandbox over HTTP; returns the sandbox URL."""
    seed_demo(settings, tmp_path / "sandbox_key.pem")
    settings.LICENSE_API_URL = f"{live_server.url}/sandbox/api/v4"
    settings.LICENSE_API_BUNDLE_PRODUCTS = []
    upstream_client.set_client(None)
    yield f"{live_server.url}/sandbox"
    upstream_client.set_client(None)


def upload(client: Client, text: str, name: str = "ls_activation.req"):
    """Post a request file like the no-JavaScript form; follow to the result page."""
    file = SimpleUploadedFile(name, text.encode())
    return client.post("/", {"file": file}, follow=True)


def download(client: Client, page) -> bytes:
    """The license file behind the result page's download button, decoded."""
    response = client.get(page.redirect_chain[-1][0] + "ls_activation.lic")
    assert response["Content-Disposition"] == 'attachment; filename="ls_activation.lic"'
    return base64.b64decode(response.content)


def public_key(client: Client):
    return serialization.load_pem_public_key(client.get("/sandbox/public-key.pem").content)


@pytest.mark.parametrize(
    ("vector", "shown"),
    [
        ("py_activate_key.req", "FUH3-4E7A-LZJL-7JTP"),
        ("node_activate_key.req", "FUH3-4E7A-LZJL-7JTP"),
        ("flat_v1_activate_key.req", "FUH3-4E7A-LZJL-7JTP"),
        ("py_activate_user.req", "alice@example.com"),
    ],
)
def test_each_activation_vector_gives_a_license_that_verifies(client, sandbox, vector, shown):
    page = upload(client, read_vector(vector))

    html = page.content.decode()
    assert page.status_code == 200
    assert "Your license file is ready" in html
    assert shown in html
    license_file = download(client, page)
    verify(
        public_key(client),
        json.loads(license_file)["license_signature_v2"],
        signed_v2_text(license_file),
    )


def test_license_file_signatures_verify_as_the_sdk_checks_them(client, sandbox):
    license_file = download(client, upload(client, read_vector("py_activate_key.req")))

    license_object = json.loads(license_file)
    key = public_key(client)
    verify(
        key,
        license_object["license_signature"],
        f"{KEY_HWID}#FUH3-4E7A-LZJL-7JTP#".lower().encode(),
    )
    verify(key, license_object["license_signature_v2"], signed_v2_text(license_file))
    who = f"FUH3-4E7A-LZJL-7JTP\n{KEY_HWID}\n{API_KEY}"
    expected = hmac_b64(SHARED_KEY, f"licenseSpring\ndate: {license_object['date']}\n{who}")
    assert license_object["offline_signature"] == expected


def test_activation_result_shows_what_the_user_got(client, sandbox):
    html = upload(client, read_vector("py_activate_key.req")).content.decode()

    assert "Test Product" in html
    assert "Perpetual" in html
    assert "Does not expire" in html
    assert "1 of 3 in use" in html
    assert "Export" in html


def test_same_device_again_takes_no_extra_seat(client, sandbox):
    upload(client, read_vector("py_activate_key.req"))
    again = make_request_file(hardware_id=KEY_HWID, request_id="another-request")

    html = upload(client, again).content.decode()

    assert "1 of 3 in use" in html


def test_activation_limit_is_explained_on_the_page(client, sandbox):
    upload(client, make_request_file(license_key="LIMT-0000-0000-0001", hardware_id="pc-1"))

    page = upload(client, make_request_file(license_key="LIMT-0000-0000-0001", hardware_id="pc-2"))

    assert page.status_code == 400
    assert "maximum number of computers" in page.content.decode()


def test_deactivation_frees_the_seat_and_syncs_usage(client, sandbox):
    upload(client, read_vector("py_activate_key.req"))

    page = upload(client, read_vector("py_deactivate_key_consumption.req"))

    html = page.content.decode()
    assert "The computer is deactivated" in html
    assert "3 uses of the license" in html
    device = Device.objects.get(hardware_id=KEY_HWID)
    assert not device.active
    usage = UsageSync.objects.get()
    assert usage.consumptions == 3
    assert "seat" in json.dumps(usage.variables)
    assert KEY_HWID[:12] not in client.get("/sandbox/").content.decode()


def test_activating_again_after_deactivating_takes_the_seat_again(client, sandbox):
    activation = read_vector("py_activate_key.req")
    upload(client, activation)
    upload(client, read_vector("py_deactivate_key_consumption.req"))

    page = upload(client, activation)

    assert "1 of 3 in use" in page.content.decode()
    assert Device.objects.get(hardware_id=KEY_HWID).active
    assert json.loads(download(client, page))["times_activated"] == 1


def test_the_same_file_again_shows_the_name_it_was_just_uploaded_under(client, sandbox):
    text = read_vector("py_activate_key.req")
    first = upload(client, text, name="monday.req")

    again = upload(client, text, name="tuesday.req")
    panel = client.post(
        "/", {"file": SimpleUploadedFile("wednesday.req", text.encode())}, HTTP_HX_REQUEST="true"
    )

    assert again.redirect_chain[-1][0] == first.redirect_chain[-1][0]  # the result reused
    assert "tuesday.req" in again.content.decode()
    assert "monday.req" not in again.content.decode()
    assert "wednesday.req" in panel.content.decode()
    assert "tuesday.req" not in panel.content.decode()


def test_user_login_with_wrong_password_is_refused(client, sandbox):
    wrong = make_request_file(product="TPU", username="alice@example.com", password="nope")

    page = upload(client, wrong)

    assert page.status_code == 400
    assert "No matching license was found" in page.content.decode()
    assert "nope" not in page.content.decode()


def test_bundle_is_learnt_and_shows_each_product_with_one_file(client, sandbox):
    page = upload(client, make_request_file(product="SUITE", license_key="SUIT-0000-0000-0001"))

    html = page.content.decode()
    assert page.status_code == 200
    assert "Bundle: Suite" in html
    assert "Products in this bundle" in html
    assert html.index("Suite") < html.index("Test Product") < html.index("Team Product")
    assert html.count("Download ls_activation.lic") == 1
    license_file = json.loads(download(client, page))
    licenses = license_file["licenses"]
    assert [item["product_details"]["short_code"] for item in licenses] == ["SUITE", "TP", "TPU"]
    signed = json.dumps(licenses, separators=(",", ":"), ensure_ascii=False).encode()
    verify(public_key(client), license_file["bundle_signature_v2"], signed)
    assert LearnedBundle.objects.filter(product="SUITE").exists()


def test_api_activates_and_deactivates_against_the_sandbox(client, sandbox):
    activation = client.post(
        "/api/v1/requests", data=read_vector("node_activate_key.req"), content_type="text/plain"
    )
    deactivation = client.post(
        "/api/v1/requests",
        data=make_request_file(kind="deactivation", hardware_id="node-hwid-7f3a9c"),
        content_type="text/plain",
    )

    assert json.loads(base64.b64decode(activation.content))["license_key"] == "FUH3-4E7A-LZJL-7JTP"
    assert deactivation.json()["result"] == "deactivated"


def _future_file() -> str:
    return make_request_file(date="Tue, 24 Nov 2099 10:00:00 GMT")


ERROR_CASES = {
    "license_not_found": (
        make_request_file(license_key="NOPE-NOPE-NOPE-NOPE"),
        "No matching license",
    ),
    "unknown_product": (make_request_file(product="NOTHING"), "does not know the product"),
    "product_not_bundle": (make_request_file(bundle_code="TP"), "is not a bundle"),
    "license_not_enabled": (make_request_file(license_key="DISA-BLED-0000-0001"), "disabled"),
    "license_not_active": (make_request_file(license_key="EXPD-0000-0000-0001"), "not active"),
    "trial_expired": (make_request_file(license_key="TRIA-L000-0000-0001"), "trial period"),
    "device_not_found": (
        make_request_file(kind="deactivation", hardware_id="never"),
        "nothing to deactivate",
    ),
    "signature_mismatch": (
        make_request_file(shared_key="not-the-key"),
        "signature does not match",
    ),
    "validation_error": (_future_file(), "could not read this request file"),
}


@pytest.mark.parametrize("code", sorted(ERROR_CASES))
def test_each_error_is_explained_on_the_page(client, sandbox, code):
    text, words = ERROR_CASES[code]

    page = upload(client, text)

    html = page.content.decode()
    assert page.status_code == 400
    assert words in html
    assert f"<code>{code}</code>" in html
    assert "ls_activation.req" in html


def test_missing_parameters_is_explained_on_the_page(client, sandbox):
    undated = {"request": "activation", "product": "TP", "hardware_id": "pc-9",
               "license_key": "FUH3-4E7A-LZJL-7JTP", "api_key": API_KEY}  # fmt: skip
    page = upload(client, base64.b64encode(json.dumps(undated).encode()).decode())

    assert page.status_code == 400
    assert "<code>missing_parameters</code>" in page.content.decode()


def test_wrong_portal_shared_key_says_the_portal_is_misconfigured(client, sandbox, settings):
    settings.LICENSE_SHARED_KEY = "wrong-shared-key"

    page = upload(client, read_vector("py_activate_key.req"))

    assert page.status_code == 502
    assert "not set up correctly" in page.content.decode()


def test_unknown_portal_api_key_says_the_portal_is_misconfigured(client, sandbox, settings):
    settings.LICENSE_API_KEY = "00000000-0000-0000-0000-000000000000"
    text = make_request_file(api_key="00000000-0000-0000-0000-000000000000")

    page = upload(client, text)

    assert page.status_code in (400, 502)
    assert (
        "invalid_api_key" in page.content.decode()
        or "not set up correctly" in page.content.decode()
    )
