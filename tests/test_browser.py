"""The portal in a real browser, as people use it: Debian's Chromium driven by Playwright, on a
live server whose License API is the built-in sandbox.

Every page state is also checked with axe-core and saved as a screenshot; the axe results and
the keyboard-only run are printed at the end of the test run (see tests/browser_support.py).
"""

from __future__ import annotations

import base64
import io
import json
import re
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import translation
from playwright.sync_api import Download, Page, Route, expect

from portal.relay import upstream as upstream_client
from portal.relay.errors import NEXT_STEPS
from portal.relay.models import PendingUpload, RelayResult
from tests import browser_support as support
from tests.factories import (
    API_KEY,
    LICENSE_BODY,
    SHARED_KEY,
    make_request_file,
    read_vector,
    seed_demo,
)

pytestmark = pytest.mark.django_db(transaction=True)

ACTIVATE = read_vector("py_activate_key.req")
DEACTIVATE = read_vector("py_deactivate_key_consumption.req")
READY = "Your license file is ready"
DEACTIVATED = "The computer is deactivated"
RESULT_PATH = re.compile(r"/r/[\w-]+/$")


@pytest.fixture
def portal(live_server, settings, tmp_path: Path) -> Iterator[str]:
    """The portal's default tenant relaying to the sandbox over HTTP; returns the portal URL."""
    seed_demo(settings, tmp_path / "sandbox_key.pem")
    settings.LICENSE_API_URL = f"{live_server.url}/sandbox/api/v4"
    settings.LICENSE_API_BUNDLE_PRODUCTS = []
    upstream_client.set_client(None)
    yield live_server.url
    upstream_client.set_client(None)


@pytest.fixture
def page(open_page: Callable[..., Page]) -> Page:
    return open_page()


def request_file(text: str, name: str = "ls_activation.req") -> dict[str, object]:
    return {"name": name, "mimeType": "text/plain", "buffer": text.encode()}


def choose_file(page: Page, text: str, name: str = "ls_activation.req") -> None:
    page.set_input_files("#id_file", request_file(text, name))


def confirm(page: Page) -> None:
    """Press the checked file's one button ("Get my license file", "Deactivate this computer",
    in any language)."""
    page.locator("[data-send-form] button").click()


def inspect(page: Page, text: str, name: str = "ls_activation.req") -> None:
    """Choose a file: the page shows what it holds (nothing is sent yet)."""
    choose_file(page, text, name)
    expect(page.locator("#inspection-heading")).to_be_focused()


def activate(page: Page, text: str = ACTIVATE, name: str = "ls_activation.req") -> Download:
    """Choose a request file, confirm; the result replaces the outcome and downloads itself."""
    inspect(page, text, name)
    with page.expect_download() as download:
        confirm(page)
    expect(page.locator("#outcome-heading")).to_have_text(READY)
    return download.value


def deactivate(page: Page, text: str = DEACTIVATE) -> None:
    inspect(page, text, "ls_deactivation.req")
    confirm(page)


def downloaded(download: Download) -> bytes:
    assert download.suggested_filename == "ls_activation.lic"
    return Path(download.path()).read_bytes()


def stored_license_file() -> bytes:
    """What the portal must hand out: base64 of the bytes the sandbox answered."""
    result = RelayResult.objects.get(kind=RelayResult.Kind.ACTIVATION)
    return base64.b64encode(bytes(result.license_file))


def hold_uploads(page: Page) -> list[Route]:
    """Holds the next confirmed send in the browser (the caller continues it), so the progress
    card can be looked at."""
    held: list[Route] = []

    def _hold(route: Route) -> None:
        if route.request.method == "POST" and not held:
            held.append(route)
        else:
            route.continue_()

    page.route("**/check/send", _hold)
    return held


def wait_until_held(page: Page, held: list[Route]) -> Route:
    for _ in range(200):
        if held:
            return held[0]
        page.wait_for_timeout(25)
    raise AssertionError("the upload never left the browser")


def drop_file(page: Page, text: str, name: str, event: str = "drop") -> None:
    """Dispatches a drag event carrying the file on the drop zone, as a dragged file does."""
    transfer = page.evaluate_handle(
        """([text, name]) => {
          const transfer = new DataTransfer();
          transfer.items.add(new File([text], name, {type: 'text/plain'}));
          return transfer;
        }""",
        [text, name],
    )
    page.dispatch_event("[data-dropzone]", event, {"dataTransfer": transfer})


def assert_accessible(page: Page, state: str, *, javascript: bool = True) -> None:
    assert support.check_accessibility(page, state, javascript=javascript) == []


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_upload_page_offers_drop_choose_and_paste(page):
    expect(page).to_have_title(re.compile("Activate your software offline"))
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.get_by_text("Drop your request file here")).to_be_visible()
    expect(page.get_by_label(re.compile("Drop your request file"))).to_have_attribute(
        "type", "file"
    )
    expect(page.get_by_text("Paste the request text instead")).to_be_visible()
    assert_accessible(page, "upload page")
    support.save_screenshot(page, "upload")


