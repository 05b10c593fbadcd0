"""The check step of the upload page: see what a file holds, then confirm or cancel.

Without htmx, as a browser without JavaScript posts the form; the fake upstream counts calls.
"""

from __future__ import annotations

import io
import re
from datetime import timedelta
from email.utils import format_datetime

import httpx
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from portal.relay.models import PendingUpload
from tests.conftest import OTHER_HOST
from tests.factories import (
    BUNDLE_BODY,
    LICENSE_BODY,
    license_file_text,
    make_request_file,
    read_vector,
)

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
PASSWORD = "s3cret-Pa55"


def _check(client: Client, text: str, name: str = "ls_activation.req", **extra: str):
    file = SimpleUploadedFile(name, text.encode())
    return client.post("/check", {"file": file}, **extra)


def _pending_token(html: str) -> str:
    return re.search(r'name="pending" value="([^"]+)"', html).group(1)


def _fresh_file(**fields: object) -> str:
    return make_request_file(date=format_datetime(timezone.now(), usegmt=True), **fields)


def test_check_activation_without_js_shows_the_file_and_one_button(client, upstream):
    response = _check(client, read_vector("py_activate_key.req"))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Activation request" in html
    assert "…7JTP" in html and "FUH3-4E7A-LZJL-7JTP" not in html
    assert "lab-pc-01" in html and "Linux 6.1" in html and "PythonSDK 4.0.0" in html
    assert "24 November 2026, 15:57" in html
    assert "Get my license file" in html
    assert "Deactivate this computer" not in html
    assert 'id="upload-form"' in html  # the whole page, with the form to choose another
    assert upstream.requests == []


def test_check_deactivation_asks_before_freeing_the_seat(client, upstream):
    response = _check(client, read_vector("py_deactivate_key_consumption.req"))

    html = response.content.decode()
    assert "Deactivation request" in html
    assert (
        "This frees the seat of computer <strong>vm</strong> on license <code>…7JTP</code>. "
        "The software on that computer stops working until it is activated again."
    ) in html
    assert "Deactivate this computer" in html
    assert "3 uses of the license" in html
    assert upstream.requests == []


@pytest.mark.parametrize(
    ("body", "product"), [(LICENSE_BODY, "Test Product"), (BUNDLE_BODY, "Studio Bundle")]
)
def test_check_license_file_says_what_it_unlocks_and_where_it_goes(client, upstream, body, product):
    response = _check(client, license_file_text(body), "ls_activation.lic")

    html = response.content.decode()
    assert response.status_code == 200
    assert "This is a license file, not a request file: it unlocks" in html
    assert f"<strong>{product}</strong>" in html
    assert "valid until 1 January 2030" in html
    assert "Copy it to the offline computer and open it in your software." in html
    assert 'name="pending"' not in html
    assert upstream.requests == []


def test_check_with_nothing_chosen_says_to_choose_a_file(client):
    response = client.post("/check", {"request_text": "  "})

    html = response.content.decode()
    assert response.status_code == 400
    assert "Choose your request file first" in html
    assert "empty" not in html.lower()


def test_check_of_an_empty_file_still_says_empty(client):
    response = _check(client, "")

    assert "This file is empty." in response.content.decode()


@pytest.mark.parametrize(
    ("delta", "words"),
    [(timedelta(days=-9), "more than a week ago"), (timedelta(days=3), "dated in the future")],
)
def test_check_warns_about_an_old_or_future_date(client, delta, words):
    text = make_request_file(date=format_datetime(timezone.now() + delta, usegmt=True))

    html = _check(client, text).content.decode()

    assert words in html
    assert "Get my license file" in html


def test_check_other_vendors_file_warns_and_offers_no_send_button(client, upstream):
    html = _check(client, _fresh_file(api_key="another-vendors-key")).content.decode()

    assert "made for another vendor" in html
    assert "Get my license file" not in html
    assert "Choose another file" in html


def test_check_file_already_used_links_to_its_result(client, upstream):
    upstream.answer("activate_offline", body=LICENSE_BODY)
    text = _fresh_file()
    result_url = client.post("/", {"request_text": text})["Location"]

    html = _check(client, text).content.decode()

    assert "already sent from this portal" in html
    assert f'href="{result_url}"' in html


def test_check_with_htmx_returns_the_inspection_only(client):
    response = _check(client, read_vector("py_activate_key.req"), **HTMX)

    html = response.content.decode()
    assert 'id="inspection-heading"' in html
    assert 'id="upload-form"' not in html


def test_check_never_echoes_the_file_or_the_password(client):
    text = read_vector("py_activate_user.req")

    html = _check(client, text).content.decode()

    assert PASSWORD not in html
    assert text.strip()[:40] not in html
    assert "alice@example.com" in html


def test_check_keeps_the_file_encrypted_not_in_clear(client):
    text = read_vector("py_activate_user.req")

    _check(client, text)

    row = PendingUpload.objects.get()
    assert text.strip() not in row.content
    assert PASSWORD not in row.content
    assert row.expires_at > timezone.now() + timedelta(minutes=25)


def test_send_relays_the_checked_file_exactly_once(client, upstream):
    upstream.answer("activate_offline", body=LICENSE_BODY)
    text = read_vector("py_activate_key.req")
    token = _pending_token(_check(client, text).content.decode())

    response = client.post("/check/send", {"pending": token})

    assert response.status_code == 303
    assert response["Location"].startswith("/r/")
    assert [request.content for request in upstream.requests] == [text.strip().encode()]
    assert not PendingUpload.objects.exists()


