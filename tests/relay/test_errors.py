"""Errors that lead somewhere: a next step for each, "Try again" only where it can work, and a
ready-made e-mail to the vendor's support (upstream faked at the transport)."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from portal.tenants import resolution as tenancy
from portal.tenants.models import TenantHost, TenantSettings
from tests.factories import API_KEY, SHARED_KEY, make_request_file

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
LICENSE_KEY = "SECR-ETKE-Y123-4567"
PASSWORD = "s3cret-Pa55"
TRY_AGAIN = ">Try again</button>"
SUPPORT_EMAIL = "help@vendor.example"


def _upload(client: Client, text: str | None = None, **extra: str) -> str:
    text = text or make_request_file(license_key=LICENSE_KEY)
    file = SimpleUploadedFile("ls_activation.req", text.encode())
    return client.post("/", {"file": file}, **HTMX, **extra).content.decode()


def _mailto(page: str) -> tuple[str, str, str]:
    """The address, subject and body of the page's "E-mail support" link."""
    href = html.unescape(re.search(r'href="(mailto:[^"]+)"', page).group(1))
    parts = urlsplit(href)
    query = parse_qs(parts.query)
    return unquote(parts.path), query["subject"][0], query["body"][0]


def test_limit_error_says_how_to_free_a_seat(client, upstream):
    upstream.error("activate_offline", 400, "license_activated_max_times")

    page = _upload(client)

    assert "maximum number of computers" in page
    assert "make a deactivation request file" in page
    assert "support can free its seat" in page
    assert TRY_AGAIN not in page
    assert "Choose another file" in page


@pytest.mark.parametrize("code", ["license_not_active", "trial_expired"])
def test_expired_license_error_says_the_answer_gives_no_date(client, upstream, code):
    upstream.error("activate_offline", 400, code)

    page = _upload(client)

    assert "gives no date" in page
    assert TRY_AGAIN not in page


def test_deactivation_of_an_inactive_computer_says_nothing_is_left_to_do(client, upstream):
    upstream.error("deactivate_offline", 400, "device_not_found")

    page = _upload(client, make_request_file(kind="deactivation"))

    assert "there is nothing more to do" in page
    assert TRY_AGAIN not in page


@pytest.mark.parametrize(
    "code",
    [
        "license_activated_max_times",
        "license_not_found",
        "signature_mismatch",
        "unknown_product",
        "license_not_enabled",
        "validation_error",
        "some_new_upstream_code",
    ],
)
def test_refusal_that_would_repeat_has_no_try_again_button(client, upstream, code):
    upstream.error("activate_offline", 400, code)
    upstream.error("activate_bundle_offline", 400, "product_not_bundle")  # unknown_product's

    page = _upload(client)

    assert TRY_AGAIN not in page
    assert "Choose another file" in page


def test_request_file_error_offers_another_file_not_a_retry(client):
    page = _upload(client, "this is not a request file")

    assert "not in the format your software saves" in page
    assert TRY_AGAIN not in page
    assert "Choose another file" in page


@pytest.mark.parametrize(
    "failure",
    [httpx.ReadTimeout("slow"), httpx.ConnectError("refused")],
    ids=["timeout", "unreachable"],
)
def test_network_failure_offers_try_again(client, upstream, failure):
    upstream.fail("activate_offline", failure)

    page = _upload(client)

    assert TRY_AGAIN in page


def test_rate_limited_upstream_offers_try_again(client, upstream):
    upstream.error("activate_offline", 429, "rate_limited")

    assert TRY_AGAIN in _upload(client)


@pytest.mark.parametrize(
    ("status", "code", "retryable"),
    [
        (400, "license_activated_max_times", False),
        (400, "trial_expired", False),
        (401, "signature_mismatch", False),
        (400, "device_not_found", False),
        (429, "too_many_requests", True),
        (503, "internal_error", True),
    ],
)
def test_api_error_says_whether_a_retry_can_work(client, upstream, status, code, retryable):
    upstream.error("activate_offline", status, code)

    response = client.post(
        "/api/v1/requests", make_request_file(), content_type="application/octet-stream"
    )

    payload = response.json()
    assert payload["retryable"] is retryable
    assert payload["message"]
    assert payload["code"]


def test_api_error_of_a_timeout_is_retryable(client, upstream):
    upstream.fail("activate_offline", httpx.ReadTimeout("slow"))

    response = client.post(
        "/api/v1/requests", make_request_file(), content_type="application/octet-stream"
    )

    payload = response.json()
    assert (payload["status"], payload["code"], payload["retryable"]) == (
        504,
        "service_timeout",
        True,
    )


def test_support_mailto_holds_reference_code_and_time_not_the_file(client, upstream, settings):
    settings.PORTAL_SUPPORT_EMAIL = SUPPORT_EMAIL
    upstream.error("activate_offline", 400, "license_activated_max_times")
    text = make_request_file(license_key=LICENSE_KEY)

    page = _upload(client, text)

    address, subject, body = _mailto(page)
    reference = re.search(r"Support reference: <code>(\w+)</code>", page)[1]
    assert address == SUPPORT_EMAIL
    assert reference in subject
    assert reference in body
    assert "license_activated_max_times" in body
    assert re.search(r"Time: \d{4}-\d\d-\d\d \d\d:\d\d UTC", body)
    for secret in (LICENSE_KEY, LICENSE_KEY[-4:], text.strip()[:40]):
        assert secret not in subject + body


def test_support_mailto_never_holds_the_password_of_a_user_file(client, upstream, settings):
    settings.PORTAL_SUPPORT_EMAIL = SUPPORT_EMAIL
    upstream.error("activate_offline", 400, "license_not_found")
    text = make_request_file(username="ann@example.com", password=PASSWORD, license_key=None)

    page = _upload(client, text)

    _address, subject, body = _mailto(page)
    assert "license_not_found" in body
    for secret in (PASSWORD, "ann@example.com"):
        assert secret not in subject + body
        assert secret not in page


def test_error_only_the_vendor_can_resolve_puts_the_support_e_mail_first(
    client, upstream, settings
):
    settings.PORTAL_SUPPORT_EMAIL = SUPPORT_EMAIL
    upstream.error("activate_offline", 400, "license_not_enabled")

    page = _upload(client)

    actions = re.search(r'<div class="actions">(.*?)</div>', page, re.S)[1]
    assert re.search(r'class="button primary" href="mailto:', actions)
    assert actions.index("E-mail support") < actions.index("Choose another file")


def test_error_without_support_e_mail_links_the_support_website(client, upstream):
    tenancy.forget_cached_tenants()
    tenant = TenantSettings(
        slug="acme",
        name="Acme",
        api_url="https://api.acme.test/api/v4",
        api_key=API_KEY,
        support_url="https://acme.test/support",
    )
    tenant.set_shared_key(SHARED_KEY)
    tenant.save()
    TenantHost.objects.create(tenant=tenant, host="offline.acme.test")
    upstream.error("activate_offline", 400, "license_activated_max_times")

    page = _upload(client, HTTP_HOST="offline.acme.test")
    tenancy.forget_cached_tenants()

    assert "mailto:" not in page
    assert '<a class="button" href="https://acme.test/support">Support website</a>' in page
    assert "Support reference:" in page


def test_error_without_any_support_contact_shows_only_the_reference(client, upstream, settings):
    settings.PORTAL_SUPPORT_EMAIL = ""
    upstream.error("activate_offline", 400, "license_activated_max_times")

    page = _upload(client)

    assert "mailto:" not in page
    assert "Support website" not in page
    assert re.search(r"Support reference: <code>\w{8}</code>", page)
