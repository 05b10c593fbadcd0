"""Which language a tenant's portal speaks: its default, the ones it offers, the browser's
Accept-Language and the language menu's cookie."""

from __future__ import annotations

import io
import re

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from portal.tenants import resolution as tenancy
from portal.tenants.models import TenantSettings
from tests.factories import tenant_on_host

pytestmark = pytest.mark.django_db

HOST = "offline.acme.test"


@pytest.fixture
def german_tenant():
    """A tenant whose default is German and which offers German, French and English."""
    yield tenant_on_host(HOST, language="de", languages="de,fr,en")
    tenancy.forget_cached_tenants()


def _html_lang(response) -> tuple[str, str]:
    match = re.search(r'<html lang="([^"]+)" dir="([^"]+)"', response.content.decode())
    return match.group(1), match.group(2)


def test_tenant_set_to_german_shows_german_to_a_browser_asking_for_nothing(client, german_tenant):
    response = client.get("/", HTTP_HOST=HOST)

    assert _html_lang(response) == ("de", "ltr")
    assert response["Content-Language"] == "de"
    assert "Software offline aktivieren oder deaktivieren" in response.content.decode()


def test_tenant_offering_french_shows_french_to_a_browser_asking_for_french(client, german_tenant):
    response = client.get("/", HTTP_HOST=HOST, HTTP_ACCEPT_LANGUAGE="fr-CH, fr;q=0.9, en;q=0.5")

    assert _html_lang(response) == ("fr", "ltr")
    assert "Activer ou désactiver votre logiciel hors ligne" in response.content.decode()


def test_tenant_answers_the_best_offered_language_the_browser_asks_for(client, german_tenant):
    # Japanese is not offered: the browser's second choice is.
    response = client.get("/", HTTP_HOST=HOST, HTTP_ACCEPT_LANGUAGE="ja, en;q=0.8")

    assert _html_lang(response) == ("en", "ltr")


def test_tenant_falls_back_to_its_default_for_a_language_it_does_not_offer(client, german_tenant):
    response = client.get("/", HTTP_HOST=HOST, HTTP_ACCEPT_LANGUAGE="ar")

    assert _html_lang(response) == ("de", "ltr")


def test_language_cookie_wins_over_accept_language_when_the_tenant_offers_it(client, german_tenant):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"

    response = client.get("/", HTTP_HOST=HOST, HTTP_ACCEPT_LANGUAGE="en")

    assert _html_lang(response) == ("fr", "ltr")
    assert "Cookie" in response["Vary"] and "Accept-Language" in response["Vary"]


def test_language_cookie_for_a_language_not_offered_is_ignored(client, german_tenant):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ja"

    assert _html_lang(client.get("/", HTTP_HOST=HOST)) == ("de", "ltr")


def test_language_menu_lists_the_offered_languages_by_their_own_names(client, german_tenant):
    html = client.get("/", HTTP_HOST=HOST).content.decode()

    menu = html[html.index('<form class="language-menu"') :]
    assert 'action="/i18n/setlang/"' in menu and "csrfmiddlewaretoken" in menu
    assert re.findall(r'<option value="(\w+)"', menu) == ["en", "de", "fr"]
    assert '<option value="de" lang="de" selected>Deutsch</option>' in menu


def test_language_menu_sets_the_cookie_and_returns_to_the_page(client, german_tenant):
    response = client.post(
        "/i18n/setlang/", {"language": "fr", "next": "/?from=menu"}, HTTP_HOST=HOST
    )

    assert response.status_code == 302 and response["Location"] == "/?from=menu"
    cookie = response.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert cookie.value == "fr" and cookie["httponly"] and cookie["samesite"] == "Lax"
    assert _html_lang(client.get("/", HTTP_HOST=HOST)) == ("fr", "ltr")


def test_arabic_pages_are_right_to_left(client):
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="ar")

    assert _html_lang(response) == ("ar", "rtl")
    assert "فعّل برنامجك أو ألغِ تفعيله دون اتصال" in response.content.decode()


def test_default_tenant_offers_all_six_languages_in_english_by_default(client):
    html = client.get("/").content.decode()

    assert _html_lang(client.get("/")) == ("en", "ltr")
    assert re.findall(r'<option value="(\w+)"', html) == ["en", "de", "fr", "es", "ja", "ar"]


def test_unknown_host_page_speaks_the_browsers_language(client):
    response = client.get("/", HTTP_HOST="elsewhere.example", HTTP_ACCEPT_LANGUAGE="es")

    assert response.status_code == 400
    assert "Dirección desconocida" in response.content.decode()


def test_upsert_tenant_sets_the_default_and_offered_languages(db):
    call_command("upsert_tenant", HOST, "--name", "Acme", "--language", "de", "--languages",
                 "de,fr,en", stdout=io.StringIO())  # fmt: skip

    tenant = TenantSettings.objects.get(slug="offline-acme-test")
    assert (tenant.language, tenant.languages) == ("de", "de,fr,en")


@pytest.mark.parametrize(("language", "languages"), [("ja", "de,fr"), ("de", "de,xx"), ("de", "")])
def test_upsert_tenant_refuses_languages_the_portal_cannot_serve(db, language, languages):
    with pytest.raises(CommandError):
        call_command("upsert_tenant", HOST, "--name", "Acme", "--language", language,
                     "--languages", languages)  # fmt: skip
