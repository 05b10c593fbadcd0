"""What a file holds, told before anything is sent (portal.relay.inspection)."""

from __future__ import annotations

from datetime import timedelta
from email.utils import format_datetime

import pytest
from django.utils import timezone

from portal.relay.inspection import inspect_upload
from portal.relay.services import relay_request
from portal.tenants.resolution import default_tenant
from tests.factories import (
    BUNDLE_BODY,
    LICENSE_BODY,
    license_file_text,
    make_request_file,
    read_vector,
)

pytestmark = pytest.mark.django_db


def _inspect(data: str, filename: str = "ls_activation.req"):
    return inspect_upload(tenant=default_tenant(), data=data, filename=filename)


def _dated(delta: timedelta) -> str:
    return make_request_file(date=format_datetime(timezone.now() + delta, usegmt=True))


def test_inspect_upload_activation_shows_what_the_file_holds(upstream):
    inspection = _inspect(read_vector("py_activate_key.req"))

    assert inspection.kind == "activation"
    assert inspection.can_send
    assert inspection.product == "TP"
    assert inspection.license_label == "…7JTP"
    assert (inspection.computer, inspection.os) == ("lab-pc-01", "Linux 6.1")
    assert inspection.sdk == "PythonSDK 4.0.0 · 1.2.0"
    assert inspection.request_date.isoformat() == "2026-11-24T15:57:45+00:00"
    assert upstream.requests == []


def test_inspect_upload_user_based_file_shows_the_email_not_the_password():
    inspection = _inspect(read_vector("py_activate_user.req"))

    assert inspection.license_label == "alice@example.com"
    assert "s3cret-Pa55" not in repr(inspection)


def test_inspect_upload_deactivation_lists_the_usage_it_will_sync():
    inspection = _inspect(read_vector("py_deactivate_key_consumption.req"))

    assert inspection.kind == "deactivation"
    assert inspection.sync_summary == (
        "3 uses of the license",
        "2 uses of the feature export",
        "Device setting seat = 7",
    )


def test_inspect_upload_node_file_reads_its_javascript_date():
    inspection = _inspect(read_vector("node_activate_key.req"))

    assert inspection.request_date.isoformat() == "2026-11-24T15:58:26+00:00"
    assert inspection.sdk == "1.4.17 · NodeSample 2.0.1"


def test_inspect_upload_product_name_comes_from_a_kept_result(upstream):
    upstream.answer("activate_offline", body=LICENSE_BODY)
    relay_request(tenant=default_tenant(), data=read_vector("py_activate_key.req"))

    inspection = _inspect(read_vector("node_activate_key.req"))

    assert inspection.product == "Test Product"


def test_inspect_upload_recent_file_has_no_warning():
    assert _inspect(_dated(timedelta(minutes=-5))).warnings == ()


def test_inspect_upload_file_older_than_a_week_is_warned_about():
    (warning,) = _inspect(_dated(timedelta(days=-8))).warnings

    assert "more than a week ago" in warning


def test_inspect_upload_file_dated_in_the_future_blames_the_clock():
    (warning,) = _inspect(_dated(timedelta(days=2))).warnings

    assert "clock" in warning


def test_inspect_upload_other_vendors_file_is_warned_about_and_cannot_be_sent():
    text = make_request_file(api_key="someone-elses-key", date=format_datetime(timezone.now()))

    inspection = _inspect(text)

    assert not inspection.can_send
    assert any("another vendor" in warning for warning in inspection.warnings)


def test_inspect_upload_file_already_used_links_to_its_result(upstream):
    upstream.answer("activate_offline", body=LICENSE_BODY)
    text = make_request_file(date=format_datetime(timezone.now(), usegmt=True))
    result = relay_request(tenant=default_tenant(), data=text)

    inspection = _inspect(text)

    assert inspection.previous_result_url == f"/r/{result.token}/"
    assert any("already sent" in warning for warning in inspection.warnings)
    assert len(upstream.requests) == 1


def test_inspect_upload_single_license_file_says_what_it_unlocks():
    inspection = _inspect(license_file_text(LICENSE_BODY), "ls_activation.lic")

    assert inspection.kind == "license"
    assert not inspection.can_send
    assert inspection.product == "Test Product"
    assert inspection.valid_until.year == 2030


def test_inspect_upload_bundle_license_file_names_the_bundle():
    inspection = _inspect(license_file_text(BUNDLE_BODY), "ls_activation.lic")

    assert (inspection.kind, inspection.product) == ("license", "Studio Bundle")


def test_inspect_upload_license_file_names_the_computer_a_kept_result_knows(upstream):
    upstream.answer("activate_offline", body=LICENSE_BODY)
    relay_request(tenant=default_tenant(), data=make_request_file(hostname="bench-7"))

    inspection = _inspect(license_file_text(BUNDLE_BODY), "ls_activation.lic")

    assert inspection.computer == "bench-7"


def test_inspect_upload_nothing_chosen_says_to_choose_a_file():
    inspection = _inspect("", "")

    assert (inspection.kind, inspection.error.code) == ("invalid", "nothing_chosen")
    assert inspection.error.message.startswith("Choose your request file first")


def test_inspect_upload_empty_file_is_still_called_empty():
    inspection = _inspect("", "ls_activation.req")

    assert inspection.error.code == "empty"


def test_inspect_upload_damaged_file_is_invalid_with_the_reason():
    inspection = _inspect("not a request file!", "notes.txt")

    assert inspection.kind == "invalid"
    assert inspection.error.status == 400
    assert "not a request file" in inspection.error.message
