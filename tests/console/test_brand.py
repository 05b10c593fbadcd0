"""Brand and wording: owners edit them, the portal shows them, the audit says who."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from portal.tenants.branding import contrast_ratio
from portal.tenants.models import TenantSettings
from tests.console.conftest import ACME, sign_up

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32

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


PORTAL_CSS = Path(__file__).resolve().parents[2] / "static" / "portal" / "portal.css"
PREVIEW_CSS = Path(__file__).resolve().parents[2] / "static" / "console" / "brand_preview.css"
DEMO = {**BRAND, "primary_color": "#8A1538"}


def test_brand_preview_shows_the_entered_colour_and_its_shades_without_saving(acme_owner):
    page = acme_owner.post("/console/brand/preview/", DEMO).content.decode()

    dark = page.split('data-preview-scheme="dark"', 1)[1]
    entered = re.search(r'data-verdict="primary">(.*?)</tr>', dark, re.S).group(1)
    icon = re.search(r'data-verdict="icon">(.*?)</tr>', dark, re.S).group(1)
    assert "#8A1538" in entered and "1.75:1" in entered and "Fails" in entered
    shade = re.search(r"<code>(#[0-9A-F]{6})</code>", icon).group(1)
    assert contrast_ratio(shade, "#1B2027") >= 3 and "Passes" in icon
    assert 'name="primary_color"' in page  # the form, as entered, for the next edit
    assert TenantSettings.objects.get(slug="acme").primary_color == "#1F5FBF"


def test_brand_preview_for_htmx_is_the_preview_alone(acme_owner):
    response = acme_owner.post("/console/brand/preview/", DEMO, HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert html.lstrip().startswith('<section id="brand-preview"')
    assert "<form" not in html
    assert "primary=%238A1538" in html  # the stylesheet with the entered colours


def test_brand_preview_shows_a_colour_the_save_refuses_and_says_why(acme_owner):
    page = acme_owner.post("/console/brand/preview/", {**BRAND, "primary_color": "#FFFF00"})

    html = page.content.decode()
    assert "WCAG AA" in html  # the field's error, as a save would give it
    assert "Fails (4.5:1)" in html
    assert "#FFFF00" in html


def test_brand_preview_shows_help_text_per_language_and_a_new_logo(acme_owner):
    logo = SimpleUploadedFile("logo.png", PNG, "image/png")
    data = {**BRAND, "help_text_de": "Fragen Sie **Acme**.", "logo_file": logo}

    page = acme_owner.post("/console/brand/preview/", data).content.decode()

    assert '<div lang="de"><p>Fragen Sie <strong>Acme</strong>.</p></div>' in page
    assert '<div lang="fr"><p>Ask <strong>Acme</strong> support.</p></div>' in page
    assert 'src="data:image/png;base64,' in page


def test_brand_preview_css_gives_each_scheme_its_shades(acme_owner):
    css = acme_owner.get("/console/brand/preview.css?primary=%238A1538&accent=%230B5394")

    assert css["Content-Type"].startswith("text/css")
    dark = css.content.decode().split(".preview-dark", 1)[1]
    icon = re.search(r"--brand-icon: (#[0-9A-F]{6})", dark).group(1)
    assert contrast_ratio(icon, "#111418") >= 3 and contrast_ratio(icon, "#1B2027") >= 3
    assert "--brand-primary: #8A1538" in dark


@pytest.mark.parametrize(
    ("method", "path"),
    [("post", "/console/brand/preview/"), ("get", "/console/brand/preview.css"),
     ("get", "/console/brand/")],
)  # fmt: skip
def test_brand_pages_are_404_for_support_staff(tenants, method, path):
    member = sign_up(ACME, "support@acme.test", role="support")

    response = member.post(path, DEMO) if method == "post" else member.get(path)

    assert response.status_code == 404


def test_brand_preview_on_another_tenants_host_is_404(acme_owner, globex_owner):
    response = globex_owner.client.post("/console/brand/preview/", DEMO, HTTP_HOST=ACME)

    assert response.status_code == 404
    assert TenantSettings.objects.get(slug="acme").name == "Acme Licensing"


def test_brand_preview_palettes_are_the_ones_portal_css_paints():
    portal = PORTAL_CSS.read_text(encoding="utf-8")
    light, dark = portal.split("@media (prefers-color-scheme: dark)", 1)
    preview = PREVIEW_CSS.read_text(encoding="utf-8")

    for scheme, block in (("light", light), ("dark", dark.split("}", 1)[0])):
        rule = re.search(rf"\.preview-{scheme} \{{([^}}]*)\}}", preview).group(1)
        for name in ("bg", "surface", "text", "muted", "border"):
            value = re.search(rf"--{name}: (#[0-9a-f]{{6}})", block).group(1)
            assert f"--{name}: {value}" in rule, (scheme, name)
