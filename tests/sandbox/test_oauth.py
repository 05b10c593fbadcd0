"""The sandbox's OAuth side (sandbox/oauth.py): token endpoint, oauth_url, Bearer tokens that
expire, request files signed with a client secret, and clients that reach one license."""

from __future__ import annotations

import io
import json
import time
from email.utils import formatdate

import pytest
from django.core.management import call_command
from django.test import Client

from sandbox.models import OAuthClient
from tests.factories import (
    CLIENT_ID,
    CLIENT_SECRET,
    DEMO_SEED,
    make_request_file,
    post_file,
    read_vector,
)

LICENSE_CLIENT_ID = "auth_license_200001"
LICENSE_CLIENT_SECRET = "demo-license-client-secret-0123"


def get_token(client: Client, client_id: str = CLIENT_ID, secret: str = CLIENT_SECRET):
    return client.post(
        "/sandbox/oauth/token",
        {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )


def bearer(access_token: str) -> dict[str, str]:
    return {"HTTP_DATE": formatdate(usegmt=True), "HTTP_AUTHORIZATION": f"Bearer {access_token}"}


def activate(client: Client, text: str, access_token: str):
    return post_file(client, "activate_offline", text, bearer(access_token))


def test_sandbox_oauth_url_names_the_token_endpoint(client: Client, demo: None) -> None:
    response = client.get("/sandbox/api/v4/oauth_url", {"login_type": "client_credentials"})

    assert response.json() == {"url": "http://testserver/sandbox/oauth/token"}


def test_sandbox_token_endpoint_gives_a_bearer_token(client: Client, demo: None, settings) -> None:
    settings.SANDBOX_OAUTH_TOKEN_SECONDS = 90

    answer = get_token(client).json()

    assert (answer["token_type"], answer["expires_in"]) == ("Bearer", 90)
    assert answer["access_token"]


def test_sandbox_token_endpoint_refuses_a_wrong_secret(client: Client, demo: None) -> None:
    response = get_token(client, secret="wrong")

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_sandbox_activates_the_oauth_sdks_file_with_a_bearer_token(
    client: Client, demo: None
) -> None:
    access_token = get_token(client).json()["access_token"]

    response = activate(client, read_vector("py_oauth_activate_key.req"), access_token)

    assert response.status_code == 200
    assert json.loads(response.content)["license_key"] == "FUH3-4E7A-LZJL-7JTP"


def test_sandbox_refuses_an_expired_token_as_expired(client: Client, demo: None, settings) -> None:
    settings.SANDBOX_OAUTH_TOKEN_SECONDS = 1
    access_token = get_token(client).json()["access_token"]
    time.sleep(2.1)

    response = activate(client, read_vector("py_oauth_activate_key.req"), access_token)

    assert response.status_code == 401
    assert response.json()["code"] == "oauth_token_expired"


def test_sandbox_refuses_a_forged_token_as_malformed(client: Client, demo: None) -> None:
    response = activate(client, read_vector("py_oauth_activate_key.req"), "made-up-token")

    assert response.status_code == 401
    assert response.json()["code"] == "oauth_token_malformed"


def test_sandbox_refuses_an_oauth_file_signed_with_another_secret(
    client: Client, demo: None
) -> None:
    access_token = get_token(client).json()["access_token"]
    forged = make_request_file(client_id=CLIENT_ID, shared_key="not-the-client-secret")

    response = activate(client, forged, access_token)

    assert response.json()["code"] == "signature_mismatch"


def test_sandbox_license_client_reaches_its_license_only(client: Client, demo: None) -> None:
    access_token = get_token(client, LICENSE_CLIENT_ID, LICENSE_CLIENT_SECRET).json()
    own = make_request_file(
        client_id=LICENSE_CLIENT_ID,
        shared_key=LICENSE_CLIENT_SECRET,
        license_key="LIMT-0000-0000-0001",
    )
    other = make_request_file(client_id=LICENSE_CLIENT_ID, shared_key=LICENSE_CLIENT_SECRET)

    assert activate(client, own, access_token["access_token"]).status_code == 200
    refused = activate(client, other, access_token["access_token"])
    assert refused.json()["code"] == "license_not_found"


def test_sandbox_api_key_authorization_still_works_beside_oauth(client: Client, demo: None) -> None:
    response = post_file(client, "activate_offline", read_vector("py_activate_key.req"))

    assert response.status_code == 200


@pytest.mark.django_db
def test_sandbox_seed_loads_oauth_clients_idempotently(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    for _ in range(2):
        out = io.StringIO()
        call_command("sandbox_seed", str(DEMO_SEED), stdout=out)

    assert "2 oauth_clients" in out.getvalue()
    clients = {row.client_id: row for row in OAuthClient.objects.select_related("license")}
    assert set(clients) == {CLIENT_ID, LICENSE_CLIENT_ID}
    assert clients[CLIENT_ID].license is None
    assert clients[LICENSE_CLIENT_ID].license.license_key == "LIMT-0000-0000-0001"


def test_sandbox_page_lists_oauth_clients_without_secrets(client: Client, demo: None) -> None:
    page = client.get("/sandbox/").content.decode()

    assert CLIENT_ID in page and LICENSE_CLIENT_ID in page
    assert CLIENT_SECRET not in page and LICENSE_CLIENT_SECRET not in page
