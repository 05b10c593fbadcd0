"""Brand and wording: owners edit them, the portal shows them, the audit says who."""

from __future__ import annotations

import pytest
from django.test import Client

from portal.tenants.models import TenantSettings
from tests.console.conftest import ACME

pytestmark = pytest.mark.django_db

BRAND = {
    "name": "Acme Offline",
    "primary_color": "#0B5394",
    "accent_color": "#0B7A53",
    "help_text": "Ask **Acme** support.",
    "support_email": "help@acme.test",
}


def test_owner_edits_the_brand_and_the_portal_shows_it(acme_owner) -> None:
    response = acme_owner.post("/console/brand/", BRAND)

    assert response.status_code == 302
    page = Client().get("/", HTTP_HOST=ACME).content.decode()
    assert "Acme Offline" in page
    assert "<strong>Acme</strong>" in page
    audit = acme_owner.get("/console/audit/").content.decode()
    assert "brand_changed" in audit
    assert "owner@acme.test" in audit


def test_shared_key_is_write_only_in_the_console(acme_owner) -> None:
    acme_owner.post("/console/brand/", {**BRAND, "new_shared_key": "a-new-shared-key-4242"})

    page = acme_owner.get("/console/brand/").content.decode()

    assert TenantSettings.objects.get(slug="acme").get_shared_key() == "a-new-shared-key-4242"
    assert "a-new-shared-key-4242" not in page
    assert "api.offline.acme.test" not in page
    assert "shared key" in acme_owner.get("/console/audit/").content.decode()


def test_owner_gives_the_help_text_in_french_and_french_browsers_see_it(acme_owner) -> None:
    acme_owner.post("/console/brand/", {**BRAND, "help_text_fr": "Demandez à **Acme**."})

    french = Client().get("/", HTTP_HOST=ACME, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    english = Client().get("/", HTTP_HOST=ACME, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Demandez à <strong>Acme</strong>." in french
    assert "Ask <strong>Acme</strong> support." in english


def test_brand_form_offers_help_text_fields_for_the_offered_languages_only(acme_owner) -> None:
    TenantSettings.objects.filter(slug="acme").update(languages="en,fr")

    page = acme_owner.get("/console/brand/").content.decode()

    assert 'name="help_text_fr"' in page
    assert 'name="help_text_de"' not in page