def test_send_with_htmx_swaps_in_the_result_and_starts_the_download(client, upstream):
    upstream.answer("activate_offline", body=LICENSE_BODY)
    token = _pending_token(_check(client, read_vector("py_activate_key.req")).content.decode())

    response = client.post("/check/send", {"pending": token}, **HTMX)

    assert "data-auto-download" in response.content.decode()
    assert len(upstream.requests) == 1


def test_try_again_after_a_network_failure_sends_the_checked_file_again(client, upstream):
    for _connection_and_its_one_retry in range(2):
        upstream.fail("activate_offline", httpx.ConnectError("down"))
    upstream.answer("activate_offline", body=LICENSE_BODY)
    token = _pending_token(_check(client, read_vector("py_activate_key.req")).content.decode())

    failed = client.post("/check/send", {"pending": token})
    retry_token = _pending_token(failed.content.decode())
    again = client.post("/check/send", {"pending": retry_token})

    assert failed.status_code == 502 and "Try again" in failed.content.decode()
    assert again.status_code == 303 and again["Location"].startswith("/r/")
    assert upstream.endpoints.count("activate_offline") >= 2


def test_refusal_that_would_repeat_offers_no_resend_of_the_checked_file(client, upstream):
    upstream.error("activate_offline", 400, "license_activated_max_times")
    token = _pending_token(_check(client, read_vector("py_activate_key.req")).content.decode())

    html = client.post("/check/send", {"pending": token}).content.decode()

    assert "Try again" not in html and 'name="pending"' not in html


def test_send_twice_relays_once(client, upstream):
    upstream.answer("deactivate_offline", body="license_deactivated")
    text = read_vector("py_deactivate_key_consumption.req")
    token = _pending_token(_check(client, text).content.decode())

    client.post("/check/send", {"pending": token})
    again = client.post("/check/send", {"pending": token})

    assert len(upstream.requests) == 1
    assert again.status_code == 410


def test_cancel_sends_nothing_and_forgets_the_file(client, upstream):
    token = _pending_token(_check(client, read_vector("py_activate_key.req")).content.decode())

    response = client.post("/check/cancel", {"pending": token})
    sent = client.post("/check/send", {"pending": token})

    assert response.status_code == 303
    assert response["Location"] == "/"
    assert not PendingUpload.objects.exists()
    assert sent.status_code == 410
    assert upstream.requests == []


def test_send_of_an_expired_check_is_refused_with_a_clear_message(client, upstream):
    token = _pending_token(_check(client, read_vector("py_activate_key.req")).content.decode())
    PendingUpload.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = client.post("/check/send", {"pending": token})

    assert response.status_code == 410
    assert "Choose your request file again" in response.content.decode()
    assert upstream.requests == []


def test_send_from_another_tenants_host_is_refused(client, upstream, other_tenant):
    token = _pending_token(_check(client, read_vector("py_activate_key.req")).content.decode())

    response = client.post("/check/send", {"pending": token}, HTTP_HOST=OTHER_HOST)

    assert response.status_code == 410
    assert "no longer kept here" in response.content.decode()
    assert upstream.requests == []
    assert PendingUpload.objects.exists()


def test_purge_removes_expired_checked_files(client):
    _check(client, read_vector("py_activate_key.req"))
    PendingUpload.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    call_command("purge", stdout=io.StringIO())

    assert not PendingUpload.objects.exists()


def test_check_of_several_files_without_js_makes_a_batch_and_sends_nothing(client, upstream):
    files = [
        SimpleUploadedFile(
            f"pc{number}.req", make_request_file(hardware_id=f"pc-{number}").encode()
        )
        for number in (1, 2)
    ]

    response = client.post("/check", {"file": files})
    page = client.get(response["Location"])

    assert response.status_code == 303 and response["Location"].startswith("/batch/")
    assert "pc1.req" in page.content.decode() and "pc2.req" in page.content.decode()
    assert upstream.requests == []


def test_check_and_send_work_on_a_portal_without_a_secrets_key(client, upstream, settings):
    """No tenant credentials stored, so no PORTAL_SECRETS_KEY: the checked file is still kept
    encrypted (under a key derived from SECRET_KEY), and the upload goes through."""
    settings.PORTAL_SECRETS_KEYS = []
    upstream.answer("activate_offline", body=LICENSE_BODY)
    text = read_vector("py_activate_key.req")

    checked = _check(client, text)
    sent = client.post("/check/send", {"pending": _pending_token(checked.content.decode())})

    assert checked.status_code == 200
    assert sent.status_code == 303 and sent["Location"].startswith("/r/")
    assert [request.content for request in upstream.requests] == [text.strip().encode()]


def test_file_checked_before_the_secrets_key_was_set_can_still_be_sent(client, upstream, settings):
    settings.PORTAL_SECRETS_KEYS = []
    upstream.answer("activate_offline", body=LICENSE_BODY)
    token = _pending_token(_check(client, read_vector("py_activate_key.req")).content.decode())

    settings.PORTAL_SECRETS_KEYS = ["a-key-the-operator-set-meanwhile"]
    sent = client.post("/check/send", {"pending": token})

    assert sent.status_code == 303


def test_checks_over_their_limit_are_refused_and_nothing_more_is_kept(client, upstream, settings):
    settings.PORTAL_CHECK_RATE_LIMIT = 3
    for _ in range(3):
        assert _check(client, read_vector("py_activate_key.req")).status_code == 200

    refused = _check(client, read_vector("py_activate_key.req"))

    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    assert "Please wait a moment" in refused.content.decode()
    assert PendingUpload.objects.count() == 3
    assert upstream.requests == []
