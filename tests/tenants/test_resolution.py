"""White-label tenants on their own hosts: branding, credentials, isolation, cache invalidation."""

from __future__ import annotations

import logging
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from portal.tenants import resolution as tenancy
from portal.tenants.branding import contrast_ratio
from portal.tenants.models import TenantHost, TenantSettings
from tests.factories import LICENSE_BODY, hmac_b64, make_request_file, read_vector

pytestmark = pytest.mark.django_db

ACME_KEY = "acme-api-key-0000-0000-000000000001"
ACME_SHARED = "acme-shared-key-very-secret-1111"
GLOBEX_KEY = "globex-api-key-000-0000-000000000002"
GLOBEX_SHARED = "globex-shared-key-very-secret-2222"


def _make_tenant(slug: str, host: str, *, name: str, color: str, api_key: str, shared: str):
    tenant = TenantSettings(
        slug=slug,
        name=name,
        primary_color=color,
        accent_color=color,
        api_url=f"https://api.{host}/api/v4",
        api_key=api_key,
        support_email=f"help@{host}",
        help_text=f"Welcome to **{name}** activation.",
        privacy_url=f"https://{host}/privacy",
    )
    tenant.set_shared_key(shared)
    tenant.save()
    TenantHost.objects.create(tenant=tenant, host=host)
    return tenant


@pytest.fixture
def tenants():
    tenancy.forget_cached_tenants()
    acme = _make_tenant(
        "acme", "offline.acme.test", name="Acme Licensing", color="#8A1538", api_key=ACME_KEY,
        shared=ACME_SHARED,
    )  # fmt: skip
    globex = _make_tenant(
        "globex", "offline.globex.test", name="Globex Activation", color="#0B5394",
        api_key=GLOBEX_KEY, shared=GLOBEX_SHARED,
    )  # fmt: skip
    yield acme, globex
    tenancy.forget_cached_tenants()


def _acme_file(**fields: object) -> str:
    return make_request_file(api_key=ACME_KEY, shared_key=ACME_SHARED, **fields)


def _upload(client, host: str, text: str, **extra: str):
    file = SimpleUploadedFile("ls_activation.req", text.encode())
    return client.post("/", {"file": file}, HTTP_HOST=host, **extra)


def _authorization_verifies(request, api_key: str, shared_key: str) -> bool:
    signature = hmac_b64(shared_key, "licenseSpring\ndate: " + request.headers["Date"])
    expected = f'algorithm="hmac-sha256",headers="date",signature="{signature}",apiKey="{api_key}"'
    return request.headers["Authorization"] == expected


def test_tenant_pages_show_their_own_brand_and_no_other(client, tenants):
    acme = client.get("/", HTTP_HOST="offline.acme.test").content.decode()
    globex = client.get("/", HTTP_HOST="offline.globex.test").content.decode()

    assert "<title>Activate your software offline · Acme Licensing</title>" in acme
    assert "Welcome to <strong>Acme Licensing</strong> activation." in acme
    assert "help@offline.acme.test" in acme
    assert "Globex" not in acme and "Offline Portal" not in acme
    assert "Globex Activation" in globex
    assert "Acme" not in globex and "Offline Portal" not in globex


def test_tenant_brand_css_carries_its_colours(client, tenants):
    page = client.get("/", HTTP_HOST="offline.acme.test").content.decode()
    css_url = re.search(r'href="(/brand\.css\?v=[^"]+)"', page).group(1)

    css = client.get(css_url, HTTP_HOST="offline.acme.test")

    assert css["Content-Type"].startswith("text/css")
    assert "--brand-primary: #8A1538" in css.content.decode()
    assert "#0B5394" not in css.content.decode()


def test_tenant_brand_css_gives_dark_mode_shades_that_stand_out(client, tenants):
    page = client.get("/", HTTP_HOST="offline.acme.test").content.decode()
    css_url = re.search(r'href="(/brand\.css\?v=[^"]+)"', page).group(1)

    css = client.get(css_url, HTTP_HOST="offline.acme.test").content.decode()

    light, dark = css.split("prefers-color-scheme: dark", 1)
    assert "--brand-icon: #8A1538" in light  # on a light page the colour itself reads
    icon = re.search(r"--brand-icon: (#[0-9A-F]{6})", dark).group(1)
    text = re.search(r"--brand-text: (#[0-9A-F]{6})", dark).group(1)
    assert contrast_ratio(icon, "#1B2027") >= 3 and contrast_ratio(icon, "#111418") >= 3
    assert contrast_ratio(text, "#1B2027") >= 4.5 and contrast_ratio(text, "#111418") >= 4.5
    assert "--brand-primary: #8A1538" in dark  # white text on the button keeps the colour


def test_tenant_branding_on_result_error_and_missing_pages(client, tenants, upstream):
    upstream.answer("activate_offline", body=LICENSE_BODY)
    result = _upload(client, "offline.acme.test", _acme_file())
    pages = [
        client.get(result["Location"], HTTP_HOST="offline.acme.test"),
        _upload(client, "offline.acme.test", "garbage"),
        client.get("/r/unknown/", HTTP_HOST="offline.acme.test"),
        client.get("/no-such-page", HTTP_HOST="offline.acme.test"),
    ]

    for page in pages:
        html = page.content.decode()
        assert "Acme Licensing" in html, page.status_code
        assert "Offline Portal" not in html
        assert "Globex" not in html