def test_drop_of_a_request_file_activates_and_downloads_the_license(page):
    zone = page.locator("[data-dropzone]")
    drop_file(page, ACTIVATE, "ls_activation.req", "dragenter")
    expect(zone).to_have_class(re.compile("is-dragging"))

    drop_file(page, ACTIVATE, "ls_activation.req")
    expect(page.locator("#inspection-heading")).to_have_text("Activation request")
    with page.expect_download() as download:
        confirm(page)

    expect(page.locator("#outcome-heading")).to_have_text(READY)
    expect(zone).not_to_have_class(re.compile("is-dragging"))
    expect(page.locator("#outcome")).to_contain_text("From: ls_activation.req")
    assert downloaded(download.value) == stored_license_file()


def test_chosen_file_shows_the_result_in_place(page):
    activate(page)

    outcome = page.locator("#outcome")
    expect(outcome).to_contain_text("Test Product")
    expect(outcome).to_contain_text("FUH3-4E7A-LZJL-7JTP")
    expect(outcome).to_contain_text("Does not expire")
    expect(outcome).to_contain_text("1 of 3 in use")
    expect(page).to_have_url(RESULT_PATH)
    expect(page.locator("#upload-form")).to_be_hidden()
    assert_accessible(page, "activation result")
    support.save_screenshot(page, "activation-result")


def test_automatic_download_is_base64_of_the_sandbox_answer(page):
    license_file = downloaded(activate(page))

    assert license_file == stored_license_file()
    license_object = json.loads(base64.b64decode(license_file))
    assert license_object["license_key"] == "FUH3-4E7A-LZJL-7JTP"
    assert license_object["license_signature"]
    assert license_object["license_signature_v2"]


def test_download_button_gives_the_license_file_again(page):
    automatic = downloaded(activate(page))

    with page.expect_download() as download:
        page.get_by_role("link", name="Download ls_activation.lic").click()

    assert downloaded(download.value) == automatic == stored_license_file()


def test_pasted_request_text_activates_and_is_cleared(page):
    page.get_by_text("Paste the request text instead").click()
    page.get_by_label("Request text").fill(ACTIVATE)

    page.get_by_role("button", name="Check the file").click()
    expect(page.locator("#inspection-heading")).to_have_text("Activation request")
    expect(page.get_by_label("Request text")).to_have_value("")
    with page.expect_download() as download:
        confirm(page)

    expect(page.locator("#outcome-heading")).to_have_text(READY)
    expect(page.locator("#outcome")).to_contain_text("From: pasted text")
    expect(page.get_by_label("Request text")).to_have_value("")
    assert downloaded(download.value) == stored_license_file()


def test_chosen_file_is_inspected_first_then_activated(page, upstream):
    upstream.answer("activate_offline", body=LICENSE_BODY)

    inspect(page, ACTIVATE)

    outcome = page.locator("#outcome")
    expect(page.locator("#inspection-heading")).to_have_text("Activation request")
    for fact in ("TP", "…7JTP", "lab-pc-01", "Linux 6.1", "PythonSDK 4.0.0", "24 November 2026"):
        expect(outcome).to_contain_text(fact)
    expect(outcome).not_to_contain_text("FUH3-4E7A-LZJL-7JTP")
    expect(outcome).to_contain_text("more than a week ago")
    expect(page.get_by_role("button", name="Deactivate this computer")).to_have_count(0)
    assert upstream.requests == []
    assert_accessible(page, "inspection")
    support.save_screenshot(page, "inspection")
    with page.expect_download() as download:
        page.get_by_role("button", name="Get my license file").click()

    expect(page.locator("#outcome-heading")).to_have_text(READY)
    assert base64.b64decode(downloaded(download.value)) == LICENSE_BODY
    assert len(upstream.requests) == 1


def test_cancel_after_inspection_sends_nothing(page, upstream):
    inspect(page, ACTIVATE)

    page.get_by_role("button", name="Choose another file").click()

    expect(page.locator("#inspection-heading")).to_have_count(0)
    expect(page.locator("#id_file")).to_be_focused()
    assert page.locator("#id_file").evaluate("input => input.files.length") == 0
    assert upstream.requests == []
    assert not PendingUpload.objects.exists()


def test_deactivation_asks_before_freeing_the_seat(page):
    activate(page)

    inspect(page, DEACTIVATE, "ls_deactivation.req")

    expect(page.locator("#inspection-heading")).to_have_text("Deactivation request")
    expect(page.locator(".confirm-text")).to_have_text(
        "This frees the seat of computer vm on license …7JTP. The software on that computer "
        "stops working until it is activated again."
    )
    expect(page.locator("#outcome")).to_contain_text("3 uses of the license")
    assert_accessible(page, "deactivation question")
    support.save_screenshot(page, "deactivation-confirmation")
    page.get_by_role("button", name="Deactivate this computer").click()
    expect(page.locator("#outcome-heading")).to_have_text(DEACTIVATED)


