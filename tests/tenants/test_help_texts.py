"""A tenant's help text per language: its own text, else the default language's, else the one
help text every tenant had before."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from portal.tenants import resolution as tenancy
from tests.factories import tenant_on_host

pytestmark = pytest.mark.django_db

HOST = "offline.acme.test"


@pytest.fixture
def german_tenant():
    """German by default, offering German, French, Spanish and English; texts in two of them."""
    yield tenant_on_host(
        HOST,
        language="de",
        languages="de,fr,es,en",
        help_text="Ask **Acme** for help.",
        help_texts={"de": "Fragen Sie **Acme**.", "fr": "Demandez à **Acme**."},
    )
    tenancy.forget_cached_tenants()


def _help(client, accept_language: str = "") -> str:
    page = client.get("/", HTTP_HOST=HOST, HTTP_ACCEPT_LANGUAGE=accept_language).content.decode()
    return page.split('<div class="help-text">', 1)[1].split("</div>", 1)[0]


def test_help_text_in_french_for_a_french_browser(client, german_tenant):
    assert _help(client, "fr-FR, fr;q=0.9") == "<p>Demandez à <strong>Acme</strong>.</p>"


def test_help_text_of_the_default_language_for_a_language_without_its_own(client, german_tenant):
    # Spanish is offered but has no text: the German default's, not the single text.
    assert _help(client, "es") == "<p>Fragen Sie <strong>Acme</strong>.</p>"
    assert _help(client) == "<p>Fragen Sie <strong>Acme</strong>.</p>"


def test_help_text_falls_back_to_the_single_text_without_a_default_language_text(
    client, german_tenant
):
    german_tenant.help_texts = {"fr": "Demandez à **Acme**."}
    german_tenant.save()

    assert _help(client, "es") == "<p>Ask <strong>Acme</strong> for help.</p>"
    assert _help(client, "fr") == "<p>Demandez à <strong>Acme</strong>.</p>"


def test_help_text_per_language_follows_an_edit_at_once(client, german_tenant):
    _help(client, "fr")  # cached
    german_tenant.help_texts = {**german_tenant.help_texts, "fr": "Nouveau texte."}
    german_tenant.save()

    assert _help(client, "fr") == "<p>Nouveau texte.</p>"


def test_upsert_tenant_sets_and_removes_help_text_per_language(german_tenant):
    call_command(
        "upsert_tenant", HOST, "--help-text-es", "Pregunte a **Acme**.", "--help-text-fr", "",
        stdout=io.StringIO(),
    )  # fmt: skip

    german_tenant.refresh_from_db()
    assert german_tenant.help_texts == {"de": "Fragen Sie **Acme**.", "es": "Pregunte a **Acme**."}
    assert german_tenant.help_text == "Ask **Acme** for help."
