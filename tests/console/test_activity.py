"""Activity: every relay of the tenant in the console, searchable, exported, charted, purged."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from portal.console.models import Activity
from tests.console.conftest import ACME, GLOBEX
from tests.factories import LICENSE_BODY, make_request_file

pytestmark = pytest.mark.django_db


def upload(host: str, text: str) -> str:
    file = SimpleUploadedFile("ls_activation.req", text.encode())
    return Client().post("/", {"file": file}, HTTP_HOST=host).content.decode()


def export(owner, query: str = "") -> list[list[str]]:
    response = owner.get(f"/console/activity.csv{query}")
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_activity_finds_an_upload_by_its_support_reference(acme_owner, upstream) -> None:
    upstream.error("activate_offline", 400, "license_not_found", "License not found")
    page = upload(ACME, make_request_file(license_key="AAAA-BBBB-CCCC-Q7Z9"))
    reference = re.search(r"Support reference: <code>([0-9A-F]+)</code>", page).group(1)

    found = acme_owner.get(f"/console/activity/?reference={reference.lower()}")

    text = found.content.decode()
    assert reference in text
    assert "license_not_found" in text
    assert "…Q7Z9" in text
    assert "AAAA-BBBB" not in text


def test_activity_shows_the_users_email_never_the_password(acme_owner, upstream) -> None:
    upstream.answer("activate_offline", body=LICENSE_BODY)
    upload(
        ACME,
        make_request_file(
            license_key=None, username="ann@customer.test", password="hunter2-secret"
        ),
    )

    rows = export(acme_owner)

    assert rows[1][3] == "ann@customer.test"
    assert not any("hunter2-secret" in cell for row in rows for cell in row)


def test_activity_filters_and_exports_only_matching_rows(acme_owner, upstream) -> None:
    upstream.answer("activate_offline", body=LICENSE_BODY)
    upload(ACME, make_request_file(product="TP", license_key="AAAA-BBBB-CCCC-1111"))
    upload(ACME, make_request_file(product="OTHER", license_key="AAAA-BBBB-CCCC-2222"))
    upload(ACME, make_request_file(product="TP", license_key="AAAA-BBBB-CCCC-3333"))

    rows = export(acme_owner, "?product=tp&last4=3333")
    page = acme_owner.get("/console/activity/?product=TP").content.decode()

    assert rows[0][:3] == ["time", "kind", "product"]
    assert [(row[2], row[3]) for row in rows[1:]] == [("TP", "…3333")]
    assert "2 relays" in page


def test_activity_of_another_tenant_never_shows(acme_owner, globex_owner, upstream) -> None:
    upstream.answer("activate_offline", body=LICENSE_BODY)
    upload(GLOBEX, make_request_file(license_key="GLOB-EXGL-OBEX-9999"))

    assert len(export(acme_owner)) == 1
    assert len(export(globex_owner)) == 2


def test_chart_counts_uploads_made_in_the_test(acme_owner, upstream) -> None:
    upstream.answer("activate_offline", body=LICENSE_BODY)
    upstream.answer("deactivate_offline", body=b"")
    for last4 in ["1111", "2222", "3333"]:
        upload(ACME, make_request_file(license_key=f"AAAA-BBBB-CCCC-{last4}"))
    upload(ACME, make_request_file(kind="deactivation"))

    svg = acme_owner.get("/console/activity/chart/?days=90").content.decode()

    assert "3 activations, 1 deactivations" in svg
    assert svg.count('<rect class="bar-activation"') == 2  # all products, and the one product
    assert "style=" not in svg


def test_purge_deletes_activity_past_the_tenants_retention(acme_owner, upstream) -> None:
    upstream.answer("activate_offline", body=LICENSE_BODY)
    upload(ACME, make_request_file(license_key="AAAA-BBBB-CCCC-OLD1"))
    upload(ACME, make_request_file(license_key="AAAA-BBBB-CCCC-NEW1"))
    acme_owner.post("/console/retention/", {"activity_retention_days": "30"})
    Activity.objects.filter(license_last4="OLD1").update(at=timezone.now() - timedelta(days=31))

    call_command("purge", stdout=io.StringIO())

    assert [row[3] for row in export(acme_owner)[1:]] == ["…NEW1"]


def test_csv_export_keeps_a_computer_name_from_running_as_a_formula(acme_owner, upstream) -> None:
    upstream.answer("activate_offline", body=LICENSE_BODY)
    upload(ACME, make_request_file(hostname='=HYPERLINK("https://evil.test","x")'))

    rows = export(acme_owner)

    assert rows[1][4] == '\'=HYPERLINK("https://evil.test","x")'


def test_chart_shows_each_product_as_its_own_series(acme_owner, upstream) -> None:
    upstream.answer("activate_offline", body=LICENSE_BODY)
    upstream.answer("deactivate_offline", body=b"")
    upload(ACME, make_request_file(product="TP", license_key="AAAA-BBBB-CCCC-1111"))
    upload(ACME, make_request_file(product="TP", license_key="AAAA-BBBB-CCCC-2222"))
    upload(ACME, make_request_file(product="SUITE", license_key="AAAA-BBBB-CCCC-3333"))
    upload(ACME, make_request_file(product="SUITE", kind="deactivation"))

    page = acme_owner.get("/console/activity/chart/").content.decode()

    titles = re.findall(r'<title id="chart-\d+-title">([^<]*)</title>', page)
    assert sorted(titles) == [
        "SUITE: 1 activations, 1 deactivations.",
        "TP: 2 activations, 0 deactivations.",
    ]
    today = timezone.localdate().isoformat()
    cells = re.findall(
        r"<tr><td>([^<]*)</td><td>([^<]*)</td><td>(\d+)</td><td>(\d+)</td></tr>", page
    )
    assert cells == [(today, "SUITE", "1", "1"), (today, "TP", "2", "0")]