def test_each_relay_is_signed_with_its_own_tenants_credentials(client, tenants, upstream):
    upstream.answer("activate_offline", body=LICENSE_BODY)

    _upload(client, "offline.acme.test", _acme_file())
    globex_file = make_request_file(api_key=GLOBEX_KEY, shared_key=GLOBEX_SHARED)
    _upload(client, "offline.globex.test", globex_file)

    acme_request, globex_request = upstream.requests
    assert acme_request.url.host == "api.offline.acme.test"
    assert _authorization_verifies(acme_request, ACME_KEY, ACME_SHARED)
    assert globex_request.url.host == "api.offline.globex.test"
    assert _authorization_verifies(globex_request, GLOBEX_KEY, GLOBEX_SHARED)


def test_a_file_for_another_vendor_is_refused_before_any_call(client, tenants, upstream):
    globex_file = make_request_file(api_key=GLOBEX_KEY, shared_key=GLOBEX_SHARED)

    response = _upload(client, "offline.acme.test", globex_file)

    assert response.status_code == 400
    assert "made for another vendor" in response.content.decode()
    assert upstream.requests == []


def test_a_result_link_does_not_open_on_another_tenants_host(client, tenants, upstream):
    upstream.answer("activate_offline", body=LICENSE_BODY)
    result_url = _upload(client, "offline.acme.test", _acme_file())["Location"]

    assert client.get(result_url, HTTP_HOST="offline.acme.test").status_code == 200
    assert client.get(result_url, HTTP_HOST="offline.globex.test").status_code == 404
    download = result_url + "ls_activation.lic"
    assert client.get(download, HTTP_HOST="offline.globex.test").status_code == 404
    assert client.get(download, HTTP_HOST="testserver").status_code == 404


def test_an_edit_is_seen_at_once_by_this_process(client, tenants):
    acme, _ = tenants
    client.get("/", HTTP_HOST="offline.acme.test")

    acme.name = "Acme Renamed"
    acme.save()

    assert "Acme Renamed" in client.get("/", HTTP_HOST="offline.acme.test").content.decode()


def test_an_edit_by_another_instance_is_seen_after_the_cache_interval(client, tenants, settings):
    settings.PORTAL_TENANT_CACHE_SECONDS = 0
    client.get("/", HTTP_HOST="offline.acme.test")
    # Another instance writes straight to the shared database and bumps the generation.
    TenantSettings.objects.filter(slug="acme").update(name="Acme Elsewhere")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE portal_tenantgeneration SET value = value + 1")

    assert "Acme Elsewhere" in client.get("/", HTTP_HOST="offline.acme.test").content.decode()


def test_a_new_host_is_served_after_it_is_added(client, tenants):
    acme, _ = tenants
    assert client.get("/", HTTP_HOST="licenses.acme.test").status_code == 400

    TenantHost.objects.create(tenant=acme, host="licenses.acme.test")

    assert "Acme Licensing" in client.get("/", HTTP_HOST="licenses.acme.test").content.decode()


def test_unknown_host_is_refused_with_400(client, tenants):
    response = client.get("/", HTTP_HOST="evil.example.com")

    assert response.status_code == 400
    assert "No activation portal is set up" in response.content.decode()


def test_allowed_host_without_tenant_gets_the_default_tenant(client, tenants):
    html = client.get("/", HTTP_HOST="testserver").content.decode()

    assert "Offline Portal" in html
    assert "Acme" not in html


def test_tenant_host_with_port_and_capitals_resolves(client, tenants):
    html = client.get("/", HTTP_HOST="Offline.ACME.test:8443").content.decode()

    assert "Acme Licensing" in html


def test_slug_subdomain_of_the_base_domain_resolves(client, tenants, settings):
    settings.PORTAL_BASE_DOMAIN = "portal.example.net"

    html = client.get("/", HTTP_HOST="globex.portal.example.net").content.decode()

    assert "Globex Activation" in html


def test_inactive_tenant_shows_a_closed_page(client, tenants):
    acme, _ = tenants
    acme.active = False
    acme.save()

    response = client.get("/", HTTP_HOST="offline.acme.test")

    assert response.status_code == 404
    assert "closed" in response.content.decode()


def test_a_disabled_flow_is_refused_before_any_call(client, tenants, upstream):
    acme, _ = tenants
    acme.deactivation_enabled = False
    acme.save()

    response = _upload(client, "offline.acme.test", _acme_file(kind="deactivation"))

    assert response.status_code == 403
    assert upstream.requests == []
    assert (
        "activation requests only"
        in client.get("/", HTTP_HOST="offline.acme.test").content.decode()
    )


def test_responses_vary_on_host(client, tenants):
    assert "Host" in client.get("/", HTTP_HOST="offline.acme.test")["Vary"]


def test_shared_key_is_encrypted_in_the_database_column(tenants):
    with connection.cursor() as cursor:
        cursor.execute("SELECT shared_key_encrypted FROM portal_tenantsettings")
        stored = " ".join(row[0] for row in cursor.fetchall())

    assert ACME_SHARED not in stored
    assert GLOBEX_SHARED not in stored
    assert stored.startswith("gAAAAA")


def test_shared_key_never_reaches_a_page_or_a_log_line(client, tenants, upstream, caplog):
    upstream.error("activate_offline", 400, "license_not_found")
    caplog.set_level(logging.DEBUG)
    pages = [
        client.get("/", HTTP_HOST="offline.acme.test"),
        _upload(client, "offline.acme.test", _acme_file()),
        _upload(client, "offline.acme.test", read_vector("py_activate_key.req")),
    ]

    for page in pages:
        assert ACME_SHARED not in page.content.decode()
    assert ACME_SHARED not in caplog.text


def test_health_probes_answer_on_any_host(client, tenants):
    assert client.get("/healthz", HTTP_HOST="10.0.0.7:8000").status_code == 200