def test_dropped_license_file_says_what_it_is_and_sends_nothing(page):
    license_file = downloaded(activate(page)).decode()

    drop_file(page, license_file, "ls_activation.lic")

    expect(page.locator("#inspection-heading")).to_have_text("This is a license file")
    message = page.locator("#outcome .message")
    expect(message).to_contain_text("This is a license file, not a request file: it unlocks")
    expect(message).to_contain_text("Test Product")
    expect(message).to_contain_text("lab-pc-01")
    expect(message).to_contain_text("Copy it to the offline computer")
    expect(page.locator("[data-send-form]")).to_have_count(0)
    assert RelayResult.objects.count() == 1
    assert_accessible(page, "license file dropped")
    support.save_screenshot(page, "license-file")


def test_check_with_nothing_chosen_says_to_choose_a_file(page):
    page.get_by_role("button", name="Check the file").click()

    heading = page.locator("#outcome-heading")
    expect(heading).to_be_focused()
    expect(page.locator("#outcome")).to_contain_text("Choose your request file first")
    expect(page.locator("#outcome")).not_to_contain_text("empty")


def test_progress_card_names_the_file_request_type_and_product(page):
    held = hold_uploads(page)

    inspect(page, ACTIVATE, "office-pc.req")
    confirm(page)

    card = page.locator(".progress-card")
    expect(card).to_contain_text("Sending your request")
    expect(card).to_contain_text("File: office-pc.req")
    expect(card).to_contain_text("Activation request, TP")
    route = wait_until_held(page, held)
    assert_accessible(page, "progress card")
    support.save_screenshot(page, "progress")
    with page.expect_download():
        route.continue_()
    expect(page.locator("#outcome-heading")).to_have_text(READY)
    expect(card).to_have_count(0)


def test_live_region_announces_progress_then_outcome(page):
    held = hold_uploads(page)
    announcer = page.locator("#announcer")

    inspect(page, ACTIVATE)
    confirm(page)

    expect(announcer).to_have_text("Sending ls_activation.req to the licensing service.")
    expect(announcer).to_have_attribute("aria-live", "polite")
    with page.expect_download():
        wait_until_held(page, held).continue_()
    expect(announcer).to_have_text(re.compile("^Activation complete."))


def test_result_heading_takes_the_focus(page):
    activate(page)

    expect(page.locator("#outcome-heading")).to_be_focused()


def test_deactivation_frees_the_seat_and_shows_the_synced_usage(page):
    activate(page)
    page.get_by_role("link", name="Upload another file").click()

    deactivate(page)

    heading = page.locator("#outcome-heading")
    expect(heading).to_have_text(DEACTIVATED)
    expect(heading).to_be_focused()
    outcome = page.locator("#outcome")
    expect(outcome).to_contain_text("3 uses of the license")
    expect(outcome).to_contain_text("FUH3-4E7A-LZJL-7JTP")
    expect(outcome.get_by_role("link", name=re.compile("Download"))).to_have_count(0)
    expect(page.locator("#announcer")).to_have_text(re.compile("Deactivation complete"))
    assert_accessible(page, "deactivation result")
    support.save_screenshot(page, "deactivation-result")


def test_unreadable_file_error_keeps_the_file_name_and_offers_another_file(page):
    choose_file(page, "this is not a request file", "notes.req")

    heading = page.locator("#outcome-heading")
    expect(heading).to_have_text("This request could not be completed")
    expect(heading).to_be_focused()
    outcome = page.locator("#outcome")
    expect(outcome).to_contain_text("File: notes.req")
    expect(outcome.get_by_role("button", name="Try again")).to_have_count(0)
    expect(outcome.get_by_role("link", name="Choose another file")).to_be_visible()
    expect(page.locator("#announcer")).to_have_text(re.compile("^Error: "))
    assert_accessible(page, "file error")
    support.save_screenshot(page, "error")


def test_activation_limit_error_says_so_in_plain_words(page):
    first = make_request_file(license_key="LIMT-0000-0000-0001", hardware_id="pc-1")
    assert page.request.post("/api/v1/requests", data=first).ok

    inspect(page, make_request_file(license_key="LIMT-0000-0000-0001", hardware_id="pc-2"))
    confirm(page)

    expect(page.locator("#outcome-heading")).to_have_text("This request could not be completed")
    expect(page.locator("#outcome")).to_contain_text("maximum number of computers")
    expect(page.locator("#outcome-heading")).to_be_focused()
    assert_accessible(page, "upstream error (activation limit)")


