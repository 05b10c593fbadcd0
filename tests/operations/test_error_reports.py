"""Error reports (DEBUG pages, mails to admins) never show what the License API client held."""

from __future__ import annotations

import sys

import httpx
import pytest
from django.views.debug import ExceptionReporter

from portal.licensespring.client import Credentials, LicenseApiClient
from portal.licensespring.request_files import read_request_file
from tests.factories import API_KEY, SHARED_KEY, read_vector


def report_of_a_crash_inside_the_client(rf) -> tuple[str, httpx.Request]:
    sent: list[httpx.Request] = []

    def crash(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        raise RuntimeError("a bug below the client")

    client = LicenseApiClient(
        connect_timeout=1.0, read_timeout=1.0, deadline=5.0, transport=httpx.MockTransport(crash)
    )
    request_file = read_request_file(read_vector("py_activate_user.req"))
    try:
        client.post(
            credentials=Credentials("https://license-api.test/api/v4", API_KEY, SHARED_KEY),
            endpoint="activate_offline",
            request_file=request_file,
        )
    except RuntimeError:
        report = ExceptionReporter(rf.post("/api/v1/requests"), *sys.exc_info())
    return report.get_traceback_html() + report.get_traceback_text(), sent[0]


@pytest.mark.parametrize("debug", [False, True])
def test_error_report_of_a_crash_in_the_client_shows_no_secret(rf, settings, debug) -> None:
    settings.DEBUG = debug

    report, sent = report_of_a_crash_inside_the_client(rf)

    assert "a bug below the client" in report  # the report is there, with its traceback
    assert "portal/licensespring/client.py" in report
    # Not a line of the request file, whose text holds the user's password.
    text = sent.content.decode()
    assert not [
        text[at : at + 40] for at in range(0, len(text) - 40, 20) if text[at : at + 40] in report
    ]
    assert sent.headers["Authorization"].split('signature="')[1][:20] not in report
    assert SHARED_KEY not in report
