"""The License API client, as a caller and the License API see it.

Answers come from the MockTransport fake (`upstream`); what needs real sockets (deadlines,
connections dropped, proxies, TLS) from the fake License API server (`faulty_upstream`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import socket
import threading
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx
import pytest

from portal.licensespring.client import (
    Credentials,
    LicenseApiClient,
    LicenseApiError,
    UpstreamResponse,
)
from portal.licensespring.request_files import read_request_file
from portal.licensespring.signing import auth_headers, sign
from tests.factories import (
    API_KEY,
    FAULT_DEADLINE,
    LICENSE_BODY,
    SHARED_KEY,
    make_request_file,
    read_vector,
)

API_URL = "https://license-api.test/api/v4"
CREDENTIALS = Credentials(api_url=API_URL, api_key=API_KEY, shared_key=SHARED_KEY)
ENDPOINTS = [
    "activate_offline",
    "deactivate_offline",
    "activate_bundle_offline",
    "deactivate_bundle_offline",
]
RFC7231_DATE = re.compile(
    r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"\d{4} \d{2}:\d{2}:\d{2} GMT"
)


def post(
    client: LicenseApiClient,
    *,
    endpoint: str = "activate_offline",
    text: str | None = None,
    credentials: Credentials = CREDENTIALS,
) -> UpstreamResponse:
    request_file = read_request_file(text or read_vector("py_activate_key.req"))
    return client.post(credentials=credentials, endpoint=endpoint, request_file=request_file)


def post_failing(client: LicenseApiClient, **options: object) -> LicenseApiError:
    with pytest.raises(LicenseApiError) as caught:
        post(client, **options)
    return caught.value


def expected_signature(date: str) -> str:
    message = f"licenseSpring\ndate: {date}".encode()
    digest = hmac.new(SHARED_KEY.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def live_client(deadline: float = FAULT_DEADLINE) -> LicenseApiClient:
    return LicenseApiClient(connect_timeout=5.0, read_timeout=30.0, deadline=deadline)


def live_credentials(server, api_key: str = API_KEY) -> Credentials:
    return Credentials(api_url=server.url, api_key=api_key, shared_key=SHARED_KEY)


def test_sign_matches_a_known_vector() -> None:
    # Computed independently: printf 'licenseSpring\ndate: <date>' | openssl dgst -sha256 -hmac
    assert sign(SHARED_KEY, "Thu, 17 Nov 2022 20:51:35 GMT") == (
        "jwK07fTHx5fJ9PPQbC/RB74ZsQR3OqSJ5+fjLFOmNqM="
    )


def test_auth_headers_carry_the_date_and_the_signed_authorization() -> None:
    date = "Thu, 17 Nov 2022 20:51:35 GMT"

    assert auth_headers(CREDENTIALS, date) == {
        "Date": date,
        "Authorization": 'algorithm="hmac-sha256",headers="date",'
        f'signature="jwK07fTHx5fJ9PPQbC/RB74ZsQR3OqSJ5+fjLFOmNqM=",apiKey="{API_KEY}"',
    }


def test_post_signs_a_current_rfc7231_date_with_the_shared_key(upstream) -> None:
    upstream.answer("activate_offline", body=LICENSE_BODY)

    post(upstream.client)

    date = upstream.requests[0].headers["Date"]
    assert RFC7231_DATE.fullmatch(date)
    assert abs((parsedate_to_datetime(date) - datetime.now(UTC)).total_seconds()) < 60
    assert upstream.requests[0].headers["Authorization"] == (
        f'algorithm="hmac-sha256",headers="date",signature="{expected_signature(date)}",'
        f'apiKey="{API_KEY}"'
    )


def test_post_relays_the_file_text_byte_for_byte_as_plain_text(upstream) -> None:
    upstream.answer("activate_offline", body=LICENSE_BODY)
    text = read_vector("py_activate_key.req")

    post(upstream.client, text=text)

    sent = upstream.requests[0]
    assert sent.content == text.strip().encode()
    assert sent.headers["Content-Type"] == "text/plain"
    assert sent.headers["Accept"] == "application/json"
    assert sent.headers["User-Agent"] == "OfflinePortal/0.1"


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_post_posts_to_the_endpoint_under_the_api_url(upstream, endpoint: str) -> None:
    upstream.answer(endpoint, body=LICENSE_BODY)

    post(upstream.client, endpoint=endpoint)

    assert upstream.requests[0].method == "POST"
    assert str(upstream.requests[0].url) == f"{API_URL}/{endpoint}"


def test_post_returns_the_exact_answer_bytes(upstream) -> None:
    raw = b'{"z": 1,  "product_features":[ ],\n "license_signature_v2" :"x/y+z="}\n'
    upstream.answer("activate_offline", body=raw)

    response = post(upstream.client)

    assert (response.status, response.body) == (200, raw)


@pytest.mark.parametrize(
    ("status", "code", "message"),
    [
        (400, "license_activated_max_times", "License activated max times"),
        (401, "signature_mismatch", "Signature mismatch"),
        (404, "not_found", "Not found"),
    ],
)
def test_post_raises_an_api_error_with_its_status_code_and_message(
    upstream, status: int, code: str, message: str
) -> None:
    upstream.error("activate_offline", status, code, message)

    error = post_failing(upstream.client)

    assert (error.status, error.code, error.message) == (status, code, message)
    assert error.retry_after is None


def test_post_flattens_a_structured_error_message(upstream) -> None:
    upstream.answer(
        "activate_offline", 400, {"code": "validation_error", "message": {"hardware_id": ["x"]}}
    )

    assert post_failing(upstream.client).message == '{"hardware_id": ["x"]}'


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [("3", 3), ("0", 1), ("Thu, 01 Jan 2015 00:00:00 GMT", 1), ("soon", None)],
)
def test_post_reads_a_rate_limit_and_when_to_retry(
    upstream, retry_after: str, expected: int | None
) -> None:
    upstream.answer("activate_offline", 429, "Too many", headers={"Retry-After": retry_after})

    error = post_failing(upstream.client)

    assert (error.status, error.code, error.retry_after) == (429, "rate_limited", expected)


def test_post_reads_a_retry_after_date_in_the_future(upstream) -> None:
    later = datetime.fromtimestamp(time.time() + 120, UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
    upstream.answer("activate_offline", 429, "", headers={"Retry-After": later})

    assert 100 <= post_failing(upstream.client).retry_after <= 121


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param((500, {"code": "internal_error", "message": "Internal error"}), id="500"),
        pytest.param((503, "upstream down"), id="503 text"),
        pytest.param((400, "<p>Bad request</p>"), id="400 not JSON"),
    ],
)
def test_post_calls_a_server_error_or_an_error_page_unreachable(upstream, answer) -> None:
    upstream.answer("activate_offline", *answer)

    error = post_failing(upstream.client)

    assert (error.status, error.code, error.unreachable) == (502, "service_unreachable", True)


def test_post_does_not_follow_a_redirect(upstream) -> None:
    upstream.answer(
        "activate_offline", 307, b"", headers={"Location": "https://elsewhere.test/activate"}
    )

    error = post_failing(upstream.client)

    assert (error.status, error.code) == (502, "service_unreachable")
    assert [str(request.url) for request in upstream.requests] == [f"{API_URL}/activate_offline"]


def test_post_retries_a_connection_failure_once(upstream) -> None:
    upstream.fail("activate_offline", httpx.ConnectError("Connection refused"))
    upstream.answer("activate_offline", body=LICENSE_BODY)

    assert post(upstream.client).body == LICENSE_BODY
    assert len(upstream.requests) == 2


def test_post_gives_up_after_a_second_connection_failure(upstream) -> None:
    upstream.fail("activate_offline", httpx.ConnectError("[Errno 111] Connection refused"))

    error = post_failing(upstream.client)

    assert (error.status, error.code, error.message) == (
        502,
        "service_unreachable",
        "Connection refused",
    )
    assert len(upstream.requests) == 2


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ReadTimeout("timed out"),
        httpx.WriteError("broken pipe"),
        httpx.RemoteProtocolError("Server disconnected"),
        httpx.ConnectTimeout("timed out"),
    ],
)
def test_post_never_retries_a_failure_after_the_request_may_have_left(
    upstream, failure: Exception
) -> None:
    upstream.fail("activate_offline", failure)

    error = post_failing(upstream.client)

    assert error.status in (502, 504)
    assert len(upstream.requests) == 1


def test_post_never_retries_a_server_error(upstream) -> None:
    upstream.error("activate_offline", 500, "internal_error")

    post_failing(upstream.client)

    assert len(upstream.requests) == 1


def test_post_keeps_no_cookie_for_the_next_request_of_any_tenant(upstream) -> None:
    cookie = "session=tenant-a; Path=/; Domain=license-api.test"
    upstream.answer("activate_offline", body=LICENSE_BODY, headers={"Set-Cookie": cookie})
    other_tenant = Credentials(api_url=API_URL, api_key="other-key", shared_key="other-secret")

    post(upstream.client)
    post(upstream.client)
    post(upstream.client, credentials=other_tenant)

    assert [request.headers.get("Cookie") for request in upstream.requests] == [None] * 3


def test_post_times_out_with_service_timeout(upstream) -> None:
    upstream.fail("activate_offline", httpx.ReadTimeout("timed out"))

    error = post_failing(upstream.client)

    assert (error.status, error.code, error.message) == (
        504,
        "service_timeout",
        "No answer within 30 s",
    )


@pytest.mark.usefixtures("no_proxy")
def test_post_calls_an_invalid_api_url_unreachable() -> None:
    client = live_client()
    credentials = Credentials(api_url="ftp://nowhere/api", api_key=API_KEY, shared_key="s")

    error = post_failing(client, credentials=credentials)

    assert (error.status, error.code, error.message) == (
        502,
        "service_unreachable",
        "Invalid License API URL",
    )
    client.close()


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ConnectError("Connection refused"),
        httpx.ReadTimeout("timed out"),
        httpx.RemoteProtocolError("Server disconnected"),
        httpx.Response(401, json={"code": "signature_mismatch", "message": "Signature mismatch"}),
        httpx.Response(503, text="upstream down"),
        httpx.Response(429, headers={"Retry-After": "3"}),
    ],
)
def test_post_errors_never_reveal_secrets(upstream, failure: object) -> None:
    text = read_vector("py_activate_user.req").strip()
    if isinstance(failure, Exception):
        upstream.fail("activate_offline", failure)
    else:
        upstream.answers["activate_offline"] = [lambda request: failure]

    error = post_failing(upstream.client, text=text)

    signature = expected_signature(upstream.requests[0].headers["Date"])
    for shown in (str(error), repr(error), error.message, error.code):
        assert SHARED_KEY not in shown
        assert signature not in shown
        assert "s3cret-Pa55" not in shown
        assert text not in shown
    # Error reports print a chained exception, and the httpx one holds the signed request.
    assert error.__cause__ is None
    assert error.__context__ is None or error.__suppress_context__


def test_credentials_repr_hides_the_shared_key() -> None:
    assert SHARED_KEY not in repr(CREDENTIALS)
    assert API_KEY in repr(CREDENTIALS)


@pytest.mark.parametrize("hardware_id", ["another-computer", ""])
def test_post_refuses_a_license_for_another_computer(upstream, hardware_id: str) -> None:
    license_object = {**json.loads(LICENSE_BODY), "hardware_id": hardware_id}
    upstream.answer("activate_offline", body=license_object)

    error = post_failing(upstream.client, text=make_request_file(hardware_id="this-computer"))

    assert (error.status, error.code) == (502, "mismatched_answer")


def test_post_refuses_a_license_that_answers_another_request(upstream) -> None:
    license_object = {**json.loads(LICENSE_BODY), "hardware_id": "pc", "request_id": "other"}
    upstream.answer("activate_offline", body=license_object)

    error = post_failing(upstream.client, text=make_request_file(hardware_id="pc", request_id="r1"))

    assert (error.status, error.code) == (502, "mismatched_answer")


def test_post_refuses_a_bundle_with_one_license_for_another_computer(upstream) -> None:
    mine = {**json.loads(LICENSE_BODY), "hardware_id": "pc", "request_id": "r1"}
    upstream.answer(
        "activate_bundle_offline", body={"licenses": [mine, {**mine, "hardware_id": "other"}]}
    )

    error = post_failing(
        upstream.client,
        endpoint="activate_bundle_offline",
        text=make_request_file(hardware_id="pc", request_id="r1"),
    )

    assert (error.status, error.code) == (502, "mismatched_answer")


def test_post_takes_a_license_for_this_computer_and_request(upstream) -> None:
    mine = {**json.loads(LICENSE_BODY), "hardware_id": "pc", "request_id": "r1"}
    upstream.answer("activate_bundle_offline", body={"licenses": [mine, mine]})

    response = post(
        upstream.client,
        endpoint="activate_bundle_offline",
        text=make_request_file(hardware_id="pc", request_id="r1"),
    )

    assert json.loads(response.body)["licenses"][0]["hardware_id"] == "pc"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"<html>activated</html>", id="not JSON"),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, id="deep JSON"),
        pytest.param(b'{"licenses": []}', id="no license"),
        pytest.param(b'{"license_key": "K", "product_features": 5}', id="wrong type"),
        pytest.param(b'{"license_key": "K", "product_details": "TP"}', id="wrong object"),
        pytest.param(b" " * (1024 * 1024 + 1), id="over 1 MiB"),
    ],
)
def test_post_refuses_an_activation_answer_that_is_no_usable_license(upstream, body) -> None:
    upstream.answer("activate_offline", body=body)

    error = post_failing(upstream.client)

    assert (error.status, error.code) == (502, "unexpected_answer")


def test_post_takes_a_deactivation_answer_as_sent(upstream) -> None:
    upstream.answer("deactivate_offline", body=b'"license_deactivated"')

    response = post(upstream.client, endpoint="deactivate_offline")

    assert response.body == b'"license_deactivated"'


def test_post_refuses_a_compressed_answer_it_did_not_ask_for(upstream) -> None:
    upstream.answer("activate_offline", body=b"\x1f\x8b", headers={"Content-Encoding": "gzip"})

    error = post_failing(upstream.client)

    assert upstream.requests[0].headers["Accept-Encoding"] == "identity"
    assert (error.status, error.code) == (502, "unexpected_answer")


# Real sockets: the fake License API server.


@pytest.mark.parametrize("fault", ["drip", "interim_forever", "hang"])
def test_post_ends_a_slow_answer_at_the_deadline(faulty_upstream, fault: str) -> None:
    client = live_client()
    faulty_upstream.inject(fault)

    started = time.monotonic()
    error = post_failing(client, credentials=live_credentials(faulty_upstream))
    elapsed = time.monotonic() - started

    assert (error.status, error.code) == (504, "service_timeout")
    assert error.message == f"No complete answer within {FAULT_DEADLINE:g} s"
    assert FAULT_DEADLINE - 0.1 <= elapsed <= FAULT_DEADLINE + 2.5
    client.close()


def test_post_keeps_a_connection_alive_between_requests(faulty_upstream) -> None:
    client = live_client()
    credentials = live_credentials(faulty_upstream)

    post(client, credentials=credentials)
    post(client, credentials=credentials)

    assert [request.connection for request in faulty_upstream.requests] == [1, 1]
    client.close()


def hardware_id_of(response: UpstreamResponse) -> str:
    return json.loads(response.body)["hardware_id"]


@pytest.mark.parametrize(
    "fault", ["drip", "interim_forever", "malformed_framing", "wrong_types", "huge_body"]
)
def test_post_never_reuses_the_connection_of_a_failed_answer(faulty_upstream, fault) -> None:
    client = live_client()
    credentials = live_credentials(faulty_upstream)
    faulty_upstream.inject(fault)

    post_failing(client, credentials=credentials)
    response = post(client, credentials=credentials, text=make_request_file(hardware_id="next"))

    assert hardware_id_of(response) == "next"
    first, second = faulty_upstream.requests
    assert second.connection != first.connection
    client.close()


def test_post_refuses_a_late_answer_read_on_a_kept_alive_connection(faulty_upstream) -> None:
    client = live_client()
    credentials = live_credentials(faulty_upstream)
    faulty_upstream.inject("late_answer")

    first = post(client, credentials=credentials, text=make_request_file(hardware_id="first"))
    error = post_failing(
        client, credentials=credentials, text=make_request_file(hardware_id="second")
    )
    third = post(client, credentials=credentials, text=make_request_file(hardware_id="third"))

    assert hardware_id_of(first) == "first"
    assert (error.status, error.code) == (502, "mismatched_answer")
    assert hardware_id_of(third) == "third"
    connection_of = {
        request.hardware_id: request.connection for request in faulty_upstream.requests
    }
    assert connection_of["third"] != connection_of["first"]
    client.close()


@pytest.mark.parametrize(
    "api_key",
    [
        pytest.param("key\nX-Injected: 1", id="new line"),
        pytest.param("key\r\nX-Injected: 1", id="CRLF"),
        pytest.param("cl\u00e9", id="not ASCII"),
    ],
)
def test_post_never_sends_nor_quotes_an_illegal_header(faulty_upstream, api_key: str) -> None:
    client = live_client()

    error = post_failing(client, credentials=live_credentials(faulty_upstream, api_key=api_key))

    assert (error.status, error.code, error.message) == (
        502,
        "service_unreachable",
        "LocalProtocolError",
    )
    assert faulty_upstream.requests == []
    client.close()


@pytest.mark.usefixtures("no_proxy")
def test_post_names_the_cause_of_a_refused_connection() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    client = live_client()
    credentials = Credentials(f"http://127.0.0.1:{port}/api/v4", API_KEY, SHARED_KEY)

    error = post_failing(client, credentials=credentials)

    assert (error.status, error.code, error.message) == (
        502,
        "service_unreachable",
        "Connection refused",
    )
    client.close()


def test_post_goes_through_the_proxy_the_environment_names(no_proxy, monkeypatch) -> None:
    """An operator behind a corporate proxy sets HTTP(S)_PROXY, as for any other program."""
    seen: list[bytes] = []
    with socket.socket() as proxy:
        proxy.bind(("127.0.0.1", 0))
        proxy.listen()

        def answer_as_proxy() -> None:
            connection, _ = proxy.accept()
            with connection:
                request = b""
                while b"\r\n\r\n" not in request:
                    request += connection.recv(65536)
                seen.append(request.split(b"\r\n", 1)[0])
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")

        thread = threading.Thread(target=answer_as_proxy)
        thread.start()
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.getsockname()[1]}")
        client = live_client()
        credentials = Credentials("http://license-api.invalid/api/v4", API_KEY, SHARED_KEY)

        response = post(client, endpoint="deactivate_offline", credentials=credentials)
        thread.join(5)

    assert response.body == b"{}"
    assert seen == [b"POST http://license-api.invalid/api/v4/deactivate_offline HTTP/1.1"]
    client.close()


def test_post_reaches_a_no_proxy_host_directly(faulty_upstream, monkeypatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # the discard port: nothing there
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    client = live_client()

    response = post(client, credentials=live_credentials(faulty_upstream))

    assert response.status == 200
    assert len(faulty_upstream.requests) == 1
    client.close()