def test_unreachable_license_api_is_explained(page, settings):
    settings.LICENSE_API_URL = f"http://127.0.0.1:{closed_port()}/api/v4"
    upstream_client.set_client(None)

    inspect(page, ACTIVATE)
    confirm(page)

    heading = page.locator("#outcome-heading")
    expect(heading).to_have_text("We could not reach the licensing service")
    expect(heading).to_be_focused()
    expect(page.get_by_role("button", name="Try again")).to_be_visible()
    expect(page.locator("#announcer")).to_have_text(re.compile("^Error: "))
    assert_accessible(page, "upstream unreachable")
    support.save_screenshot(page, "error-unreachable")


def test_unreachable_portal_is_explained_and_focused(page):
    page.route(
        "**/check",
        lambda route: route.abort() if route.request.method == "POST" else route.continue_(),
    )

    choose_file(page, ACTIVATE)

    heading = page.locator("#outcome-heading")
    expect(heading).to_have_text("The portal could not be reached")
    expect(heading).to_be_focused()
    expect(page.locator("#announcer")).to_have_text(re.compile("could not be reached"))
    expect(page.get_by_role("button", name="Check the file")).to_be_enabled()
    assert_accessible(page, "portal unreachable")


def test_too_many_requests_asks_to_wait(page, settings):
    settings.PORTAL_RATE_LIMIT = 1
    activate(page)

    deactivate(page)

    heading = page.locator("#outcome-heading")
    expect(heading).to_have_text("Please wait a moment")
    expect(heading).to_be_focused()
    expect(page.locator("#outcome")).to_contain_text(re.compile(r"try again in \d+ second"))
    assert_accessible(page, "rate limited")


def test_without_javascript_the_form_posts_and_the_result_page_downloads(open_page):
    page = open_page(java_script_enabled=False)
    file_input = page.locator("#id_file")
    file_input.set_input_files(request_file(ACTIVATE))
    # Nothing sends the file by itself: the chosen file must be visible before "Check the file".
    assert file_input.evaluate("input => getComputedStyle(input).opacity") == "1"
    support.save_screenshot(page, "upload-no-js")

    page.get_by_role("button", name="Check the file").click()
    expect(page.locator("#inspection-heading")).to_have_text("Activation request")
    expect(page.locator("#outcome")).to_contain_text("lab-pc-01")
    assert_accessible(page, "inspection (no JavaScript)", javascript=False)
    support.save_screenshot(page, "inspection-no-js")
    page.get_by_role("button", name="Get my license file").click()

    expect(page).to_have_url(RESULT_PATH)
    expect(page.get_by_role("heading", level=1)).to_have_text("Offline activation")
    expect(page.locator("#outcome-heading")).to_have_text(READY)
    assert_accessible(page, "result page (no JavaScript)", javascript=False)
    support.save_screenshot(page, "result-page-no-js")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download ls_activation.lic").click()
    assert downloaded(download.value) == stored_license_file()


def test_without_javascript_an_error_shows_on_the_upload_page(open_page):
    page = open_page(java_script_enabled=False)
    page.set_input_files("#id_file", request_file("garbage", "notes.req"))

    page.get_by_role("button", name="Check the file").click()

    expect(page.locator("#outcome-heading")).to_have_text("This request could not be completed")
    expect(page.locator("#outcome")).to_contain_text("File: notes.req")
    expect(page.get_by_role("button", name="Try again")).to_be_hidden()
    expect(page.get_by_role("link", name="Choose another file")).to_be_visible()
    assert_accessible(page, "error page (no JavaScript)", javascript=False)


def test_sandbox_page_lists_the_device_after_an_activation(page):
    activate(page)

    page.goto("/sandbox/")

    expect(page.get_by_role("heading", level=1)).to_have_text("Sandbox License API")
    expect(page.locator("main")).to_contain_text("FUH3-4E7A-LZJL-7JTP")
    assert_accessible(page, "sandbox page")
    support.save_screenshot(page, "sandbox")


def test_keyboard_alone_activates_and_downloads(page):
    # Listening now turns on Playwright's file chooser interception before any key is pressed
    # (turned on by expect_file_chooser alone, it can come after the dialog has opened).
    page.on("filechooser", lambda chooser: None)
    support.report("keys keyboard-only run, from the top of the upload page:")
    for _ in range(8):
        page.keyboard.press("Tab")
        focus = support.focus_indicator(page)
        support.report(f"       Tab   -> {focus['element']} (focus ring: {focus['outline']})")
        if page.evaluate("() => document.activeElement.id") == "id_file":
            break
    expect(page.locator("#id_file")).to_be_focused()

    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Space")
    support.report("       Space -> the file chooser opens; ls_activation.req chosen")
    chooser.value.set_files(request_file(ACTIVATE))
    expect(page.locator("#inspection-heading")).to_be_focused()
    support.report("       (auto) -> the file is checked, focus on 'Activation request'")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Get my license file")).to_be_focused()
    support.report("       Tab   -> 'Get my license file'")
    with page.expect_download():
        page.keyboard.press("Enter")
    heading = page.locator("#outcome-heading")
    expect(heading).to_be_focused()
    support.report(f"       (auto) -> result shown, focus on heading '{heading.inner_text()}'")

    page.keyboard.press("Tab")
    download_button = page.get_by_role("link", name="Download ls_activation.lic")
    expect(download_button).to_be_focused()
    focus = support.focus_indicator(page)
    support.report(f"       Tab   -> {focus['element']} (focus ring: {focus['outline']})")
    with page.expect_download() as download:
        page.keyboard.press("Enter")
    assert downloaded(download.value) == stored_license_file()
    support.report("       Enter -> ls_activation.lic downloaded; equals base64 of the answer")


