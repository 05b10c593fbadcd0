"""JSON logs, and the one structured line each relay writes: what it carries, what it never does."""

from __future__ import annotations

import json
import logging
import sys

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from portal.operations.logging import JsonFormatter
from tests.factories import API_KEY, LICENSE_BODY, SHARED_KEY, read_vector

pytestmark = pytest.mark.django_db

PASSWORD = "s3cret-Pa55"  # in clear inside py_activate_user.req
LICENSE_KEY = "FUH3-4E7A-LZJL-7JTP"  # inside py_activate_key.req


def _record(message: str = "hello %s", *args: object, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("portal.test", logging.INFO, __file__, 1, message, args, None)
    record.__dict__.update(extra)
    return record


def _upload(client, name: str, **extra: str):
    file = SimpleUploadedFile("ls_activation.req", read_vector(name).encode())
    return client.post("/", {"file": file}, **extra)


def _relay_lines(caplog) -> list[dict[str, object]]:
    return [vars(record) for record in caplog.records if record.name == "portal.relay"]


def _everything_logged(caplog) -> str:
    formatter = JsonFormatter()
    return "\n".join(formatter.format(record) for record in caplog.records)


def test_json_formatter_writes_one_object_with_level_logger_and_message():
    line = json.loads(JsonFormatter().format(_record("hello %s", "world")))

    assert line["level"] == "INFO"
    assert line["logger"] == "portal.test"
    assert line["message"] == "hello world"
    assert line["time"].endswith("+00:00")


def test_json_formatter_puts_extra_fields_at_the_top_level():
    line = json.loads(JsonFormatter().format(_record(tenant="acme", total_ms=12.5)))

    assert (line["tenant"], line["total_ms"]) == ("acme", 12.5)


def test_json_formatter_names_objects_instead_of_serializing_them():
    class Request:
        body = b"password=s3cret"

    line = json.loads(JsonFormatter().format(_record(request=Request())))

    assert line["request"] == "Request"


def test_json_formatter_keeps_the_traceback_of_an_exception():
    try:
        raise ValueError("broken")
    except ValueError:
        record = _record(exc_info=sys.exc_info())

    line = json.loads(JsonFormatter().format(record))

    assert "ValueError: broken" in line["exception"]


def test_logging_settings_format_every_line_as_json(settings):
    formatter = settings.LOGGING["formatters"][settings.LOGGING["handlers"]["console"]["formatter"]]

    assert formatter["()"] == "portal.operations.logging.JsonFormatter"


def test_relay_line_carries_tenant_kind_product_endpoint_status_and_timings(
    client, upstream, caplog
):
    upstream.answer("activate_offline", body=LICENSE_BODY)
    caplog.set_level(logging.INFO)

    _upload(client, "py_activate_key.req")

    [line] = _relay_lines(caplog)
    assert line["event"] == "relay"
    assert (line["tenant"], line["kind"], line["product"]) == ("default", "activation", "TP")
    assert (line["endpoint"], line["outcome"]) == ("activate_offline", "ok")
    assert (line["status"], line["code"], line["upstream_status"]) == (200, None, 200)
    assert line["upstream_ms"] >= 0
    assert line["total_ms"] >= line["upstream_ms"]


def test_relay_line_of_an_upstream_error_carries_what_the_user_and_upstream_got(
    client, upstream, caplog
):
    upstream.error("activate_offline", 401, "invalid_api_key")
    caplog.set_level(logging.INFO)

    _upload(client, "py_activate_key.req")

    [line] = _relay_lines(caplog)
    assert (line["outcome"], line["status"], line["code"]) == (
        "error",
        502,
        "portal_credentials_refused",
    )
    assert (line["upstream_status"], line["upstream_code"]) == (401, "invalid_api_key")


def test_relay_line_reference_is_the_support_reference_the_error_page_shows(
    client, upstream, caplog
):
    upstream.error("activate_offline", 400, "license_not_found")
    caplog.set_level(logging.INFO)

    page = _upload(client, "py_activate_key.req").content.decode()

    [line] = _relay_lines(caplog)
    assert f"Support reference: <code>{line['reference']}</code>" in page


def test_refused_file_is_logged_with_its_code_and_no_upstream_call(client, caplog):
    caplog.set_level(logging.INFO)

    client.post("/", {"request_text": "this is not a request file"})

    [line] = _relay_lines(caplog)
    assert (line["outcome"], line["status"], line["code"]) == ("refused", 400, "not_base64")
    assert line["endpoint"] is None


def test_user_based_upload_logs_no_password_and_no_key(client, upstream, caplog):
    upstream.error("activate_offline", 400, "license_not_found", f"bad password {PASSWORD}")
    caplog.set_level(logging.DEBUG)

    _upload(client, "py_activate_user.req")
    _upload(client, "py_activate_user.req", HTTP_HX_REQUEST="true")

    logged = _everything_logged(caplog)
    assert _relay_lines(caplog)
    assert PASSWORD not in logged
    assert SHARED_KEY not in logged
    assert API_KEY not in logged


def test_key_based_upload_logs_only_the_last_four_of_the_license_key(client, upstream, caplog):
    upstream.answer("activate_offline", body=LICENSE_BODY)
    caplog.set_level(logging.DEBUG)

    _upload(client, "py_activate_key.req")

    [line] = _relay_lines(caplog)
    assert line["license"] == "***7JTP"
    assert LICENSE_KEY not in _everything_logged(caplog)
