"""The License API client on OAuth client credentials (portal/licensespring/oauth.py), with the
License API and its token service faked at the httpx transport."""

from __future__ import annotations

import logging
import time
from urllib.parse import parse_qs

import httpx
import pytest

from portal.licensespring.client import Credentials, LicenseApiError
from portal.licensespring.request_files import read_request_file
from tests.factories import LICENSE_BODY, read_vector

API_URL = "https://api.example.test/api/v4"
TOKEN_URL = "https://auth.example.test/realms/user-portal/protocol/openid-connect/token"
CLIENT_ID = "auth_company_100123"
SECRET = "client-secret-never-shown-1234"


def oauth_credentials(**changes: str) -> Credentials:
    fields = {"api_url": API_URL, "client_id": CLIENT_ID, "client_secret": SECRET}
    return Credentials(**{**fields, **changes})


def token_answer(value: str, expires_in: int = 480):
    def answer(request: httpx.Request) -> httpx.Response:
        body = {"access_token": value, "expires_in": expires_in, "token_type": "Bearer"}
        return httpx.Response(200, json=body)

    return answer


def activate(upstream, credentials: Credentials | None = None):
    return upstream.client.post(
        credentials=credentials or oauth_credentials(token_url=TOKEN_URL),
        endpoint="activate_offline",
        request_file=read_request_file(read_vector("py_oauth_activate_key.req")),
    )


def requests_to(upstream, endpoint: str) -> list[httpx.Request]:
    return [request for request in upstream.requests if request.url.path.endswith(endpoint)]


def test_post_request_on_oauth_sends_a_bearer_token_got_with_the_client_credentials(upstream):
    upstream.answers["token"] = [token_answer("token-one")]
    upstream.answer("activate_offline", body=LICENSE_BODY)

    response = activate(upstream)

    assert response.body == LICENSE_BODY
    (token_request,) = requests_to(upstream, "token")
    assert str(token_request.url) == TOKEN_URL
    assert parse_qs(token_request.content.decode()) == {
        "grant_type": ["client_credentials"],
        "client_id": [CLIENT_ID],
        "client_secret": [SECRET],
    }
    (call,) = requests_to(upstream, "activate_offline")
    assert call.headers["Authorization"] == "Bearer token-one"
    assert call.headers["Date"].endswith(" GMT")
    assert call.content == read_vector("py_oauth_activate_key.req").strip().encode()


def test_post_request_on_oauth_asks_the_api_for_its_token_url_once(upstream):
    upstream.answer("oauth_url", body={"url": TOKEN_URL})
    upstream.answers["token"] = [token_answer("token-one")]
    upstream.answer("activate_offline", body=LICENSE_BODY)

    activate(upstream, oauth_credentials())
    activate(upstream, oauth_credentials())

    (discovery,) = requests_to(upstream, "oauth_url")
    assert str(discovery.url) == f"{API_URL}/oauth_url?login_type=client_credentials"
    assert len(requests_to(upstream, "token")) == 1
    assert len(requests_to(upstream, "activate_offline")) == 2


def test_post_request_on_oauth_keeps_the_token_for_later_calls(upstream):
    upstream.answers["token"] = [token_answer("token-one")]
    upstream.answer("activate_offline", body=LICENSE_BODY)

    first, second = activate(upstream), activate(upstream)

    assert len(requests_to(upstream, "token")) == 1
    assert first.token_ms is not None and second.token_ms is None


def test_post_request_on_oauth_fetches_a_new_token_before_the_old_one_expires(upstream):
    upstream.answers["token"] = [token_answer("short-lived", expires_in=1), token_answer("next")]
    upstream.answer("activate_offline", body=LICENSE_BODY)

    activate(upstream)
    time.sleep(1.1)
    activate(upstream)

    tokens = [r.headers["Authorization"] for r in requests_to(upstream, "activate_offline")]
    assert tokens == ["Bearer short-lived", "Bearer next"]


@pytest.mark.parametrize("code", ["oauth_token_expired", "oauth_token_malformed"])
def test_post_request_on_oauth_replaces_a_refused_token_and_sends_the_call_again(upstream, code):
    upstream.answers["token"] = [token_answer("old"), token_answer("new")]
    upstream.error("activate_offline", 401, code)
    upstream.answer("activate_offline", body=LICENSE_BODY)

    response = activate(upstream)

    assert response.body == LICENSE_BODY
    tokens = [r.headers["Authorization"] for r in requests_to(upstream, "activate_offline")]
    assert tokens == ["Bearer old", "Bearer new"]


def test_post_request_on_oauth_sends_the_call_again_only_once(upstream):
    upstream.answers["token"] = [token_answer("old"), token_answer("new"), token_answer("third")]
    upstream.error("activate_offline", 401, "oauth_token_expired")

    with pytest.raises(LicenseApiError) as caught:
        activate(upstream)

    assert caught.value.code == "oauth_token_expired"
    assert len(requests_to(upstream, "activate_offline")) == 2
    assert len(requests_to(upstream, "token")) == 2


def test_post_request_on_oauth_with_a_wrong_secret_is_invalid_client_and_names_no_secret(
    upstream, caplog
):
    body = {"error": "invalid_client", "error_description": "Invalid client credentials"}
    upstream.answer("token", 401, body)

    with caplog.at_level(logging.INFO), pytest.raises(LicenseApiError) as caught:
        activate(upstream)

    assert (caught.value.status, caught.value.code) == (401, "invalid_client")
    assert not requests_to(upstream, "activate_offline")
    errors = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert errors and CLIENT_ID in errors[0].getMessage()
    assert SECRET not in caplog.text
    assert SECRET not in f"{caught.value} {caught.value.message} {caught.value!r}"


def test_post_request_on_oauth_token_service_down_is_unreachable(upstream):
    upstream.answer("token", 503, "Service Unavailable")

    with pytest.raises(LicenseApiError) as caught:
        activate(upstream)

    assert caught.value.unreachable
    assert not requests_to(upstream, "activate_offline")


def test_credentials_on_oauth_never_show_the_client_secret():
    assert SECRET not in repr(oauth_credentials())