def test_focus_is_visible_on_every_control(page):
    page.locator("details.paste").evaluate("details => { details.open = true; }")
    seen = []
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement === document.body"):
            break
        focus = support.focus_indicator(page)
        seen.append(focus["element"])
        support.report(f"focus {focus['element']:<40} {focus['outline']}")
        assert focus["visible"] == "true", focus
    assert any("#id_file" in element for element in seen)
    assert any("Check the file" in element for element in seen)


def test_reduced_motion_stops_the_progress_animation(open_page):
    names = {}
    for motion in ("no-preference", "reduce"):
        page = open_page(reduced_motion=motion)
        hold_uploads(page)
        inspect(page, ACTIVATE)
        confirm(page)
        bar = page.locator(".progress-bar span")
        expect(bar).to_be_visible()
        names[motion] = bar.evaluate("span => getComputedStyle(span).animationName")

    assert names == {"no-preference": "slide", "reduce": "none"}


def test_narrow_screen_never_scrolls_sideways(open_page):
    page = open_page(viewport={"width": 375, "height": 740})
    overflow = {"upload page": support.horizontal_overflow(page)}
    support.save_screenshot(page, "upload-375px")
    held = hold_uploads(page)
    inspect(page, ACTIVATE, "a-rather-long-request-file-name-from-the-offline-pc.req")
    overflow["inspection"] = support.horizontal_overflow(page)
    support.save_screenshot(page, "inspection-375px")
    confirm(page)
    expect(page.locator(".progress-card")).to_be_visible()
    overflow["progress card"] = support.horizontal_overflow(page)
    with page.expect_download():
        wait_until_held(page, held).continue_()
    expect(page.locator("#outcome-heading")).to_have_text(READY)
    overflow["activation result"] = support.horizontal_overflow(page)
    support.save_screenshot(page, "activation-result-375px")
    deactivate(page)
    expect(page.locator("#outcome-heading")).to_have_text(DEACTIVATED)
    overflow["deactivation result"] = support.horizontal_overflow(page)
    choose_file(page, "garbage")
    expect(page.locator("#outcome-heading")).to_have_text("This request could not be completed")
    overflow["error"] = support.horizontal_overflow(page)
    page.goto("/sandbox/")
    overflow["sandbox page"] = support.horizontal_overflow(page)
    page = open_page(viewport={"width": 375, "height": 740}, java_script_enabled=False)
    overflow["upload page (no JavaScript)"] = support.horizontal_overflow(page)
    page.set_input_files("#id_file", request_file(ACTIVATE))
    page.get_by_role("button", name="Check the file").click()
    overflow["inspection (no JavaScript)"] = support.horizontal_overflow(page)
    page.get_by_role("button", name="Get my license file").click()
    expect(page).to_have_url(RESULT_PATH)
    overflow["result page (no JavaScript)"] = support.horizontal_overflow(page)

    for state, pixels in overflow.items():
        support.report(f"375px {state:<34} {pixels}px wider than the screen")
    assert overflow == dict.fromkeys(overflow, 0)


def test_dark_mode_follows_the_system_setting(open_page):
    backgrounds = {}
    for scheme in ("light", "dark"):
        page = open_page(color_scheme=scheme)
        backgrounds[scheme] = page.evaluate("() => getComputedStyle(document.body).background")
    assert backgrounds["dark"] != backgrounds["light"]
    assert_accessible(page, "upload page (dark)")
    support.save_screenshot(page, "upload-dark")

    activate(page)

    assert_accessible(page, "activation result (dark)")
    support.save_screenshot(page, "activation-result-dark")


