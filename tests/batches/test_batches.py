"""Batches through the pages, without a browser: the License API faked at the transport."""

from __future__ import annotations

import base64
import csv
import io
import json
import threading
import time
import zipfile
from datetime import timedelta

import httpx
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from portal.batches.models import Batch, BatchItem
from portal.tenants import resolution
from portal.tenants.models import TenantHost, TenantSettings
from tests.factories import LICENSE_OBJECT, make_request_file, read_vector

# The runner works in threads of its own: they see only committed rows.
pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "s3cret-Pa55"


def _files(*texts_and_names: tuple[str, str]) -> list[SimpleUploadedFile]:
    return [SimpleUploadedFile(name, text.encode()) for text, name in texts_and_names]


def _activation(number: int) -> tuple[str, str]:
    text = make_request_file(
        hardware_id=f"hwid-{number:04d}",
        request_id=f"00000000-0000-4000-8000-{number:012d}",
        hostname=f"lab-pc-{number:02d}",
    )
    return text, f"lab-pc-{number:02d}.req"


def _answer_per_computer(request: httpx.Request) -> httpx.Response:
    """A license whose bytes differ per computer, spaced as the License API's own."""
    fields = json.loads(base64.b64decode(request.content))
    fields = fields.get("request", fields)
    body = {**LICENSE_OBJECT, "id": fields["hardware_id"], "license_key": "FUH3-4E7A-LZJL-7JTP"}
    return httpx.Response(200, content=json.dumps(body, indent=2).encode())


def _start(client: Client, files: list[SimpleUploadedFile], **extra: str) -> str:
    response = client.post("/batch/", {"file": files}, **extra)
    assert response.status_code == 303, response.content[:500]
    return response["Location"]


def _run(client: Client, batch_url: str, **extra: str) -> str:
    """Confirm the batch and poll its page until it is finished; its last HTML."""
    confirmed = client.post(f"{batch_url}confirm", **extra)
    assert confirmed.status_code == 303
    return _poll_until_finished(client, batch_url, **extra)


def _poll_until_finished(client: Client, batch_url: str, **extra: str) -> str:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        html = client.get(batch_url, **extra).content.decode()
        if 'data-batch-state="finished"' in html:
            return html
        time.sleep(0.2)
    raise AssertionError("the batch never finished")


def _zip(client: Client, batch_url: str) -> zipfile.ZipFile:
    response = client.get(f"{batch_url}license-files.zip")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    return zipfile.ZipFile(io.BytesIO(response.content))


def _summary(archive: zipfile.ZipFile) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(archive.read("summary.csv").decode())))


def test_batch_of_forty_mixed_files_fills_the_table_and_zips_the_license_files(client, upstream):
    activations = [_activation(number) for number in range(1, 38)]
    at_limit = make_request_file(hardware_id="hwid-full", hostname="lab-pc-full")
    deactivation = make_request_file(kind="deactivation", hardware_id="hwid-old", hostname="old")
    upstream.answers["activate_offline"] = [_answer_per_computer]
    upstream.error("deactivate_offline", 200, "", "")
    upstream.answers["deactivate_offline"] = [lambda request: httpx.Response(200, text="")]
    seat_limit = httpx.Response(
        400, json={"status": 400, "code": "license_activated_max_times", "message": "max"}
    )

    def activate(request: httpx.Request) -> httpx.Response:
        if b"hwid-full" in base64.b64decode(request.content):
            return seat_limit
        return _answer_per_computer(request)

    upstream.answers["activate_offline"] = [activate]
    files = _files(
        *activations,
        (at_limit, "lab-pc-full.req"),
        (deactivation, "old.req"),
        ("not a request file", "notes.txt"),
    )

    batch_url = _start(client, files)
    check = client.get(batch_url).content.decode()
    assert check.count("<tr") == 41  # the header and the 40 files
    assert "Deactivation" in check and "Cannot be sent" in check
    assert "Send 39 files" in check
    assert upstream.requests == []  # nothing sent before the confirmation

    html = _run(client, batch_url)

    assert "40 of 40 files done." in html
    assert html.count("License file ready") == 37
    assert "Computer deactivated" in html
    assert "already active on its maximum number of computers" in html
    assert "Download all license files (ZIP)" in html
    archive = _zip(client, batch_url)
    licenses = [name for name in archive.namelist() if name.endswith(".lic")]
    assert len(licenses) == 37
    for number in range(1, 38):
        upstream_body = json.dumps(
            {**LICENSE_OBJECT, "id": f"hwid-{number:04d}", "license_key": "FUH3-4E7A-LZJL-7JTP"},
            indent=2,
        ).encode()
        assert archive.read(f"lab-pc-{number:02d}_TP.lic") == base64.b64encode(upstream_body)
    rows = _summary(archive)
    assert len(rows) == 40
    by_file = {row["file"]: row for row in rows}
    assert by_file["lab-pc-01.req"]["outcome"] == "License file ready"
    assert by_file["lab-pc-full.req"]["code"] == "license_activated_max_times"
    assert by_file["lab-pc-full.req"]["support_reference"]
    assert by_file["old.req"]["kind"] == "deactivation"
    assert by_file["old.req"]["outcome"] == "Computer deactivated"
    assert by_file["notes.txt"]["outcome"] == "Not sent"


