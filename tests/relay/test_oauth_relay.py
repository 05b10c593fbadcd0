"""The relay for vendors on OAuth: one token for many uploads, plain errors, the file checks
(License API and token service faked at the httpx transport)."""

from __future__ import annotations

import json
import logging
import threading
import time

import httpx
import pytest
from prometheus_client import REGISTRY

from portal.licensespring.request_files import read_request_file
from portal.relay.errors import RelayError
from portal.relay.services import relay_request
from portal.tenants.models import TenantHost, TenantSettings
from portal.tenants.resolution import default_tenant, tenant_for_host
from tests.factories import (
    CLIENT_ID,
    CLIENT_SECRET,
    LICENSE_BODY,
    make_request_file,
    read_vector,
)

pytestmark = pytest.mark.django_db

TOKEN_URL = "https://auth.example.test/realms/user-portal/protocol/openid-connect/token"


@pytest.fixture
def on_oauth(settings) -> None:
    """The default tenant on the demo company's OAuth client."""
    settings.LICENSE_API_URL = "https://api.example.test/api/v4"
    settings.LICENSE_CLIENT_ID = CLIENT_ID
    settings.LICENSE_CLIENT_SECRET = CLIENT_SECRET
    settings.LICENSE_OAUTH_TOKEN_URL = TOKEN_URL


def oauth_file(client_id: str = CLIENT_ID, **fields: object) -> str:
    return make_request_file(client_id=client_id, shared_key=CLIENT_SECRET, **fields)


def token_answer(request: httpx.Request) -> httpx.Response:
    body = {"access_token": "the-token", "expires_in": 480, "token_type": "Bearer"}
    return httpx.Response(200, json=body)


def calls_to(upstream, endpoint: str) -> list[httpx.Request]:
    return [request for request in upstream.requests if request.url.path.endswith(endpoint)]


def test_relay_request_on_oauth_fetches_one_token_for_32_concurrent_uploads(
    upstream, on_oauth, settings
):
    settings.LICENSE_OAUTH_TOKEN_URL = ""  # found through the API's oauth_url, once too

    def slow_token(request: httpx.Request) -> httpx.Response:
        time.sleep(0.5)  # every upload arrives while the first fetch is under way
        return token_answer(request)

    upstream.answer("oauth_url", body={"url": TOKEN_URL})
    upstream.answers["token"] = [slow_token]
    upstream.answer("activate_offline", body=LICENSE_BODY)
    errors: list[BaseException] = []

    credentials = default_tenant().credentials

    def upload(number: int) -> None:
        # The process's client, as 32 relays call it at once (the database's part of a relay
        # is not what this counts: SQLite's in-memory test database takes one writer at a time).
        request_file = read_request_file(oauth_file(hardware_id=f"hw-{number}"))
        try:
            upstream.client.post(
                credentials=credentials, endpoint="activate_offline", request_file=request_file
            )
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=upload, args=(number,)) for number in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    assert len(calls_to(upstream, "oauth_url")) == 1
    assert len(calls_to(upstream, "token")) == 1
    calls = calls_to(upstream, "activate_offline")
    assert len(calls) == 32
    assert {call.headers["Authorization"] for call in calls} == {"Bearer the-token"}


def test_relay_request_on_oauth_replaces_an_expired_token_unnoticed(upstream, on_oauth):
    upstream.answers["token"] = [token_answer]
    upstream.error("activate_offline", 401, "oauth_token_expired")
    upstream.answer("activate_offline", body=LICENSE_BODY)

    result = relay_request(tenant=default_tenant(), data=oauth_file())

    assert bytes(result.license_file) == LICENSE_BODY
    assert len(calls_to(upstream, "token")) == 2


def test_relay_request_on_oauth_with_wrong_credentials_says_the_portal_is_not_set_up(
    upstream, on_oauth, caplog
):
    body = {"error": "invalid_client", "error_description": "Invalid client credentials"}
    upstream.answer("token", 401, body)

    with caplog.at_level(logging.INFO), pytest.raises(RelayError) as caught:
        relay_request(tenant=default_tenant(), data=oauth_file())

    assert caught.value.code == "portal_credentials_refused"
    assert "This portal is not set up correctly" in caught.value.message
    assert not calls_to(upstream, "activate_offline")
    errors = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert len(errors) == 1 and CLIENT_ID in errors[0].getMessage()
    assert CLIENT_SECRET not in caplog.text