def test_branded_tenant_page_shows_its_name_and_colours(open_page, portal):
    call_command(
        "upsert_tenant", "acme.localhost", "--name", "Acme Tools",
        "--api-url", f"{portal}/sandbox/api/v4", "--api-key", API_KEY, "--shared-key", SHARED_KEY,
        "--primary-color", "#8A1538", "--accent-color", "#1D6F42",
        "--support-email", "help@acme.test", stdout=io.StringIO(),
    )  # fmt: skip
    # Chromium takes every *.localhost name for this machine: a tenant host with no DNS.
    tenant_url = portal.replace("//localhost", "//acme.localhost") + "/"
    page = open_page(tenant_url)

    expect(page).to_have_title(re.compile("Acme Tools"))
    expect(page.locator("header")).to_contain_text("Acme Tools")
    expect(page.locator("footer")).to_contain_text("help@acme.test")
    send = page.get_by_role("button", name="Check the file")
    assert send.evaluate("button => getComputedStyle(button).backgroundColor") == "rgb(138, 21, 56)"
    assert_accessible(page, "branded tenant page")
    support.save_screenshot(page, "tenant")
    assert downloaded(activate(page)) == stored_license_file()
    assert RelayResult.objects.get().tenant_slug == "acme-localhost"
    assert_accessible(page, "branded tenant result")
    assert_accessible(open_page(tenant_url, color_scheme="dark"), "branded tenant page (dark)")


def make_sample_file(page: Page, license: str, computer: str, kind: str = "Activation") -> str:
    """Fill in the sandbox page's sample file form and download the request file it makes."""
    page.get_by_label("Demo license").select_option(label=license)
    page.get_by_label("Computer name").fill(computer)
    page.get_by_label(kind, exact=True).check()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the request file").click()
    assert download.value.suggested_filename == f"ls_{kind.lower()}.req"
    return Path(download.value.path()).read_text(encoding="utf-8")


def test_newcomer_makes_sample_files_activates_and_gets_the_seat_back(page):
    key_license = "key FUH3-4E7A-LZJL-7JTP, Test Product (TP)"
    page.get_by_role("link", name="Make a sample one").click()
    expect(page.get_by_role("heading", name="Make a sample request file")).to_be_visible()
    assert_accessible(page, "sandbox page with the sample form")
    activation = make_sample_file(page, key_license, "newcomer-pc")

    page.goto("/")
    license_file = json.loads(base64.b64decode(downloaded(activate(page, activation))))
    assert license_file["times_activated"] == 1
    page.goto("/sandbox/")
    seats = page.locator("article", has_text="FUH3-4E7A-LZJL-7JTP")
    expect(seats).to_contain_text("Active devices (TP): 1")
    expect(seats).to_contain_text("newcomer-pc")
    page.get_by_label("Uses of the license").fill("2")
    deactivation = make_sample_file(page, key_license, "newcomer-pc", "Deactivation")

    page.goto("/")
    deactivate(page, deactivation)
    expect(page.locator("#outcome-heading")).to_have_text(DEACTIVATED)
    expect(page.locator("#outcome")).to_contain_text("2 uses of the license")
    page.goto("/sandbox/")
    expect(seats).to_contain_text("Active devices (TP): 0")
    expect(seats).not_to_contain_text("newcomer-pc")
    expect(seats).to_contain_text("Synced usage: 2 of 100 consumptions")


def test_sandbox_reset_asks_first_then_frees_every_seat(page):
    activate(page)
    page.goto("/sandbox/")
    expect(page.locator("main")).to_contain_text("lab-pc-01")

    page.get_by_role("link", name="Reset the sandbox").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Reset the sandbox?")
    assert_accessible(page, "sandbox reset question")
    page.get_by_role("button", name="Yes, reset the sandbox").click()

    expect(page).to_have_url(re.compile(r"/sandbox/$"))
    expect(page.get_by_role("status").first).to_contain_text("every seat is free")
    expect(page.locator("main")).not_to_contain_text("lab-pc-01")


def test_sandbox_form_reads_well_dark_narrow_and_without_javascript(open_page):
    dark = open_page("/sandbox/", color_scheme="dark")
    assert_accessible(dark, "sandbox page (dark)")
    support.save_screenshot(dark, "sandbox-dark")
    narrow = open_page("/sandbox/", viewport={"width": 375, "height": 740})
    overflow = {"sandbox page": support.horizontal_overflow(narrow)}
    support.save_screenshot(narrow, "sandbox-375px")
    narrow.goto("/sandbox/reset")
    overflow["sandbox reset question"] = support.horizontal_overflow(narrow)
    plain = open_page("/sandbox/", java_script_enabled=False)
    plain.get_by_label("Deactivation", exact=True).check()
    plain.get_by_label("Feature", exact=True).select_option("export")
    plain.get_by_role("button", name="Download the request file").click()

    expect(plain.locator("main")).to_contain_text("Choose a feature and give its uses, or neither.")
    assert_accessible(plain, "sample form error (no JavaScript)", javascript=False)
    for state, pixels in overflow.items():
        support.report(f"375px {state:<34} {pixels}px wider than the screen")
    assert overflow == dict.fromkeys(overflow, 0)


# The portal in each of its languages (issue 23): a browser set to the language gets the
# upload page, an activation, a deactivation and an error with no English left on the page.
LANGUAGES = ["de", "fr", "es", "ja", "ar"]


def in_language(language: str, english: str) -> str:
    with translation.override(language):
        return translation.gettext(english)


