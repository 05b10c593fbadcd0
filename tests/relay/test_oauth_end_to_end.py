"""A vendor on OAuth, end to end: the portal's relay over real HTTP to the built-in sandbox
(live server), which issues and checks the tokens and the OAuth SDK's request file."""

from __future__ import annotations

import base64
import time
from pathlib import Path

import httpx
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from portal.relay import upstream as license_api
from sandbox.models import License
from tests.factories import CLIENT_ID, CLIENT_SECRET, make_request_file, read_vector, seed_demo

pytestmark = pytest.mark.django_db(transaction=True)


class RecordingTransport(httpx.BaseTransport):
    """Real HTTP, keeping each request and the exact answer the sandbox gave."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.exchanges: list[tuple[httpx.Request, httpx.Response]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        # No connection left open for the live server to close after the test's database
        # connection is gone.
        request.headers["Connection"] = "close"
        answer = self.inner.handle_request(request)
        answer.read()
        self.exchanges.append((request, answer))
        # A fresh answer over the bytes read, as the client reads an answer from its stream.
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)

    def to(self, path_end: str) -> list[tuple[httpx.Request, httpx.Response]]:
        return [pair for pair in self.exchanges if pair[0].url.path.endswith(path_end)]


@pytest.fixture
def oauth_sandbox(live_server, settings, tmp_path: Path):
    """The default tenant on the demo company's OAuth client, against the live sandbox; the
    token URL found through the sandbox's oauth_url, as when LICENSE_OAUTH_TOKEN_URL is unset."""
    seed_demo(settings, tmp_path / "sandbox_key.pem")
    settings.LICENSE_API_URL = f"{live_server.url}/sandbox/api/v4"
    settings.LICENSE_API_KEY = settings.LICENSE_SHARED_KEY = ""
    settings.LICENSE_CLIENT_ID = CLIENT_ID
    settings.LICENSE_CLIENT_SECRET = CLIENT_SECRET
    settings.LICENSE_OAUTH_TOKEN_URL = ""
    transport = RecordingTransport()
    license_api.set_client(license_api.build_client(transport))
    yield transport
    license_api.set_client(None)


def upload(client: Client, text: str):
    file = SimpleUploadedFile("ls_activation.req", text.encode())
    return client.post("/", {"file": file}, follow=True)


def download(client: Client, page) -> bytes:
    response = client.get(page.redirect_chain[-1][0] + "ls_activation.lic")
    return base64.b64decode(response.content)


def test_oauth_sample_file_from_the_sandbox_page_activates_through_an_oauth_portal(
    client, oauth_sandbox
):
    license = License.objects.get(license_key="FUH3-4E7A-LZJL-7JTP")
    form = {"license": license.pk, "computer_name": "oauth-pc", "kind": "activation"}
    sample = client.post("/sandbox/sample-file", {**form, "signed_with": "oauth"})

    page = upload(client, sample.content.decode())

    assert "Your license file is ready" in page.content.decode()
    ((request, answer),) = oauth_sandbox.to("activate_offline")
    assert request.headers["Authorization"].startswith("Bearer ")
    assert download(client, page) == answer.content


def test_oauth_sdk_file_activates_through_an_oauth_portal_with_the_sandboxs_exact_bytes(
    client, oauth_sandbox
):
    page = upload(client, read_vector("py_oauth_activate_key.req"))

    assert "Your license file is ready" in page.content.decode()
    ((request, answer),) = oauth_sandbox.to("activate_offline")
    assert request.headers["Authorization"].startswith("Bearer ")
    assert download(client, page) == answer.content
    assert len(oauth_sandbox.to("oauth_url")) == 1
    assert len(oauth_sandbox.to("oauth/token")) == 1


def test_oauth_portal_gets_a_new_token_when_the_sandboxs_expires(client, oauth_sandbox, settings):
    settings.SANDBOX_OAUTH_TOKEN_SECONDS = 1
    first = upload(client, read_vector("py_oauth_activate_key.req"))
    time.sleep(2)
    later_file = make_request_file(
        client_id=CLIENT_ID, shared_key=CLIENT_SECRET, hardware_id="another-computer"
    )
    later = upload(client, later_file)

    assert "Your license file is ready" in first.content.decode()
    assert "Your license file is ready" in later.content.decode()
    assert len(oauth_sandbox.to("oauth/token")) == 2


def test_oauth_portal_with_a_wrong_secret_says_it_is_not_set_up_correctly(
    client, oauth_sandbox, settings
):
    settings.LICENSE_CLIENT_SECRET = "not-the-secret"

    page = upload(client, read_vector("py_oauth_activate_key.req"))

    html = page.content.decode()
    assert "This portal is not set up correctly" in html
    assert "not-the-secret" not in html
    assert not oauth_sandbox.to("activate_offline")
