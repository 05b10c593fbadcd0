"""The pages and the machine API, with and without htmx (upstream faked at the transport)."""

from __future__ import annotations

import base64
import json
import logging

import httpx
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError, connection
from django.test import Client

from tests.factories import LICENSE_BODY, LICENSE_OBJECT, make_request_file, read_vector

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
PASSWORD = "s3cret-Pa55"


def _upload(client: Client, name: str = "py_activate_key.req", **extra: str):
    file = SimpleUploadedFile("ls_activation.req", read_vector(name).encode())
    return client.post("/", {"file": file}, **extra)


def test_upload_page_offers_drop_zone_file_input_and_paste(client):
    response = client.get("/")

    html = response.content.decode()
    assert response.status_code == 200
    assert 'type="file"' in html
    assert 'name="request_text"' in html
    assert "Paste the request text instead" in html
    assert 'hx-post="/check"' in html


def test_upload_without_htmx_redirects_to_the_result_page(client, upstream):
    upstream.answer("activate_offline", body=LICENSE_BODY)

    response = _upload(client)

    assert response.status_code == 303
    assert response["Location"].startswith("/r/")


def test_result_page_shows_the_license_and_a_download_button(client, upstream):
    upstream.answer("activate_offline", body=LICENSE_BODY)

    page = client.get(_upload(client)["Location"])

    html = page.content.decode()
    assert "Test Product" in html
    assert "FUH3-4E7A-LZJL-7JTP" in html
    assert "Time-limited" in html
    assert "1 January 2030" in html
    assert "1 of 3 in use" in html
    assert "Download ls_activation.lic" in html
    assert "data-auto-download" not in html


def test_download_is_base64_of_the_exact_upstream_body(client, upstream):
    upstream.answer("activate_offline", body=LICENSE_BODY)
    result_url = _upload(client)["Location"]

    response = client.get(result_url + "ls_activation.lic")

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="ls_activation.lic"'
    assert response["Content-Type"] == "application/octet-stream"
    assert base64.b64decode(response.content) == LICENSE_BODY