def assert_speaks(page: Page, language: str, state: str) -> None:
    assert support.english_left(page, language) == [], state
    assert_accessible(page, f"{state} ({language})")
    support.save_screenshot(page, f"{language}-{state.replace(' ', '-')}")


@pytest.mark.parametrize("language", LANGUAGES)
def test_portal_speaks_the_browsers_language_with_no_english_left(open_page, language):
    page = open_page(locale=language)
    html = page.locator("html")
    expect(html).to_have_attribute("lang", language)
    expect(html).to_have_attribute("dir", "rtl" if language == "ar" else "ltr")
    assert_speaks(page, language, "upload page")

    inspect(page, ACTIVATE)
    assert_speaks(page, language, "inspection")
    with page.expect_download():
        confirm(page)
    heading = page.locator("#outcome-heading")
    expect(heading).to_have_text(in_language(language, READY))
    assert_speaks(page, language, "activation result")

    inspect(page, DEACTIVATE, "ls_deactivation.req")
    assert_speaks(page, language, "deactivation question")
    confirm(page)
    expect(heading).to_have_text(in_language(language, DEACTIVATED))
    assert_speaks(page, language, "deactivation result")

    choose_file(page, "this is not a request file", "notes.req")
    expect(heading).to_have_text(in_language(language, "This request could not be completed"))
    expect(page.locator("#outcome")).to_contain_text("notes.req")
    assert_speaks(page, language, "file error")


@pytest.mark.parametrize("language", ["ja", "ar"])
def test_japanese_and_arabic_fit_a_phone_screen(open_page, language):
    page = open_page(locale=language, viewport={"width": 375, "height": 740})
    overflow = {"upload page": support.horizontal_overflow(page)}
    support.save_screenshot(page, f"{language}-upload-375px")
    inspect(page, ACTIVATE, "a-rather-long-request-file-name-from-the-offline-pc.req")
    overflow["inspection"] = support.horizontal_overflow(page)
    with page.expect_download():
        confirm(page)
    expect(page.locator("#outcome-heading")).to_have_text(in_language(language, READY))
    overflow["activation result"] = support.horizontal_overflow(page)
    support.save_screenshot(page, f"{language}-activation-result-375px")

    assert overflow == dict.fromkeys(overflow, 0)


def test_arabic_result_card_is_laid_out_right_to_left(open_page):
    page = open_page(locale="ar")
    inspect(page, ACTIVATE)
    with page.expect_download():
        confirm(page)
    panel = page.locator(".panel-success")
    expect(panel).to_be_visible()

    edges = panel.evaluate(
        "(el) => [getComputedStyle(el).borderRightWidth, getComputedStyle(el).borderLeftWidth]"
    )
    heading = page.locator("#outcome-heading").bounding_box()
    card = panel.bounding_box()
    # The accent bar is on the reading side (the right), and the heading starts there.
    assert edges == ["6px", "1px"]
    assert card["x"] + card["width"] - (heading["x"] + heading["width"]) < 40


def test_language_menu_works_without_javascript_and_is_remembered(open_page):
    page = open_page(java_script_enabled=False)
    expect(page.locator("html")).to_have_attribute("lang", "en")

    page.get_by_label("Language").select_option("de")
    page.get_by_role("button", name="Change language").click()

    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.locator("h1")).to_have_text(
        in_language("de", "Activate or deactivate your software offline")
    )
    page.goto("/r/no-such-result/")
    expect(page.locator("html")).to_have_attribute("lang", "de")


# Results in view, and errors that lead somewhere (issue 24, items 4 and 5).
SCREENS = {"laptop": {"width": 1366, "height": 768}, "phone": {"width": 375, "height": 667}}
TOUCH = {"has_touch": True, "is_mobile": True, "viewport": SCREENS["phone"]}


def assert_in_view(page: Page, name: str) -> None:
    """The element is wholly inside the viewport, as the page is now scrolled."""
    box = page.locator(name).bounding_box()
    screen = page.viewport_size
    assert box is not None, name
    size, bottom = f"{screen['width']}x{screen['height']}", box["y"] + box["height"]
    support.report(f"view  {size:<9} {name:<16} top {box['y']:.0f}px, bottom {bottom:.0f}px")
    assert box["x"] >= 0 and box["x"] + box["width"] <= screen["width"], (name, box)
    assert box["y"] >= 0 and box["y"] + box["height"] <= screen["height"], (name, box)


def seat_limit_error(page: Page, language: str = "en") -> None:
    """The demo license has room for one more seat: take it, then ask for another."""
    first = make_request_file(license_key="LIMT-0000-0000-0001", hardware_id="pc-1")
    assert page.request.post("/api/v1/requests", data=first).ok
    inspect(page, make_request_file(license_key="LIMT-0000-0000-0001", hardware_id="pc-2"))
    confirm(page)
    expect(page.locator("#outcome-heading")).to_have_text(
        in_language(language, "This request could not be completed")
    )


