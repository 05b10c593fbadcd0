"""The operators' tenant admin: behind login, write-only shared key, live brand preview."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from portal.tenants.models import TenantSettings

pytestmark = pytest.mark.django_db

SECRET = "admin-typed-shared-key-4444"


@pytest.fixture
def operator(client):
    user = User.objects.create_superuser("operator", "op@example.com", "pw-long-enough-1")
    client.force_login(user)
    return user


def _form(**overrides: object) -> dict[str, object]:
    data = {
        "name": "Acme",
        "slug": "acme",
        "active": "on",
        "primary_color": "#8A1538",
        "accent_color": "#0B5394",
        "api_url": "https://api.acme.test/api/v4",
        "api_key": "K1",
        "new_shared_key": SECRET,
        "activation_enabled": "on",
        "deactivation_enabled": "on",
        "language": "en",
        "languages": ["en", "de"],
        "hosts-TOTAL_FORMS": "1",
        "hosts-INITIAL_FORMS": "0",
        "hosts-0-host": "offline.acme.test",
    }
    data.update(overrides)
    return data


def test_tenant_admin_needs_the_operators_login(client):
    response = client.get("/admin/tenants/tenantsettings/")

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_tenant_admin_creates_a_tenant_with_an_encrypted_shared_key(client, operator):
    response = client.post("/admin/tenants/tenantsettings/add/", _form())

    assert response.status_code == 302
    tenant = TenantSettings.objects.get()
    assert tenant.get_shared_key() == SECRET
    with connection.cursor() as cursor:
        cursor.execute("SELECT shared_key_encrypted FROM portal_tenantsettings")
        assert SECRET not in cursor.fetchone()[0]


def test_tenant_admin_confirms_a_save_on_the_next_page(client, operator):
    response = client.post("/admin/tenants/tenantsettings/add/", _form(), follow=True)

    assert "was added successfully" in response.content.decode()
    assert "messages" not in response.cookies  # they travel in the operator's session


def test_tenant_admin_never_shows_the_shared_key_again(client, operator):
    client.post("/admin/tenants/tenantsettings/add/", _form())
    tenant = TenantSettings.objects.get()

    change = client.get(f"/admin/tenants/tenantsettings/{tenant.pk}/change/").content.decode()
    listing = client.get("/admin/tenants/tenantsettings/").content.decode()

    assert SECRET not in change and SECRET not in listing
    assert "Set. Leave blank to keep it" in change


def test_tenant_admin_blank_shared_key_keeps_the_stored_one(client, operator):
    client.post("/admin/tenants/tenantsettings/add/", _form())
    tenant = TenantSettings.objects.get()
    data = _form(name="Acme Two", new_shared_key="", **{"hosts-INITIAL_FORMS": "1"})
    data["hosts-0-id"] = str(tenant.hosts.get().pk)
    data["hosts-0-tenant"] = str(tenant.pk)

    client.post(f"/admin/tenants/tenantsettings/{tenant.pk}/change/", data)

    tenant.refresh_from_db()
    assert tenant.name == "Acme Two"
    assert tenant.get_shared_key() == SECRET


def test_tenant_admin_refuses_a_colour_white_text_cannot_be_read_on(client, operator):
    response = client.post("/admin/tenants/tenantsettings/add/", _form(primary_color="#FFFF00"))

    assert response.status_code == 200
    assert "WCAG AA" in response.content.decode()
    assert not TenantSettings.objects.exists()


def test_tenant_admin_shows_a_live_brand_preview(client, operator):
    html = client.get("/admin/tenants/tenantsettings/add/").content.decode()

    assert "data-brand-preview" in html
    assert "portal/admin_preview" in html


def test_tenant_admin_takes_a_logo_larger_than_a_request_body(client, operator):
    logo = SimpleUploadedFile("logo.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 250_000, "image/png")

    response = client.post("/admin/tenants/tenantsettings/add/", {**_form(), "logo_file": logo})

    assert response.status_code == 302
    assert TenantSettings.objects.get().logo_type == "image/png"


def test_tenant_admin_creates_a_tenant_on_oauth_with_an_encrypted_client_secret(client, operator):
    form = _form(api_key="", new_shared_key="", client_id="auth_company_7")
    form["new_client_secret"] = "admin-typed-client-secret-5555"

    response = client.post("/admin/tenants/tenantsettings/add/", form)

    assert response.status_code == 302
    tenant = TenantSettings.objects.get()
    assert tenant.get_client_secret() == "admin-typed-client-secret-5555"
    change = client.get(f"/admin/tenants/tenantsettings/{tenant.pk}/change/").content.decode()
    assert "admin-typed-client-secret-5555" not in change + tenant.client_secret_encrypted


@pytest.mark.parametrize(
    ("api_key", "client_id", "says"),
    [
        ("K1", "auth_company_7", "either an API key or an OAuth client ID"),
        ("", "", "an API key with its shared key, or, for vendors on OAuth"),
    ],
)
def test_tenant_admin_wants_one_kind_of_credentials(client, operator, api_key, client_id, says):
    form = _form(api_key=api_key, client_id=client_id)

    response = client.post("/admin/tenants/tenantsettings/add/", form)

    assert response.status_code == 200
    assert says in response.content.decode()


def test_tenant_admin_saves_the_default_and_offered_languages(client, operator):
    response = client.post(
        "/admin/tenants/tenantsettings/add/", _form(language="de", languages=["fr", "de"])
    )

    assert response.status_code == 302
    tenant = TenantSettings.objects.get(slug="acme")
    assert (tenant.language, tenant.languages) == ("de", "de,fr")


def test_tenant_admin_refuses_a_default_language_it_does_not_offer(client, operator):
    response = client.post(
        "/admin/tenants/tenantsettings/add/", _form(language="ja", languages=["de", "fr"])
    )

    assert response.status_code == 200
    assert "The default language must be one of the languages offered." in response.text
    assert not TenantSettings.objects.exists()


def test_tenant_admin_saves_help_text_per_language(client, operator):
    form = _form(help_text="Ask us.", help_text_de="Fragen Sie uns.", help_text_fr="")

    client.post("/admin/tenants/tenantsettings/add/", form)

    tenant = TenantSettings.objects.get()
    assert (tenant.help_text, tenant.help_texts) == ("Ask us.", {"de": "Fragen Sie uns."})
    change = client.get(f"/admin/tenants/tenantsettings/{tenant.pk}/change/").content.decode()
    assert "Fragen Sie uns." in change
