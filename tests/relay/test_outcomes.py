"""What a deactivation's result shows: the product named as activations name it, and seats in
use only where the License API's answer gives them (upstream faked at the transport)."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.factories import LICENSE_BODY, LICENSE_OBJECT, make_request_file, read_vector

pytestmark = pytest.mark.django_db

DEACTIVATE = "py_deactivate_key_consumption.req"


def _result_page(client: Client, text: str) -> str:
    file = SimpleUploadedFile("ls_deactivation.req", text.encode())
    response = client.post("/", {"file": file})
    assert response.status_code == 303, response.content
    return client.get(response["Location"]).content.decode()


def test_deactivation_result_names_the_product_a_kept_activation_named(client, upstream):
    upstream.answer("activate_offline", body=LICENSE_BODY)
    upstream.answer("deactivate_offline", body='"license_deactivated"')
    _result_page(client, read_vector("py_activate_key.req"))

    page = _result_page(client, read_vector(DEACTIVATE))

    assert "The computer is deactivated" in page
    assert 'Test Product <span class="muted">(TP)</span>' in page


def test_deactivation_result_names_the_product_of_another_computers_activation(client, upstream):
    upstream.answer("activate_offline", body=LICENSE_BODY)
    upstream.answer("deactivate_offline", body='"license_deactivated"')
    _result_page(client, make_request_file(hardware_id="office-pc"))

    page = _result_page(client, read_vector(DEACTIVATE))

    assert 'Test Product <span class="muted">(TP)</span>' in page


def test_deactivation_result_without_a_kept_activation_shows_the_product_code(client, upstream):
    upstream.answer("deactivate_offline", body='"license_deactivated"')

    page = _result_page(client, read_vector(DEACTIVATE))

    assert "<dd>TP</dd>" in page
    assert "in use" not in page


def test_deactivation_answer_listing_licenses_shows_their_name_and_seats(client, upstream):
    freed = {**LICENSE_OBJECT, "times_activated": 0}
    upstream.answer("deactivate_offline", body=json.dumps([freed]))

    page = _result_page(client, read_vector(DEACTIVATE))

    assert 'Test Product <span class="muted">(TP)</span>' in page
    assert "0 of 3 in use" in page


def test_api_deactivation_names_the_product_when_known(client, upstream):
    upstream.answer("activate_offline", body=LICENSE_BODY)
    upstream.answer("deactivate_offline", body='"license_deactivated"')
    client.post(
        "/api/v1/requests",
        read_vector("py_activate_key.req"),
        content_type="application/octet-stream",
    )

    response = client.post(
        "/api/v1/requests", read_vector(DEACTIVATE), content_type="application/octet-stream"
    )

    assert response.json()["result"] == "deactivated"
    assert response.json()["product"] == "TP"
    assert response.json()["product_name"] == "Test Product"