@pytest.mark.parametrize("screen", SCREENS)
def test_activation_result_heading_and_download_are_in_view_and_the_form_folds(open_page, screen):
    page = open_page(viewport=SCREENS[screen])

    activate(page)

    expect(page.locator("#upload-form")).to_be_hidden()
    assert_in_view(page, "#outcome-heading")
    assert_in_view(page, "a[download]")
    support.save_screenshot(page, f"activation-result-folded-{screen}")
    page.get_by_role("link", name="Upload another file").click()
    expect(page.locator("#upload-form")).to_be_visible()
    expect(page.locator("#id_file")).to_be_focused()
    expect(page.get_by_role("link", name="Upload another file")).to_be_hidden()
    expect(page.locator("#outcome-heading")).to_have_text(READY)


@pytest.mark.parametrize("screen", SCREENS)
def test_result_page_without_javascript_has_heading_and_download_in_view(open_page, screen):
    page = open_page(viewport=SCREENS[screen], java_script_enabled=False)
    page.set_input_files("#id_file", request_file(ACTIVATE))
    page.get_by_role("button", name="Check the file").click()

    page.get_by_role("button", name="Get my license file").click()

    expect(page.locator("#outcome-heading")).to_have_text(READY)
    assert_in_view(page, "#outcome-heading")
    assert_in_view(page, "a[download]")
    expect(page.get_by_role("link", name="Upload another file")).to_have_attribute("href", "/")


def test_folded_form_comes_back_for_a_deactivation(page):
    activate(page)
    page.get_by_role("link", name="Upload another file").click()

    deactivate(page)

    expect(page.locator("#outcome-heading")).to_have_text(DEACTIVATED)
    expect(page.locator("#outcome")).to_contain_text("Test Product (TP)")
    expect(page.locator("#upload-form")).to_be_hidden()
    expect(page.get_by_role("link", name="Upload another file")).to_be_visible()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_touch_device_says_choose_not_drop(open_page, javascript):
    page = open_page(java_script_enabled=javascript, **TOUCH)

    expect(page.get_by_text("Choose your request file")).to_be_visible()
    expect(page.get_by_text("Drop your request file here")).to_be_hidden()
    expect(page.get_by_text("Bring it to this device.")).to_be_visible()
    expect(page.get_by_text("Nothing else on your device is read.")).to_be_visible()
    shown = page.locator("main").inner_text()  # the words on screen, not those switched off
    assert "this computer" not in shown
    assert "Drop your" not in shown and "Drop it" not in shown
    if javascript:
        # Not full-page: Chromium drops the touch emulation while it takes one of those.
        page.screenshot(path=str(support.SCREENSHOTS / "upload-touch.png"))
        assert_accessible(page, "upload page (touch)")


def test_laptop_still_says_drop_and_this_computer(page):
    expect(page.get_by_text("Drop your request file here")).to_be_visible()
    expect(page.get_by_text("Choose your request file")).to_be_hidden()
    expect(page.get_by_text("Bring it to this computer")).to_be_visible()


def test_seat_limit_error_says_how_to_free_a_seat(page, settings):
    settings.PORTAL_SUPPORT_EMAIL = "support@vendor.example"

    seat_limit_error(page)

    outcome = page.locator("#outcome")
    expect(outcome).to_contain_text("make a deactivation request file")
    expect(outcome.get_by_role("button", name="Try again")).to_have_count(0)
    expect(outcome.get_by_role("link", name="Choose another file")).to_be_visible()
    support_link = outcome.get_by_role("link", name="E-mail support")
    expect(support_link).to_have_attribute("href", re.compile(r"^mailto:support@vendor\.example\?"))
    expect(support_link).not_to_have_attribute("href", re.compile("LIMT"))
    assert_accessible(page, "seat limit error with next step")
    support.save_screenshot(page, "error-seat-limit-next-step")


def test_seat_limit_error_in_arabic_fits_a_phone(open_page, settings):
    settings.PORTAL_SUPPORT_EMAIL = "support@vendor.example"
    page = open_page(locale="ar", viewport=SCREENS["phone"])

    seat_limit_error(page, "ar")

    panel = page.locator(".panel-error")
    edges = panel.evaluate(
        "(el) => [getComputedStyle(el).borderRightWidth, getComputedStyle(el).borderLeftWidth]"
    )
    assert edges == ["6px", "1px"]
    assert support.horizontal_overflow(page) == 0
    with translation.override("ar"):
        next_step = str(NEXT_STEPS["license_activated_max_times"])
    # The small print keeps the License API's own English words, as in every language.
    expect(page.locator(".next-step")).to_contain_text(next_step)
    expect(page.get_by_role("link", name=in_language("ar", "E-mail support"))).to_be_visible()
    support.save_screenshot(page, "ar-error-seat-limit-375px")
