"""A 40-file batch in a real browser, with and without JavaScript, relayed to the built-in
sandbox License API over HTTP (mixed outcomes: activations, a deactivation, a file at its
license's seat limit, a file that is no request file)."""

from __future__ import annotations

import base64
import csv
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import Client
from playwright.sync_api import Page, expect

from portal.batches.models import BatchItem
from portal.relay import upstream as upstream_client
from sandbox.seeding import seed_sandbox
from tests import browser_support as support
from tests.factories import make_request_file, seed_demo

pytestmark = pytest.mark.django_db(transaction=True)

FLEET_KEY = "FLEE-T000-0000-0001"
LIMIT_KEY = "LIMT-0000-0000-0001"  # the demo seed's license with one seat


@pytest.fixture
def portal(live_server, settings, tmp_path: Path) -> Iterator[str]:
    """The default tenant relaying to the sandbox, with a license for a fleet of computers."""
    seed_demo(settings, tmp_path / "sandbox_key.pem")
    seed_sandbox(
        {"licenses": [{"product": "TP", "license_key": FLEET_KEY, "max_activations": 100}]}
    )
    settings.LICENSE_API_URL = f"{live_server.url}/sandbox/api/v4"
    settings.LICENSE_API_BUNDLE_PRODUCTS = []
    upstream_client.set_client(None)
    yield live_server.url
    upstream_client.set_client(None)


# Forty files take a while on a busy machine; the table is wide.
WIDE = {"viewport": {"width": 1280, "height": 900}, "timeout_ms": 60_000}


def _request_file(*, kind: str = "activation", key: str = FLEET_KEY, computer: str) -> str:
    return make_request_file(
        kind=kind,
        license_key=key,
        hardware_id=f"hwid-{computer}",
        request_id=f"00000000-0000-4000-8000-{abs(hash(computer)) % 10**12:012d}",
        hostname=computer,
    )


@pytest.fixture
def fleet(portal: str) -> list[dict[str, object]]:
    """40 files: 37 activations, one of a license whose seat is taken, the deactivation of a
    computer activated before, and a text file."""
    api = Client()
    for text in (
        _request_file(key=LIMIT_KEY, computer="bench-old"),
        _request_file(computer="retired-pc"),
    ):
        assert api.post("/api/v1/requests", data=text, content_type="text/plain").status_code == 200
    files = [(f"lab-pc-{n:02d}", _request_file(computer=f"lab-pc-{n:02d}")) for n in range(37)]
    files.append(("bench-new", _request_file(key=LIMIT_KEY, computer="bench-new")))
    files.append(("retired-pc", _request_file(kind="deactivation", computer="retired-pc")))
    named = [{"name": f"{name}.req", "mimeType": "text/plain", "buffer": text.encode()}
             for name, text in files]  # fmt: skip
    named.append({"name": "notes.txt", "mimeType": "text/plain", "buffer": b"see attached"})
    return named


def _check_and_send(page: Page, *, javascript: bool = True) -> None:
    expect(page.locator("h1")).to_have_text("Check the files")
    expect(page.locator("#batch-check tbody tr")).to_have_count(40)
    expect(page.locator("#batch-check")).to_contain_text("Deactivation")
    expect(page.locator("#batch-check")).to_contain_text("Cannot be sent")
    expect(page.locator("#batch-confirm")).to_have_text("Send 39 files")
    state = "batch check step" + ("" if javascript else " (no JS)")
    assert support.check_accessibility(page, state, javascript=javascript) == []
    support.save_screenshot(page, state.replace(" ", "-").replace("(", "").replace(")", ""))
    page.click("#batch-confirm")


def _assert_finished(page: Page) -> None:
    expect(page.locator("#batch-zip")).to_be_visible(timeout=120_000)
    expect(page.locator("#batch-status")).to_have_text("40 of 40 files done.")
    results = page.locator("#batch-results tbody")
    expect(results.locator("tr[data-outcome=activated]")).to_have_count(37)
    expect(results.locator("tr[data-outcome=deactivated]")).to_have_count(1)
    expect(results.locator("tr[data-outcome=failed]")).to_contain_text("maximum number")
    expect(results.locator("tr[data-outcome=invalid]")).to_contain_text("notes.txt")


def _assert_zip(page: Page) -> None:
    with page.expect_download() as download:
        page.click("#batch-zip")
    assert download.value.suggested_filename == "license-files.zip"
    archive = zipfile.ZipFile(Path(download.value.path()))
    for n in range(37):
        item = BatchItem.objects.get(filename=f"lab-pc-{n:02d}.req")
        # What the sandbox answered for that computer, base64, as a single download gives it.
        assert archive.read(f"lab-pc-{n:02d}_TP.lic") == base64.b64encode(item.license_file)
    rows = list(csv.DictReader(io.StringIO(archive.read("summary.csv").decode())))
    assert len(rows) == 40
    full = next(row for row in rows if row["file"] == "bench-new.req")
    assert full["code"] == "license_activated_max_times"


def test_batch_of_forty_files_with_javascript_fills_in_and_zips(open_page, fleet):
    page = open_page("/", **WIDE)

    page.set_input_files("#id_file", fleet)
    _check_and_send(page)
    expect(page.locator("#batch-progress")).to_have_attribute("hx-trigger", "every 1s")

    _assert_finished(page)
    expect(page.locator("h1")).to_have_text("Batch finished")
    assert page.evaluate("() => document.activeElement.id") == "batch-zip"
    assert support.check_accessibility(page, "batch finished") == []
    support.save_screenshot(page, "batch-finished")
    # The top of it, as docs/screenshots/batch-finished.png shows it.
    page.screenshot(path=str(support.SCREENSHOTS / "batch-finished-top.png"))
    _assert_zip(page)


def test_batch_of_forty_files_without_javascript_refreshes_until_done(open_page, fleet):
    page = open_page("/batch/", java_script_enabled=False, **WIDE)

    page.set_input_files("#id_files", fleet)
    page.click("text=Check the files")
    _check_and_send(page, javascript=False)

    _assert_finished(page)
    assert 'http-equiv="refresh"' not in page.content()
    assert support.check_accessibility(page, "batch finished (no JS)", javascript=False) == []
    support.save_screenshot(page, "batch-finished-no-js")
    _assert_zip(page)


@pytest.mark.parametrize("path", ["/", "/batch/"])
def test_files_dropped_together_go_to_the_batch_check_step_once(open_page, path):
    page = open_page(path, **WIDE)
    posts: list[str] = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else 0)
    texts = [_request_file(computer=f"drop-pc-{n}") for n in (1, 2)]
    transfer = page.evaluate_handle(
        """(texts) => {
          const transfer = new DataTransfer();
          texts.forEach((text, n) => transfer.items.add(new File([text], `pc${n + 1}.req`)));
          return transfer;
        }""",
        texts,
    )

    page.dispatch_event("[data-dropzone]", "drop", {"dataTransfer": transfer})

    expect(page.locator("h1")).to_have_text("Check the files")
    expect(page.locator("#batch-check tbody tr")).to_have_count(2)
    assert len([url for url in posts if url.endswith("/batch/")]) == 1
