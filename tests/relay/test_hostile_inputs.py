"""Generated hostile input through the page, the API and the relay service: never a 500, and
every /api/ refusal JSON. The License API is faked at the client's transport, one answer per
generated case."""

from __future__ import annotations

import base64
import itertools
from collections.abc import Iterator

import httpx
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.operations.middleware import readable_content_type
from portal.relay import upstream as license_api
from portal.relay.errors import RelayError
from portal.relay.services import relay_request
from portal.tenants.resolution import default_tenant
from tests.factories import LICENSE_BODY, make_request_file
from tests.strategies import multipart_bodies, request_files, upstream_answers

pytestmark = pytest.mark.django_db

API = "/api/v1/requests"
CASES = settings.default.max_examples  # of the profile: `ci`, or HYPOTHESIS_PROFILE=thorough
_hardware_ids = itertools.count()


class _Answers:
    """The fake License API of one generated case: it answers whatever the case says."""

    def __init__(self) -> None:
        self.answer: httpx.Response | Exception = httpx.Response(200, content=LICENSE_BODY)
        self.calls = 0

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if isinstance(self.answer, Exception):
            raise self.answer
        return httpx.Response(
            self.answer.status_code, headers=self.answer.headers, content=self.answer.content
        )


@pytest.fixture
def answers() -> Iterator[_Answers]:
    fake = _Answers()
    license_api.set_client(license_api.build_client(httpx.MockTransport(fake.handle)))
    yield fake
    license_api.set_client(None)


def _assert_api_answer(response: object) -> None:
    assert response.status_code != 500, response.content[:300]
    if response.status_code >= 400:
        body = response.json()
        assert body["status"] == response.status_code
        assert isinstance(body["code"], str) and body["code"]
        assert isinstance(body["message"], str) and body["message"]
        assert "Traceback" not in response.content.decode()


def _assert_page_answer(client: Client, response: object) -> None:
    assert response.status_code != 500, response.content[:300]
    if response.status_code == 303:
        result = client.get(response["Location"])
        download = client.get(response["Location"] + "ls_activation.lic")
        assert result.status_code == 200
        assert download.status_code in (200, 404)


@settings(max_examples=CASES)
@given(data=request_files())
def test_generated_request_files_never_get_a_500(client, answers, data):
    page = client.post("/", {"file": SimpleUploadedFile("f.req", data)})
    api = client.post(API, data=data, content_type="text/plain")

    _assert_page_answer(client, page)
    _assert_api_answer(api)


@settings(max_examples=CASES)
@given(text=st.text(max_size=300))
def test_generated_pasted_text_never_gets_a_500(client, answers, text):
    _assert_page_answer(client, client.post("/", {"request_text": text}))


@settings(max_examples=CASES)
@given(multipart=multipart_bodies())
def test_generated_multipart_bodies_never_get_a_500(client, answers, multipart):
    body, content_type = multipart
    # What offline_portal.wsgi does to a Content-Type before Django sees it (the test client
    # goes straight to Django).
    content_type = readable_content_type(content_type)

    api = client.generic("POST", API, body, content_type=content_type)
    page = client.generic("POST", "/", body, content_type=content_type)

    _assert_api_answer(api)
    _assert_page_answer(client, page)


def _fresh_request_file(kind: str) -> str:
    # A file never uploaded before, so that every case reaches the License API.
    return make_request_file(kind=kind, hardware_id=f"generated-{next(_hardware_ids)}")


@settings(max_examples=CASES)
@given(answer=upstream_answers(), kind=st.sampled_from(["activation", "deactivation"]))
def test_generated_upstream_answers_never_get_a_500(client, answers, answer, kind):
    answers.answer = answer

    api = client.post(API, data=_fresh_request_file(kind), content_type="text/plain")
    page = client.post("/", {"request_text": _fresh_request_file(kind)})

    _assert_api_answer(api)
    _assert_page_answer(client, page)
    if api.status_code == 200 and kind == "activation":
        assert base64.b64decode(api.content) == answer.content


@settings(max_examples=CASES)
@given(answer=upstream_answers())
def test_generated_upstream_answers_give_the_relay_a_result_or_a_typed_error(answers, answer):
    answers.answer = answer

    try:
        result = relay_request(tenant=default_tenant(), data=_fresh_request_file("activation"))
    except RelayError as error:
        assert 400 <= error.status < 600 and error.status != 500
        assert error.code and error.message
    else:
        assert bytes(result.license_file) == answer.content
