"""The relay's words in the reader's language: pages, errors, dates, plurals and the API."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from portal.licensespring.request_files import RequestFileError, read_request_file
from portal.relay.errors import describe_request_file_error
from tests.factories import LICENSE_BODY, make_request_file, read_vector

pytestmark = pytest.mark.django_db


def _upload(client, text: str, **headers: str):
    file = SimpleUploadedFile("ls_activation.req", text.encode())
    return client.post("/", {"file": file}, **headers)


def test_api_message_follows_accept_language_and_the_code_stays_english(client, upstream):
    upstream.error("activate_offline", 400, "license_activated_max_times")

    response = client.post(
        "/api/v1/requests",
        data=read_vector("py_activate_key.req"),
        content_type="text/plain",
        HTTP_ACCEPT_LANGUAGE="de",
    )

    body = response.json()
    assert body["code"] == "license_activated_max_times"
    assert body["message"].startswith(
        "Diese Lizenz ist bereits auf der höchstzulässigen Anzahl von Computern aktiv."
    )


def test_api_refusal_made_outside_the_endpoint_speaks_the_callers_language(client):
    response = client.get("/api/v1/nothing-here", HTTP_ACCEPT_LANGUAGE="fr")

    assert response.json() == {
        "status": 404,
        "code": "not_found",
        "message": "Il n’y a rien à cette adresse. Les fichiers de demande s’envoient à "
        "POST /api/v1/requests.",
    }


def test_upload_error_page_is_in_french_with_the_file_name_untouched(client):
    response = _upload(client, "not a request file", HTTP_ACCEPT_LANGUAGE="fr")

    html = response.content.decode()
    assert response.status_code == 400
    assert "Cette demande n’a pas pu aboutir" in html
    assert "Ce fichier de demande est endommagé ou incomplet" in html
    assert "ls_activation.req" in html


def test_result_page_dates_follow_the_readers_conventions(client, upstream):
    upstream.answer("activate_offline", body=LICENSE_BODY)
    result_url = _upload(client, make_request_file())["Location"]

    german = client.get(result_url, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    japanese = client.get(result_url, HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    english = client.get(result_url).content.decode()

    assert "1. Januar 2030" in german and "Befristet" in german
    assert "2030年1月1日" in japanese
    assert "1 January 2030" in english


def test_deactivation_result_uses_the_arabic_plural_forms(client, upstream):
    upstream.answer("deactivate_offline", body=b"")
    text = make_request_file(
        kind="deactivation",
        consumptions=2,
        product_features=[{"code": "export", "local_consumption": 11}],
    )

    response = client.get(_upload(client, text)["Location"], HTTP_ACCEPT_LANGUAGE="ar")

    html = response.content.decode()
    assert "استخدامان للترخيص" in html  # two: the dual, with no number
    assert "11 استخدامًا للميزة <code>export</code>" in html  # eleven: its own form


def test_rate_limited_page_counts_the_seconds_in_the_readers_language(client, settings):
    settings.PORTAL_RATE_LIMIT = 1
    _upload(client, "x", HTTP_ACCEPT_LANGUAGE="es")

    response = _upload(client, "x", HTTP_ACCEPT_LANGUAGE="es")

    html = response.content.decode()
    assert response.status_code == 429
    assert "Demasiadas solicitudes desde su red en poco tiempo." in html
    assert "segundos." in html or "segundo." in html


def test_request_file_messages_in_english_are_the_readers_own_words():
    """The framework-free reader keeps English texts of its own; the page's are the same."""
    for text in ("", "not a request file", "eyJhIjogMX0=", '{"request": "activation"}'):
        with pytest.raises(RequestFileError) as refusal:
            read_request_file(text)
        with translation.override("en"):
            shown = describe_request_file_error(refusal.value.code, "")
        assert shown == refusal.value.message


def test_request_file_message_in_japanese_joins_its_sentences_without_a_space():
    with translation.override("ja"):
        message = describe_request_file_error("empty", "")

    assert message.startswith("このファイルは空です。ソフトウェアが保存した")
    assert " " not in message.split("。")[0] + message.split("。")[1][:1]


def test_javascript_catalogue_is_served_from_the_portal_in_the_pages_language(client):
    response = client.get("/i18n/catalog.js", HTTP_ACCEPT_LANGUAGE="ja")

    body = response.content.decode()
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert (
        json.dumps("リクエストを送信しています…")[1:-1] in body
        or "リクエストを送信しています…" in body
    )