def test_upload_with_htmx_swaps_in_the_result_and_starts_the_download(client, upstream):
    upstream.answer("activate_offline", body=LICENSE_BODY)

    response = _upload(client, **HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert "data-auto-download" in html
    assert response["HX-Push-Url"].startswith("/r/")


def test_upload_of_pasted_text_relays_it(client, upstream):
    upstream.answer("activate_offline", body=LICENSE_BODY)
    text = read_vector("flat_v1_activate_key.req")

    response = client.post("/", {"request_text": "\n  " + text + "  \n"})

    assert response.status_code == 303
    assert upstream.requests[0].content == text.strip().encode()


def test_deactivation_result_says_the_seat_is_free_and_what_was_synced(client, upstream):
    upstream.answer("deactivate_offline", body='"license_deactivated"')

    page = client.get(_upload(client, "py_deactivate_key_consumption.req")["Location"])

    html = page.content.decode()
    assert "The computer is deactivated" in html
    assert "seat is free" in html
    assert "3 uses of the license" in html
    assert "2 uses of the feature <code>export</code>" in html
    assert "Download" not in html


def test_deactivation_result_offers_no_license_download(client, upstream):
    upstream.answer("deactivate_offline", body="license_deactivated")
    result_url = _upload(client, "py_deactivate_key_consumption.req")["Location"]

    assert client.get(result_url + "ls_activation.lic").status_code == 404


def test_upload_error_without_htmx_shows_message_file_name_and_the_form(client, upstream):
    upstream.error("activate_offline", 400, "license_activated_max_times", "Max activations hit")

    response = _upload(client)

    html = response.content.decode()
    assert response.status_code == 400
    assert "maximum number of computers" in html
    assert "Max activations hit" in html
    assert "ls_activation.req" in html
    assert 'id="upload-form"' in html


def test_upload_error_with_htmx_returns_the_error_panel_only(client, upstream):
    upstream.fail("activate_offline", httpx.ConnectError("refused"))

    response = _upload(client, **HTMX)

    html = response.content.decode()
    assert response.status_code == 502
    assert "<html" not in html
    assert "could not be reached" in html
    assert "Support reference" in html


def test_upload_of_nothing_says_to_choose_a_file(client):
    response = client.post("/", {"request_text": "   "})

    assert response.status_code == 400
    assert "Choose your request file first" in response.content.decode()
    assert "empty" not in response.content.decode().lower()


def test_upload_rate_limited_upstream_keeps_retry_after(client, upstream):
    upstream.answers["activate_offline"] = [
        lambda request: httpx.Response(429, headers={"Retry-After": "12"}, json={})
    ]

    response = _upload(client)

    assert response.status_code == 429
    assert response["Retry-After"] == "12"
    assert "12 seconds" in response.content.decode()


def test_upload_oversized_body_is_refused_unread(client):
    response = client.generic(
        "POST", "/", data=b"x" * 10, content_type="text/plain", CONTENT_LENGTH="10485760"
    )

    assert response.status_code == 413
    assert "too much to send at once" in response.content.decode()


def test_a_post_of_many_files_over_the_cap_says_to_send_smaller_groups(client, settings):
    """Refused from its length alone (nothing read), a batch too large for one post is told
    how to get through, not only that a request file is small."""
    body_cap = settings.PORTAL_MAX_BODY_BYTES
    response = client.generic(
        "POST",
        "/check",
        data=b"x",
        content_type="multipart/form-data; boundary=b",
        CONTENT_LENGTH=str(body_cap + 1),
    )

    page = response.content.decode()
    assert response.status_code == 413
    assert "send them in smaller groups" in page
    assert "200.0\xa0KB at most" in page


def test_upload_error_never_echoes_the_password_or_the_file(client, upstream):
    upstream.error("activate_offline", 400, "license_not_found")
    text = read_vector("py_activate_user.req")

    response = client.post("/", {"request_text": text})

    html = response.content.decode()
    assert response.status_code == 400
    assert PASSWORD not in html
    assert text.strip()[:40] not in html


def test_result_page_unknown_token_is_a_friendly_404(client):
    response = client.get("/r/not-a-real-token/")

    assert response.status_code == 404
    assert "no longer available" in response.content.decode()


def test_api_activation_returns_the_license_file(client, upstream):
    upstream.answer("activate_offline", body=LICENSE_BODY)
    api = Client(enforce_csrf_checks=True)

    response = api.post(
        "/api/v1/requests", data=read_vector("py_activate_key.req"), content_type="text/plain"
    )

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="ls_activation.lic"'
    assert base64.b64decode(response.content) == LICENSE_BODY


def test_api_takes_a_multipart_file_field(client, upstream):
    upstream.answer("activate_offline", body=LICENSE_BODY)
    file = SimpleUploadedFile("x.req", read_vector("node_activate_key.req").encode())

    response = Client(enforce_csrf_checks=True).post("/api/v1/requests", {"file": file})

    assert response.status_code == 200
    assert upstream.requests[0].content == read_vector("node_activate_key.req").encode()


def test_api_multipart_without_a_file_part_is_a_400_saying_the_file_is_missing(client, upstream):
    response = client.post("/api/v1/requests", {"request_text": read_vector("py_activate_key.req")})

    assert response.status_code == 400
    assert response.json()["code"] == "missing_file"
    assert "file" in response.json()["message"]
    assert upstream.requests == []


@pytest.mark.parametrize("shape", ["python", "flat"])  # these escape it as `"\ud800"`
@pytest.mark.parametrize("product", ["\ud800", "T\u0000P"])  # PostgreSQL takes neither
def test_upload_with_a_lone_surrogate_or_nul_in_the_file_is_damaged_and_never_sent(
    client, upstream, shape, product
):
    upstream.answer("activate_offline", body=LICENSE_BODY)
    text = make_request_file(shape=shape, product=product)

    page = client.post("/", {"file": SimpleUploadedFile("x.req", text.encode())})
    api = client.post("/api/v1/requests", data=text, content_type="text/plain")

    assert page.status_code == 400
    assert "damaged" in page.content.decode()
    assert (api.status_code, api.json()["code"]) == (400, "not_json")
    assert upstream.requests == []


@pytest.mark.parametrize(
    "change",
    [
        {"validity_period": {"not": "a date"}},
        {"license_key": "\ud800", "user": {"email": "\udfff"}},
        {"license_key": "K\u0000", "validity_period": "2030\u0000"},
        {"product_features": [{"name": ["x"]}, {"code": 7}, "export"]},
        {"deep": json.loads("[" * 200 + "]" * 200)},
    ],
    ids=repr,
)
def test_upload_gets_the_license_file_when_upstream_fields_are_unreadable(client, upstream, change):
    body = json.dumps({**LICENSE_OBJECT, **change}).encode()
    upstream.answer("activate_offline", body=body)

    response = _upload(client)
    page = client.get(response["Location"])
    download = client.get(response["Location"] + "ls_activation.lic")

    assert response.status_code == 303
    assert page.status_code == 200
    assert "Download ls_activation.lic" in page.content.decode()
    assert base64.b64decode(download.content) == body


@pytest.mark.parametrize(
    "change",
    [
        {"product_features": 5},
        {"product_details": []},
        {"max_activations": "x"},
        {"licenses": {}},
    ],
    ids=repr,
)
def test_upload_with_a_license_field_the_sdks_cannot_read_is_a_typed_502(client, upstream, change):
    """A license file the SDK would refuse on the offline computer is refused here instead,
    where the user can still quote a support reference."""
    upstream.answer("activate_offline", body=json.dumps({**LICENSE_OBJECT, **change}).encode())

    page = _upload(client)
    api = client.post(
        "/api/v1/requests", data=read_vector("py_activate_user.req"), content_type="text/plain"
    )

    assert page.status_code == 502
    assert (api.status_code, api.json()["code"]) == (502, "unexpected_answer")
    assert api.json()["reference"]


@pytest.mark.parametrize(
    "body",
    [
        b'{"license_key": "K", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b"[" * 100_000 + b"]" * 100_000,
        b'{"status": "ok"}',
        b"5",
        b"\xff\xfe not json",
    ],
    ids=["deep-license", "deep-array", "no-license", "number", "bytes"],
)
def test_upload_with_an_upstream_answer_that_is_no_license_is_a_typed_502(client, upstream, body):
    upstream.answer("activate_offline", body=body)

    page = _upload(client)
    api = client.post(
        "/api/v1/requests", data=read_vector("py_activate_user.req"), content_type="text/plain"
    )

    assert page.status_code == 502
    assert "licensing service" in page.content.decode()
    assert (api.status_code, api.json()["code"]) == (502, "unexpected_answer")
    assert api.json()["reference"]


def test_api_upstream_error_nested_too_deep_to_read_is_a_typed_error(client, upstream):
    upstream.answer("activate_offline", 400, b"[" * 100_000 + b"]" * 100_000)

    response = client.post(
        "/api/v1/requests", data=read_vector("py_activate_key.req"), content_type="text/plain"
    )

    # An error body the portal cannot read is an unreachable service (protocol spec, 4).
    assert response.status_code == 502
    assert "try again" in response.json()["message"]


def test_api_deactivation_returns_json(client, upstream):
    upstream.answer("deactivate_offline", body='"license_deactivated"')

    response = client.post(
        "/api/v1/requests",
        data=read_vector("py_deactivate_key_consumption.req"),
        content_type="text/plain",
    )

    assert response.status_code == 200
    assert response.json()["result"] == "deactivated"
    assert response.json()["synced"]["consumptions"] == 3


def test_api_error_is_json_with_status_code_and_message(client, upstream):
    upstream.error("activate_offline", 400, "license_not_enabled", "License disabled")

    response = client.post(
        "/api/v1/requests", data=read_vector("py_activate_key.req"), content_type="text/plain"
    )

    body = response.json()
    assert response.status_code == 400
    assert body["status"] == 400
    assert body["code"] == "license_not_enabled"
    assert "disabled" in body["message"]


def test_api_oversized_body_is_refused_with_json(client):
    response = client.generic(
        "POST",
        "/api/v1/requests",
        data=b"x",
        content_type="text/plain",
        CONTENT_LENGTH=str(5 * 1024 * 1024),
    )

    assert response.status_code == 413
    assert response.json()["code"] == "too_large"


def _assert_json_refusal(response, status: int) -> dict:
    body = response.json()
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert body["status"] == status
    assert body["code"] and body["message"]
    assert "Traceback" not in response.content.decode()
    return body


def test_api_get_is_not_allowed_with_json(client):
    response = client.get("/api/v1/requests")

    assert _assert_json_refusal(response, 405)["code"] == "method_not_allowed"
    assert response["Allow"] == "POST"


def test_api_unknown_address_is_a_json_404(client):
    _assert_json_refusal(client.get("/api/v2/requests"), 404)


def test_api_from_an_unknown_host_is_refused_with_json(client):
    _assert_json_refusal(client.post("/api/v1/requests", HTTP_HOST="elsewhere.example"), 400)


def test_api_too_many_files_is_a_json_400_logged_below_error(client, upstream, caplog):
    files = {f"file{n}": SimpleUploadedFile(f"{n}.req", b"x") for n in range(20)}

    response = client.post("/api/v1/requests", files)

    _assert_json_refusal(response, 400)
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert upstream.requests == []


def test_api_too_many_fields_is_a_json_400_logged_below_error(client, caplog):
    response = client.post("/api/v1/requests", {f"field{n}": "x" for n in range(500)})

    _assert_json_refusal(response, 400)
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


@pytest.mark.parametrize(
    "content_type",
    ["multipart/form-data; boundary=zzz", "multipart/form-data", "multipart/form-data; boundary="],
)
def test_api_malformed_multipart_is_a_json_400_logged_below_error(client, caplog, content_type):
    body = b'--zzz\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nabc'

    response = client.generic("POST", "/api/v1/requests", body, content_type=content_type)

    assert response.status_code in (400, 413)
    _assert_json_refusal(response, response.status_code)
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_api_failure_inside_the_portal_is_a_json_500_without_a_traceback(client, monkeypatch):
    def fail(**kwargs: object) -> None:
        raise RuntimeError("a bug, with secret-detail in its message")

    monkeypatch.setattr("portal.relay.api.relay_request", fail)
    client.raise_request_exception = False

    response = client.post("/api/v1/requests", data="x", content_type="text/plain")

    _assert_json_refusal(response, 500)
    assert "secret-detail" not in response.content.decode()


def test_page_errors_stay_html(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert "<html" in response.content.decode()


def test_healthz_answers_ok(client):
    assert client.get("/healthz").status_code == 200


def test_readyz_answers_ok_when_the_database_answers(client):
    response = client.get("/readyz")

    assert (response.status_code, response.content) == (200, b"ok")


def test_readyz_is_503_when_the_database_is_unreachable(client, monkeypatch):
    def refuse() -> None:
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "ensure_connection", refuse)

    response = client.get("/readyz")

    assert (response.status_code, response.content) == (503, b"database unreachable")


def test_healthz_answers_even_when_the_database_is_unreachable(client, monkeypatch):
    def refuse() -> None:
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "ensure_connection", refuse)

    assert client.get("/healthz").status_code == 200


def test_upstream_error_with_unsound_text_is_shown_without_a_500(client, upstream):
    """JSON lets an error's code and message carry lone surrogates and NULs."""
    body = json.dumps({"status": 400, "code": "no_such\ud800", "message": "m\udfff\u0000"})
    upstream.answer("activate_offline", 400, body.encode())

    page = _upload(client)
    api = client.post(
        "/api/v1/requests", data=read_vector("py_activate_key.req"), content_type="text/plain"
    )

    assert page.status_code == 400
    assert (api.status_code, api.json()["status"]) == (400, 400)
    assert "\x00" not in api.json().get("detail", "")
