"""manage.py upsert_tenant, exactly as the contract says, and rotate_secrets."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from portal.tenants.models import TenantHost, TenantSettings

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def _upsert(*args: str) -> str:
    out = io.StringIO()
    call_command("upsert_tenant", *args, stdout=out)
    return out.getvalue()


def test_upsert_tenant_creates_a_tenant_at_the_host(tmp_path):
    logo = tmp_path / "logo.png"
    logo.write_bytes(PNG)

    _upsert(
        "offline.acme.com",
        "--name", "Acme", "--api-url", "https://api.acme.test/api/v4", "--api-key", "K1",
        "--shared-key", "S1", "--primary-color", "#8a1538", "--logo", str(logo),
        "--support-email", "help@acme.com",
    )  # fmt: skip

    tenant = TenantHost.objects.get(host="offline.acme.com").tenant
    assert (tenant.name, tenant.api_key, tenant.primary_color) == ("Acme", "K1", "#8A1538")
    assert tenant.get_shared_key() == "S1"
    assert bytes(tenant.logo) == PNG and tenant.logo_type == "image/png"
    assert tenant.support_email == "help@acme.com"


def test_upsert_tenant_updates_only_what_is_given():
    _upsert("offline.acme.com", "--name", "Acme", "--api-key", "K1", "--shared-key", "S1")

    _upsert("offline.acme.com", "--name", "Acme Two")

    tenant = TenantSettings.objects.get()
    assert tenant.name == "Acme Two"
    assert tenant.api_key == "K1"
    assert tenant.get_shared_key() == "S1"


def test_upsert_tenant_reads_the_shared_key_from_stdin(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("from-stdin\n"))

    _upsert("offline.acme.com", "--name", "Acme", "--api-key", "K", "--shared-key", "-")

    assert TenantSettings.objects.get().get_shared_key() == "from-stdin"


def test_upsert_tenant_refuses_an_unreadable_colour():
    with pytest.raises(CommandError, match="WCAG AA"):
        _upsert(
            "offline.acme.com", "--name", "Acme", "--api-key", "K", "--primary-color", "#FFFF00"
        )

    assert not TenantSettings.objects.exists()


def test_upsert_tenant_needs_a_name_for_a_new_tenant():
    with pytest.raises(CommandError, match="--name"):
        _upsert("offline.acme.com", "--api-key", "K")


def test_upsert_tenant_never_prints_the_shared_key():
    output = _upsert("offline.acme.com", "--name", "Acme", "--api-key", "K", "--shared-key", "S3")

    assert "S3" not in output


def test_rotate_secrets_re_encrypts_under_the_newest_key(settings):
    settings.PORTAL_SECRETS_KEYS = ["old"]
    _upsert("offline.acme.com", "--name", "Acme", "--api-key", "K", "--shared-key", "S1")
    settings.PORTAL_SECRETS_KEYS = ["new", "old"]

    call_command("rotate_secrets", stdout=io.StringIO())
    settings.PORTAL_SECRETS_KEYS = ["new"]

    assert TenantSettings.objects.get().get_shared_key() == "S1"


def test_upsert_tenant_creates_a_tenant_on_oauth_with_the_secret_from_stdin(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("client-secret-from-stdin\n"))

    output = _upsert(
        "oauth.acme.com", "--name", "Acme", "--client-id", "auth_company_7",
        "--client-secret", "-",
    )  # fmt: skip

    tenant = TenantSettings.objects.get()
    assert (tenant.client_id, tenant.api_key) == ("auth_company_7", "")
    assert tenant.get_client_secret() == "client-secret-from-stdin"
    assert "client-secret-from-stdin" not in output + tenant.client_secret_encrypted


def test_upsert_tenant_refuses_both_an_api_key_and_an_oauth_client():
    with pytest.raises(CommandError, match="either an API key or an OAuth client ID"):
        _upsert("offline.acme.com", "--name", "Acme", "--api-key", "K", "--client-id", "C")

    assert not TenantSettings.objects.exists()


def test_rotate_secrets_re_encrypts_oauth_client_secrets_too(settings):
    settings.PORTAL_SECRETS_KEYS = ["old"]
    _upsert("oauth.acme.com", "--name", "Acme", "--client-id", "C", "--client-secret", "CS1")
    settings.PORTAL_SECRETS_KEYS = ["new", "old"]

    call_command("rotate_secrets", stdout=io.StringIO())
    settings.PORTAL_SECRETS_KEYS = ["new"]

    assert TenantSettings.objects.get().get_client_secret() == "CS1"
