"""The brand page in a real browser: the preview follows the colour field, a save reaches the
portal, and the portal in dark mode uses the readable shade (Debian's Chromium, axe-checked)."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from portal.tenants.branding import contrast_ratio
from tests import browser_support as support
from tests.console.conftest import sign_up_in_browser
from tests.factories import API_KEY, SHARED_KEY

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def tenant_url(live_server) -> Iterator[str]:
    call_command(
        "upsert_tenant", "acme.localhost", "--name", "Acme Tools",
        "--api-url", f"{live_server.url}/sandbox/api/v4", "--api-key", API_KEY,
        "--shared-key", SHARED_KEY, "--primary-color", "#0B5394", "--accent-color", "#1D6F42",
        "--help-text", "Ask **Acme** support.", "--help-text-de", "Fragen Sie **Acme**.",
        stdout=io.StringIO(),
    )  # fmt: skip
    # Chromium takes every *.localhost name for this machine: a tenant host with no DNS.
    yield live_server.url.replace("//localhost", "//acme.localhost")


def _rgb_hex(css_color: str) -> str:
    red, green, blue = (int(part) for part in re.findall(r"\d+", css_color)[:3])
    return f"#{red:02X}{green:02X}{blue:02X}"


def test_brand_preview_follows_the_colour_and_the_portal_uses_its_dark_shade(
    browser, tenant_url
) -> None:
    context = browser.new_context(
        base_url=tenant_url, viewport={"width": 1280, "height": 900}, color_scheme="dark"
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_up_in_browser(page, tenant_url)
    page.goto("/console/brand/")
    dark_icon_row = page.locator('[data-preview-scheme="dark"] [data-verdict="primary"]')
    expect(dark_icon_row).to_contain_text("#0B5394")

    page.locator("#id_primary_color").fill("#8a1538")  # the demo tenant's colour

    expect(dark_icon_row).to_contain_text("#8A1538")  # htmx swapped the preview in
    expect(dark_icon_row).to_contain_text("1.75:1")
    shade_row = page.locator('[data-preview-scheme="dark"] [data-verdict="icon"]')
    shade = re.search(r"#[0-9A-F]{6}", shade_row.inner_text()).group(0)
    preview_icon = page.locator('[data-preview-scheme="dark"] .dropzone-icon')
    expect(preview_icon).to_have_css("border-top-color", _hex_to_rgb(shade))
    assert support.check_accessibility(page, "console brand preview (dark)") == []
    support.save_screenshot(page, "console_brand_preview")
    page.set_viewport_size({"width": 375, "height": 800})
    assert support.horizontal_overflow(page) == 0
    assert support.check_accessibility(page, "console brand preview (dark, 375 px)") == []
    support.save_screenshot(page, "console_brand_preview_375px")

    page.get_by_role("button", name="Save").click()
    page.goto("/")
    icon = page.locator(".dropzone-icon")
    border = _rgb_hex(icon.evaluate("el => getComputedStyle(el).borderTopColor"))
    background = _rgb_hex(page.evaluate("() => getComputedStyle(document.body).backgroundColor"))
    assert border == shade
    assert contrast_ratio(border, background) >= 3
    assert support.check_accessibility(page, "portal with the new brand (dark)") == []
    context.close()


def _hex_to_rgb(color: str) -> str:
    red, green, blue = (int(color[index : index + 2], 16) for index in (1, 3, 5))
    return f"rgb({red}, {green}, {blue})"