def test_batch_check_step_shows_each_files_warnings_and_the_license_file_mix_up(client):
    old = make_request_file(date="Mon, 02 Jan 2023 10:00:00 GMT", hostname="attic-pc")
    license_file = base64.b64encode(json.dumps(LICENSE_OBJECT).encode()).decode()
    batch_url = _start(client, _files((old, "attic.req"), (license_file, "ls_activation.lic")))

    check = client.get(batch_url).content.decode()

    assert "made more than a week ago" in check
    assert "This is a license file, not a request file" in check
    assert "Send 1 file" in check


def test_batch_table_links_each_file_to_its_own_download(client, upstream):
    upstream.answers["activate_offline"] = [_answer_per_computer]
    batch_url = _start(client, _files(_activation(1), _activation(2)))

    html = _run(client, batch_url)

    item = BatchItem.objects.get(filename="lab-pc-02.req")
    download = client.get(f"/r/{item.result_token}/ls_activation.lic")
    assert f'href="/r/{item.result_token}/ls_activation.lic"' in html
    assert download.content == base64.b64encode(bytes(item.license_file))


def test_batch_relays_no_more_files_at_once_than_its_bound(client, upstream, settings):
    settings.PORTAL_BATCH_CONCURRENCY = 3
    lock, in_flight, most = threading.Condition(), [0], [0]

    def slow_activation(request: httpx.Request) -> httpx.Response:
        with lock:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
            lock.notify_all()
            # Hold each call until the bound is reached (or a generous while), so that a
            # runner that exceeded it would be caught here.
            lock.wait_for(lambda: in_flight[0] >= 3, timeout=5)
        time.sleep(0.05)
        with lock:
            in_flight[0] -= 1
        return _answer_per_computer(request)

    upstream.answers["activate_offline"] = [slow_activation]
    batch_url = _start(client, _files(*[_activation(number) for number in range(1, 13)]))

    html = _run(client, batch_url)

    assert html.count("License file ready") == 12
    assert most[0] == 3


def test_batch_page_is_not_found_on_another_tenants_host(client, upstream):
    resolution.forget_cached_tenants()
    acme = TenantSettings(slug="acme", name="Acme", api_url="https://api.acme.test/api/v4")
    acme.save()
    TenantHost.objects.create(tenant=acme, host="offline.acme.test")
    batch_url = _start(client, _files(_activation(1)))

    elsewhere = client.get(batch_url, HTTP_HOST="offline.acme.test")

    assert client.get(batch_url).status_code == 200
    assert elsewhere.status_code == 404
    assert client.post(f"{batch_url}confirm", HTTP_HOST="offline.acme.test").status_code == 404
    resolution.forget_cached_tenants()


def test_batch_left_by_a_dead_runner_is_finished_by_the_next_look_at_its_page(client, upstream):
    upstream.answers["activate_offline"] = [_answer_per_computer]
    batch_url = _start(client, _files(_activation(1), _activation(2)))
    # As a runner leaves a batch when its process is killed mid-way: confirmed, both leases
    # taken, then never renewed.
    lapsed = timezone.now() - timedelta(seconds=1)
    Batch.objects.update(confirmed_at=lapsed, runner_until=lapsed)
    BatchItem.objects.update(claimed_until=lapsed)

    html = _poll_until_finished(client, batch_url)

    assert html.count("License file ready") == 2
    assert len(upstream.requests) == 2


