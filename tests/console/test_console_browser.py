"""The console in a real browser: sign up by the invitation, enrol TOTP, find an upload, filter
and export CSV, look at the chart of two products; axe-checked at 375 px in light and dark
(Debian's Chromium, as tests/test_browser)."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from portal.relay import upstream as license_api
from tests import browser_support as support
from tests.console.conftest import PASSWORD, current_code, invite
from tests.factories import API_KEY, SHARED_KEY, make_request_file, seed_demo

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def tenant_url(live_server, settings, tmp_path) -> Iterator[str]:
    seed_demo(settings, tmp_path / "sandbox_key.pem")
    license_api.set_client(None)
    call_command(
        "upsert_tenant", "acme.localhost", "--name", "Acme Tools",
        "--api-url", f"{live_server.url}/sandbox/api/v4", "--api-key", API_KEY,
        "--shared-key", SHARED_KEY, "--primary-color", "#8A1538", "--accent-color", "#1D6F42",
        stdout=io.StringIO(),
    )  # fmt: skip
    # Chromium takes every *.localhost name for this machine: a tenant host with no DNS.
    yield live_server.url.replace("//localhost", "//acme.localhost")
    license_api.set_client(None)


def sign_up(page: Page, tenant_url: str) -> None:
    host = tenant_url.split("//", 1)[1]
    page.goto(invite(host, "owner@acme.test").replace("https://", "http://"))
    page.get_by_label("New password", exact=True).fill(PASSWORD)
    page.get_by_label("New password confirmation").fill(PASSWORD)
    page.get_by_role("button", name="Set the password").click()
    page.get_by_label("Username").fill("owner@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    secret = page.locator(".otp-secret").inner_text()
    page.get_by_label(re.compile("Code from your authenticator")).fill(current_code(secret))
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()


def relay_two_products(page: Page) -> None:
    """Three activations and a deactivation of TP, an activation of TPU (the demo seed's)."""
    files = [make_request_file(hardware_id=f"browser-hwid-{n}") for n in range(3)]
    files.append(make_request_file(kind="deactivation", hardware_id="browser-hwid-0"))
    files.append(
        make_request_file(
            product="TPU", license_key=None, username="alice@example.com", password="s3cret-Pa55"
        )
    )
    post = """async (text) => (await fetch("/api/v1/requests", {
        method: "POST", headers: {"Content-Type": "text/plain"}, body: text})).status"""
    # From the page: Chromium finds *.localhost, Playwright's own requests do not.
    assert [page.evaluate(post, text) for text in files] == [200] * len(files)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_console_finds_an_upload_and_charts_it_at_375px(browser, tenant_url, scheme) -> None:
    context = browser.new_context(
        base_url=tenant_url, viewport={"width": 375, "height": 800}, color_scheme=scheme
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto("/")
    page.locator("#id_request_text").evaluate("el => el.closest('details').open = true")
    page.locator("#id_request_text").fill(make_request_file(license_key="NO-SUCH-KEY-XZ42"))
    page.get_by_role("button", name="Check the file").click()
    page.get_by_role("button", name="Get my license file").click()
    reference = page.locator("code").filter(has_text=re.compile(r"^[0-9A-F]{8}$")).inner_text()
    relay_two_products(page)
    sign_up(page, tenant_url)

    page.goto(f"/console/activity/?reference={reference}")
    expect(page.locator("table.activity tbody")).to_contain_text("…XZ42")
    assert support.check_accessibility(page, f"console activity ({scheme}, 375 px)") == []
    assert support.horizontal_overflow(page) == 0
    support.save_screenshot(page, f"console_activity_{scheme}")
    page.get_by_label("Support reference").fill("")
    page.get_by_label("Product").fill("TPU")
    page.get_by_role("button", name="Filter").click()
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    exported = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    assert [line.split(",")[2:4] for line in exported[1:]] == [["TPU", "alice@example.com"]]
    page.goto("/console/activity/chart/")
    expect(page.locator(".chart-product figcaption")).to_have_text(
        [re.compile("TP: 3 activations, 1 deactivations"), re.compile("TPU: 1 activations")]
    )
    assert support.check_accessibility(page, f"console chart ({scheme}, 375 px)") == []
    assert support.horizontal_overflow(page) == 0
    support.save_screenshot(page, f"console_chart_{scheme}")
    page.set_viewport_size({"width": 1100, "height": 800})  # docs/console.md's screenshots
    support.save_screenshot(page, f"console_chart_wide_{scheme}")
    page.goto("/console/activity/")
    support.save_screenshot(page, f"console_activity_wide_{scheme}")
    context.close()