def test_relay_request_on_oauth_logs_the_token_fetch_time_and_never_the_token(
    upstream, on_oauth, caplog
):
    upstream.answers["token"] = [token_answer]
    upstream.answer("activate_offline", body=LICENSE_BODY)

    with caplog.at_level(logging.INFO, logger="portal.relay"):
        relay_request(tenant=default_tenant(), data=oauth_file(hardware_id="hw-1"))
        relay_request(tenant=default_tenant(), data=oauth_file(hardware_id="hw-2"))

    first, second = (record for record in caplog.records if record.name == "portal.relay")
    assert first.token_ms is not None and first.token_ms >= 0
    assert second.token_ms is None  # the kept token
    logged = json.dumps([vars(record) for record in caplog.records], default=str)
    assert "the-token" not in logged and CLIENT_SECRET not in logged


def test_relay_request_for_a_tenant_on_oauth_uses_its_stored_client(upstream):
    row = TenantSettings(
        slug="oauth-demo",
        name="OAuth Demo",
        api_url="https://api.example.test/api/v4",
        client_id=CLIENT_ID,
        oauth_token_url=TOKEN_URL,
    )
    row.set_client_secret(CLIENT_SECRET)
    row.save()
    TenantHost.objects.create(tenant=row, host="oauth.localhost")
    upstream.answers["token"] = [token_answer]
    upstream.answer("activate_offline", body=LICENSE_BODY)

    relay_request(tenant=tenant_for_host("oauth.localhost"), data=oauth_file())

    (token_request,) = calls_to(upstream, "token")
    assert f"client_secret={CLIENT_SECRET}" in token_request.content.decode()
    (call,) = calls_to(upstream, "activate_offline")
    assert call.headers["Authorization"] == "Bearer the-token"


def test_relay_request_on_oauth_counts_token_fetches_in_the_metrics(upstream, on_oauth, settings):
    settings.PORTAL_METRICS_ENABLED = True
    upstream.answers["token"] = [token_answer]
    upstream.answer("activate_offline", body=LICENSE_BODY)
    labels = {"tenant": "default"}
    before = REGISTRY.get_sample_value("portal_oauth_token_fetches_total", labels) or 0.0

    for number in range(3):
        relay_request(tenant=default_tenant(), data=oauth_file(hardware_id=f"hw-{number}"))

    after = REGISTRY.get_sample_value("portal_oauth_token_fetches_total", labels)
    assert after - before == 1


def test_relay_request_api_key_portal_refuses_an_oauth_file_before_any_call(upstream):
    with pytest.raises(RelayError) as caught:
        relay_request(tenant=default_tenant(), data=read_vector("py_oauth_activate_key.req"))

    assert caught.value.code == "setup_mismatch"
    assert "set up differently" in caught.value.message
    assert upstream.requests == []


def test_relay_request_oauth_portal_refuses_an_api_key_file_before_any_call(upstream, on_oauth):
    with pytest.raises(RelayError) as caught:
        relay_request(tenant=default_tenant(), data=read_vector("py_activate_key.req"))

    assert caught.value.code == "setup_mismatch"
    assert upstream.requests == []


def test_relay_request_oauth_portal_refuses_another_companys_client_before_any_call(
    upstream, on_oauth
):
    with pytest.raises(RelayError) as caught:
        relay_request(tenant=default_tenant(), data=oauth_file("auth_company_999999"))

    assert caught.value.code == "wrong_vendor"
    assert upstream.requests == []


def test_relay_request_oauth_portal_leaves_a_narrower_scope_to_the_license_api(upstream, on_oauth):
    upstream.answers["token"] = [token_answer]
    upstream.answer("activate_offline", body=LICENSE_BODY)

    result = relay_request(tenant=default_tenant(), data=oauth_file("auth_license_200001"))

    assert bytes(result.license_file) == LICENSE_BODY