def test_batch_keeps_files_encrypted_and_drops_them_once_sent(client, upstream):
    upstream.answer("activate_offline", body=json.dumps(LICENSE_OBJECT).encode())
    text = read_vector("py_activate_user.req")
    upstream.answers["activate_offline"] = [
        lambda request: httpx.Response(
            200, json={**LICENSE_OBJECT, "user": {"email": "alice@example.com"}}
        )
    ]
    batch_url = _start(client, _files((text, "alice.req"), _activation(1)))

    stored = BatchItem.objects.get(filename="alice.req").content
    assert PASSWORD not in stored and text.strip() not in stored
    assert base64.b64encode(PASSWORD.encode()).decode()[:8] not in stored
    _run(client, batch_url)
    assert list(BatchItem.objects.values_list("content", flat=True)) == ["", ""]


def test_batch_runs_on_a_portal_without_a_secrets_key(client, upstream, settings):
    settings.PORTAL_SECRETS_KEYS = []
    upstream.answers["activate_offline"] = [_answer_per_computer]
    batch_url = _start(client, _files(_activation(1), _activation(2)))

    html = _run(client, batch_url)

    assert html.count("License file ready") == 2


def test_batch_counts_each_file_as_a_check_and_over_the_limit_keeps_nothing(client, settings):
    settings.PORTAL_CHECK_RATE_LIMIT = 3
    _start(client, _files(_activation(1), _activation(2)))

    refused = client.post("/batch/", {"file": _files(_activation(3), _activation(4))})

    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    assert "Too many requests" in refused.content.decode()
    assert BatchItem.objects.count() == 2


def test_batch_file_over_the_rate_limit_waits_for_its_window(client, upstream, settings):
    settings.PORTAL_RATE_LIMIT = 2
    settings.PORTAL_RATE_LIMIT_WINDOW = 2
    upstream.answers["activate_offline"] = [_answer_per_computer]
    batch_url = _start(client, _files(*[_activation(number) for number in range(1, 6)]))

    html = _run(client, batch_url)

    assert html.count("License file ready") == 5
    assert "Too many requests" not in html


def test_batch_over_the_cap_is_refused_before_anything_is_kept(client, upstream, settings):
    settings.PORTAL_BATCH_MAX_FILES = 3

    response = client.post("/batch/", {"file": _files(*[_activation(n) for n in range(4)])})

    assert response.status_code == 413
    assert "A batch holds at most 3 files." in response.content.decode()
    assert Batch.objects.count() == 0


def test_batch_form_without_files_asks_for_them(client):
    response = client.post("/batch/", {})

    assert response.status_code == 400
    assert "Choose one or more request files first." in response.content.decode()


def test_batch_cancelled_before_confirmation_sends_nothing_and_keeps_nothing(client, upstream):
    batch_url = _start(client, _files(_activation(1), _activation(2)))

    response = client.post(f"{batch_url}cancel")

    assert response.status_code == 303
    assert Batch.objects.count() == BatchItem.objects.count() == 0
    assert upstream.requests == []
    assert client.get(batch_url).status_code == 404


def test_batch_running_page_refreshes_itself_without_javascript(client, upstream):
    release = threading.Event()

    def held(request: httpx.Request) -> httpx.Response:
        release.wait(timeout=30)
        return _answer_per_computer(request)

    upstream.answers["activate_offline"] = [held]
    batch_url = _start(client, _files(_activation(1)))
    client.post(f"{batch_url}confirm")

    running = client.get(batch_url).content.decode()
    table = client.get(batch_url, HTTP_HX_REQUEST="true").content.decode()
    release.set()
    finished = _poll_until_finished(client, batch_url)

    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in running
    assert 'hx-trigger="every 1s"' in table and "<html" not in table
    assert 'http-equiv="refresh"' not in finished
    assert 'hx-trigger="every 1s"' not in finished


def test_purge_removes_expired_batches_with_their_files(client):
    _start(client, _files(_activation(1), _activation(2)))
    Batch.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    out = io.StringIO()

    call_command("purge", stdout=out)

    assert "1 expired batches" in out.getvalue()
    assert Batch.objects.count() == BatchItem.objects.count() == 0
