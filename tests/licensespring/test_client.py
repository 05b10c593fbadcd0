"""The License API client: signing, relaying, error mapping, retry and the shared client.

HTTP is faked at the client's transport (`httpx.MockTransport`); the few tests that need a
real socket use loopback only.
"""

from __future__ import annotations

import base64
import concurrent.futures
import contextlib
import gzip
import hashlib
import hmac
import http.server
import ipaddress
import re
import socket
import ssl
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from pytest_django.fixtures import Settings

from portal.licensespring import client as license_api
from portal.licensespring.client import Credentials, LicenseApiError, UpstreamResponse
from tests.factories import API_KEY, SHARED_KEY, read_vector

API_URL = "https://license-api.test/api/v4"
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
PROXY_VARIABLES = [
    "ALL_PROXY",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "all_proxy",
    "http_proxy",
    "https_proxy",
]

Outcome = httpx.Response | Exception
InstallApi = Callable[..., list[httpx.Request]]


@pytest.fixture(autouse=True)
def _fresh_client() -> Iterator[None]:
    license_api.set_client(None)
    yield
    license_api.set_client(None)


@pytest.fixture
def credentials() -> Credentials:
    return Credentials(api_url=API_URL, api_key=API_KEY, shared_key=SHARED_KEY)


@pytest.fixture
def fake_api() -> InstallApi:
    """Install a fake License API answering each call with the next outcome, in order.

    Returns the requests it saw; a call beyond the given outcomes fails the test.
    """

    def install(*outcomes: Outcome) -> list[httpx.Request]:
        seen: list[httpx.Request] = []

        def handle(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            outcome = outcomes[len(seen) - 1]
            if isinstance(outcome, Exception):
                raise outcome
            return outcome

        license_api.set_client(license_api.build_client(httpx.MockTransport(handle)))
        return seen

    return install


@pytest.fixture
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loopback tests must talk to loopback, whatever proxy the environment names."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections (the kernel completes them) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def post(
    credentials: Credentials, endpoint: str = "activate_offline", body: str = "cmVx"
) -> UpstreamResponse:
    return license_api.post_request(credentials=credentials, endpoint=endpoint, body=body)


def post_failing(credentials: Credentials, body: str = "cmVx") -> LicenseApiError:
    with pytest.raises(LicenseApiError) as caught:
        post(credentials, body=body)
    return caught.value


def api_error(status: int, code: str, message: str) -> httpx.Response:
    return httpx.Response(status, json={"status": status, "code": code, "message": message})


def expected_signature(date: str) -> str:
    message = f"licenseSpring\ndate: {date}".encode()
    return base64.b64encode(
        hmac.new(SHARED_KEY.encode(), message, hashlib.sha256).digest()
    ).decode()


def test_sign_matches_a_known_vector() -> None:
    # Computed independently: printf 'licenseSpring\ndate: <date>' | openssl dgst -sha256 -hmac
    signature = license_api.sign(SHARED_KEY, "Thu, 17 Nov 2022 20:51:35 GMT")

    assert signature == "jwK07fTHx5fJ9PPQbC/RB74ZsQR3OqSJ5+fjLFOmNqM="


def test_auth_headers_carry_the_date_and_the_signed_authorization(credentials: Credentials) -> None:
    date = "Thu, 17 Nov 2022 20:51:35 GMT"

    headers = license_api.auth_headers(credentials, date)

    assert headers == {
        "Date": date,
        "Authorization": 'algorithm="hmac-sha256",headers="date",'
        f'signature="jwK07fTHx5fJ9PPQbC/RB74ZsQR3OqSJ5+fjLFOmNqM=",apiKey="{API_KEY}"',
    }


def test_post_request_sends_an_rfc7231_gmt_date(
    credentials: Credentials, fake_api: InstallApi
) -> None:
    seen = fake_api(httpx.Response(200, content=b"{}"))

    post(credentials)

    date = seen[0].headers["Date"]
    assert RFC7231_DATE.fullmatch(date)
    assert abs((parsedate_to_datetime(date) - datetime.now(UTC)).total_seconds()) < 5


def test_post_request_signs_the_date_with_the_shared_key(
    credentials: Credentials, fake_api: InstallApi
) -> None:
    seen = fake_api(httpx.Response(200, content=b"{}"))

    post(credentials)

    signature = expected_signature(seen[0].headers["Date"])
    assert seen[0].headers["Authorization"] == (
        f'algorithm="hmac-sha256",headers="date",signature="{signature}",apiKey="{API_KEY}"'
    )


def test_post_request_relays_the_body_byte_for_byte(
    credentials: Credentials, fake_api: InstallApi
) -> None:
    body = read_vector("py_activate_key.req").strip()
    seen = fake_api(httpx.Response(200, content=b"{}"))

    post(credentials, body=body)

    assert seen[0].content == body.encode("utf-8")


def test_post_request_sends_text_plain_and_accepts_json(
    credentials: Credentials, fake_api: InstallApi
) -> None:
    seen = fake_api(httpx.Response(200, content=b"{}"))

    post(credentials)

    assert seen[0].headers["Content-Type"] == "text/plain"
    assert seen[0].headers["Accept"] == "application/json"


def test_post_request_names_the_portal_as_user_agent(
    credentials: Credentials, fake_api: InstallApi
) -> None:
    seen = fake_api(httpx.Response(200, content=b"{}"))

    post(credentials)

    assert seen[0].headers["User-Agent"] == "OfflinePortal/0.1"


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_post_request_posts_to_the_endpoint_under_the_api_url(
    credentials: Credentials, fake_api: InstallApi, endpoint: str
) -> None:
    seen = fake_api(httpx.Response(200, content=b"{}"))

    post(credentials, endpoint=endpoint)

    assert seen[0].method == "POST"
    assert str(seen[0].url) == f"{API_URL}/{endpoint}"


def test_post_request_returns_the_exact_response_bytes(
    credentials: Credentials, fake_api: InstallApi
) -> None:
    raw = b'{"z": 1,  "a":[ 2 ,3],\n "license_signature_v2" :"x/y+z="}\n'
    fake_api(httpx.Response(200, content=raw))

    response = post(credentials)

    assert response.status == 200
    assert response.body == raw


def test_post_request_returns_the_decoded_bytes_of_a_compressed_response(
    credentials: Credentials, fake_api: InstallApi
) -> None:
    raw = b'{"b": 1, "a": 2}'
    fake_api(httpx.Response(200, headers={"Content-Encoding": "gzip"}, content=gzip.compress(raw)))

    assert post(credentials).body == raw


def test_post_request_measures_the_elapsed_time(
    credentials: Credentials, fake_api: InstallApi
) -> None:
    fake_api(httpx.Response(200, content=b"{}"))

    started = time.perf_counter()
    response = post(credentials)

    assert 0 <= response.elapsed_ms <= (time.perf_counter() - started) * 1000 + 1


def test_post_request_maps_an_api_error_with_its_code_and_message(
    credentials: Credentials, fake_api: InstallApi
) -> None:
    fake_api(api_error(400, "license_activated_max_times", "License activated max times"))

    error = post_failing(credentials)

    assert (error.status, error.code, error.message) == (
        400,
        "license_activated_max_times",
        "License activated max times",
    )
    assert not error.unreachable


def test_post_request_maps_a_signature_mismatch(
    credentials: Credentials, fake_api: InstallApi
) -> None:
    fake_api(api_error(401, "signature_mismatch", "Signature mismatch"))

    error = post_failing(credentials)

    assert (error.status, error.code, error.message) == (
        401,
        "signature_mismatch",
        "Signature mismatch",
    )


def test_post_request_maps_not_found(credentials: Credentials, fake_api: InstallApi) -> None:
    fake_api(api_error(404, "not_found", "Not found"))

    error = post_failing(credentials)

    assert (error.status, error.code) == (404, "not_found")


def test_post_request_defaults_the_code_and_message_of_a_bare_json_error(
    credentials: Credentials, fake_api: InstallApi
) -> None:
    fake_api(httpx.Response(403, json={"status": 403}))

    error = post_failing(credentials)

    assert (error.status, error.code, error.message) == (403, "http_403", "Forbidden")


def test_post_request_flattens_a_structured_message(
    credentials: Credentials, fake_api: InstallApi
) -> None:
    fake_api(httpx.Response(400, json={"code": "validation_error", "message": {"product": ["x"]}}))

    error = post_failing(credentials)

    assert (error.code, error.message) == ("validation_error", '{"product": ["x"]}')


def test_post_request_maps_a_rate_limit_with_retry_after_seconds(
    credentials: Credentials, fake_api: InstallApi
) -> None:
    fake_api(httpx.Response(429, headers={"Retry-After": "7"}, json={"message": "Slow down"}))

    error = post_failing(credentials)

    assert (error.status, error.code, error.message, error.retry_after) == (
        429,
        "rate_limited",
        "Slow down",
        7,
    )


def test_post_request_reads_a_retry_after_date(
    credentials: Credentials, fake_api: InstallApi
) -> None:
    later = formatdate(time.time() + 60, usegmt=True)
    fake_api(httpx.Response(429, headers={"Retry-After": later}, text="Too many"))

    error = post_failing(credentials)

    assert error.code == "rate_limited"
    assert error.retry_after is not None
    assert 55 <= error.retry_after <= 61


def test_post_request_clamps_a_past_retry_after_to_one_second(
    credentials: Credentials, fake_api: InstallApi
) -> None:
    fake_api(httpx.Response(429, headers={"Retry-After": "Thu, 17 Nov 2022 20:51:35 GMT"}))

    assert post_failing(credentials).retry_after == 1


def test_post_request_keeps_the_upstream_code_of_a_rate_limit(
    credentials: Credentials, fake_api: InstallApi
) -> None:
    fake_api(api_error(429, "too_many_requests", "Too many requests"))

    error = post_failing(credentials)

    assert (error.code, error.retry_after) == ("too_many_requests", None)


@pytest.mark.parametrize("status", [500, 502, 503])
def test_post_request_maps_a_server_error_to_unreachable(
    credentials: Credentials, fake_api: InstallApi, status: int
) -> None:
    fake_api(api_error(status, "internal_error", "Internal error"))

    error = post_failing(credentials)

    assert (error.status, error.code, error.message) == (
        502,
        "service_unreachable",
        f"HTTP {status}",
    )
    assert error.unreachable


def test_post_request_maps_a_non_json_client_error_to_unreachable(
    credentials: Credentials, fake_api: InstallApi
) -> None:
    fake_api(httpx.Response(400, html="<html><body>Bad Request</body></html>"))

    error = post_failing(credentials)

    assert (error.status, error.code, error.message) == (502, "service_unreachable", "HTTP 400")


def test_post_request_does_not_follow_a_redirect(
    credentials: Credentials, fake_api: InstallApi
) -> None:
    seen = fake_api(httpx.Response(301, headers={"Location": "https://elsewhere.test/"}))

    error = post_failing(credentials)

    assert (error.status, error.code, error.message) == (502, "service_unreachable", "HTTP 301")
    assert len(seen) == 1


@pytest.mark.usefixtures("no_proxy")
def test_post_request_maps_a_refused_connection_to_unreachable(closed_port: int) -> None:
    credentials = Credentials(
        api_url=f"http://127.0.0.1:{closed_port}/api/v4", api_key=API_KEY, shared_key=SHARED_KEY
    )

    error = post_failing(credentials)

    assert (error.status, error.code, error.message) == (
        502,
        "service_unreachable",
        "Connection refused",
    )


def test_post_request_names_the_cause_of_a_connection_failure(
    credentials: Credentials, fake_api: InstallApi
) -> None:
    failure = httpx.ConnectError("[Errno -2] Name or service not known")
    fake_api(failure, failure)

    error = post_failing(credentials)

    assert (error.status, error.message) == (502, "Name or service not known")


def test_post_request_maps_an_invalid_api_url_to_unreachable() -> None:
    credentials = Credentials(api_url="api.example.test", api_key=API_KEY, shared_key=SHARED_KEY)

    error = post_failing(credentials)

    assert (error.status, error.code, error.message) == (
        502,
        "service_unreachable",
        "Invalid License API URL",
    )


@pytest.mark.parametrize(
    ("failure", "message"),
    [
        (httpx.ConnectTimeout("timed out"), "No connection within 5 s"),
        (httpx.ReadTimeout("timed out"), "No answer within 30 s"),
        (httpx.WriteTimeout("timed out"), "Could not send the request within 5 s"),
        (httpx.PoolTimeout("timed out"), "No free connection within 5 s"),
    ],
)
def test_post_request_maps_a_timeout_to_service_timeout(
    credentials: Credentials,
    fake_api: InstallApi,
    settings: Settings,
    failure: Exception,
    message: str,
) -> None:
    settings.LICENSE_API_CONNECT_TIMEOUT = 5.0
    settings.LICENSE_API_READ_TIMEOUT = 30.0
    fake_api(failure)

    error = post_failing(credentials)

    assert (error.status, error.code, error.message) == (504, "service_timeout", message)
    assert error.unreachable


@pytest.mark.usefixtures("no_proxy")
def test_post_request_times_out_on_a_silent_server(silent_port: int, settings: Settings) -> None:
    settings.LICENSE_API_READ_TIMEOUT = 0.2
    license_api.set_client(license_api.build_client())
    credentials = Credentials(
        api_url=f"http://127.0.0.1:{silent_port}/api/v4", api_key=API_KEY, shared_key=SHARED_KEY
    )

    error = post_failing(credentials)

    assert (error.status, error.code, error.message) == (
        504,
        "service_timeout",
        "No answer within 0.2 s",
    )
    assert error.elapsed_ms >= 150


def test_post_request_sets_the_elapsed_time_on_an_error(credentials: Credentials) -> None:
    def slow_failure(request: httpx.Request) -> httpx.Response:
        time.sleep(0.05)
        raise httpx.ReadTimeout("timed out", request=request)

    license_api.set_client(license_api.build_client(httpx.MockTransport(slow_failure)))

    assert post_failing(credentials).elapsed_ms >= 50


def test_post_request_retries_a_connection_failure_once(
    credentials: Credentials, fake_api: InstallApi
) -> None:
    seen = fake_api(httpx.ConnectError("Connection refused"), httpx.Response(200, content=b"{}"))

    response = post(credentials)

    assert response.body == b"{}"
    assert len(seen) == 2


def test_post_request_gives_up_after_a_second_connection_failure(
    credentials: Credentials, fake_api: InstallApi
) -> None:
    seen = fake_api(
        httpx.ConnectError("Connection refused"), httpx.ConnectError("Connection refused")
    )

    error = post_failing(credentials)

    assert (error.status, error.code) == (502, "service_unreachable")
    assert len(seen) == 2


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ReadTimeout("timed out"),
        httpx.ConnectTimeout("timed out"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
    ],
)
def test_post_request_does_not_retry_other_failures(
    credentials: Credentials, fake_api: InstallApi, failure: Exception
) -> None:
    seen = fake_api(failure)

    post_failing(credentials)

    assert len(seen) == 1


def test_post_request_does_not_retry_a_server_error(
    credentials: Credentials, fake_api: InstallApi
) -> None:
    seen = fake_api(api_error(500, "internal_error", "Internal error"))

    post_failing(credentials)

    assert len(seen) == 1


def test_post_request_keeps_no_cookies_between_requests(
    credentials: Credentials, fake_api: InstallApi
) -> None:
    seen = fake_api(
        httpx.Response(200, headers={"Set-Cookie": "session=tenant-a; Path=/"}, content=b"{}"),
        httpx.Response(200, content=b"{}"),
    )

    post(credentials)
    post(credentials)

    assert "Cookie" not in seen[1].headers


@pytest.mark.parametrize(
    "outcomes",
    [
        [httpx.ConnectError("Connection refused")] * 2,
        [httpx.ReadTimeout("timed out")],
        [httpx.RemoteProtocolError("Server disconnected")],
        [api_error(401, "signature_mismatch", "Signature mismatch")],
        [httpx.Response(503, text="upstream down")],
        [httpx.Response(400, html="<p>Bad</p>")],
        [httpx.Response(429, headers={"Retry-After": "3"})],
    ],
)
def test_post_request_errors_never_reveal_secrets(
    credentials: Credentials, fake_api: InstallApi, outcomes: list[Outcome]
) -> None:
    body = read_vector("py_activate_user.req").strip()
    seen = fake_api(*outcomes)

    error = post_failing(credentials, body=body)

    signature = expected_signature(seen[0].headers["Date"])
    for text in (str(error), repr(error), error.message, error.code):
        assert SHARED_KEY not in text
        assert signature not in text
        assert "hmac-sha256" not in text
        assert body not in text
    # Error reports print a chained exception, and the httpx one holds the signed request.
    chained = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
    assert chained is None


@pytest.mark.usefixtures("no_proxy")
@pytest.mark.parametrize(
    "api_key",
    [
        pytest.param("key\nX-Injected: 1", id="new line"),
        pytest.param("key\r\nX-Injected: 1", id="CRLF"),
        # A folded line, which http.client would send: the server may read a header of its own.
        pytest.param("key\n X-Injected: 1", id="folded line"),
        pytest.param("cl\u00e9", id="not ASCII"),
    ],
)
def test_post_request_never_sends_nor_quotes_an_illegal_header(api_key: str) -> None:
    # The error must not quote the header: it is the signed Authorization header.
    with _ScriptedApi((OK_KEEP_ALIVE, True)) as api:
        credentials = Credentials(api_url=api.url, api_key=api_key, shared_key=SHARED_KEY)

        error = post_failing(credentials)

    assert (error.status, error.code, error.message) == (
        502,
        "service_unreachable",
        "LocalProtocolError",
    )
    assert api.requests == 0


def test_get_client_returns_one_shared_client() -> None:
    assert license_api.get_client() is license_api.get_client()


def test_get_client_builds_one_client_for_all_threads() -> None:
    clients: list[license_api.UpstreamClient] = []
    start = threading.Barrier(8)

    def fetch() -> None:
        start.wait()
        clients.append(license_api.get_client())

    threads = [threading.Thread(target=fetch) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(clients) == 8
    assert all(client is clients[0] for client in clients)


def test_set_client_none_closes_the_client_and_builds_a_fresh_one_next() -> None:
    first = license_api.get_client()

    license_api.set_client(None)

    assert first.is_closed
    assert license_api.get_client() is not first


def test_set_client_installs_the_given_client() -> None:
    client = license_api.build_client(httpx.MockTransport(lambda request: httpx.Response(200)))

    license_api.set_client(client)

    assert license_api.get_client() is client


def test_build_client_takes_its_timeouts_from_settings(settings: Settings) -> None:
    settings.LICENSE_API_CONNECT_TIMEOUT = 2.5
    settings.LICENSE_API_READ_TIMEOUT = 12.0

    client = license_api.build_client()

    assert client.timeout == httpx.Timeout(connect=2.5, read=12.0, write=2.5, pool=2.5)
    client.close()


def test_post_request_goes_through_the_proxy_the_environment_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An operator behind a corporate proxy sets HTTP(S)_PROXY, as for any other program."""
    seen: list[bytes] = []
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        proxy_port = server.getsockname()[1]

        def answer_as_proxy() -> None:
            connection, _ = server.accept()
            with connection:
                request = b""
                while b"\r\n\r\n" not in request:
                    request += connection.recv(65536)
                seen.append(request.split(b"\r\n", 1)[0])
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")

        thread = threading.Thread(target=answer_as_proxy)
        thread.start()
        for name in [*PROXY_VARIABLES, "NO_PROXY", "no_proxy"]:
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy_port}")
        credentials = Credentials(
            api_url="http://license-api.invalid/api/v4", api_key=API_KEY, shared_key=SHARED_KEY
        )

        response = post(credentials)
        thread.join(5)

    assert response.body == b"{}"
    assert seen == [b"POST http://license-api.invalid/api/v4/activate_offline HTTP/1.1"]


def test_no_proxy_hosts_are_reached_directly(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [*PROXY_VARIABLES, "no_proxy"]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", ".licensespring.com,localhost")

    proxies = urllib.request.getproxies_environment()

    assert license_api._proxy_for(httpx.URL("https://api.licensespring.com/v4"), proxies) is None
    assert license_api._proxy_for(httpx.URL("https://api.acme.test/v4"), proxies) == (
        "http://proxy.example:3128"
    )


def test_credentials_repr_hides_the_shared_key(credentials: Credentials) -> None:
    assert SHARED_KEY not in repr(credentials)
    assert API_KEY in repr(credentials)


class _CountingApi(http.server.BaseHTTPRequestHandler):
    """A keep-alive License API on loopback that counts connections and requests."""

    protocol_version = "HTTP/1.1"
    counts: dict[str, int]

    def setup(self) -> None:
        super().setup()
        self.counts["opened"] += 1

    def finish(self) -> None:
        super().finish()
        self.counts["closed"] += 1

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        self.rfile.read(int(self.headers["Content-Length"]))
        self.counts["requests"] += 1
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def _counting_apis(how_many: int) -> Iterator[tuple[list[int], dict[str, int]]]:
    """Keep-alive License APIs on loopback ports of their own, counting together."""
    counts = {"opened": 0, "closed": 0, "requests": 0}
    handler = type("Handler", (_CountingApi,), {"counts": counts})
    servers = [http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) for _ in range(how_many)]
    threads = [threading.Thread(target=server.serve_forever) for server in servers]
    for thread in threads:
        thread.start()
    try:
        yield [server.server_address[1] for server in servers], counts
    finally:
        for server, thread in zip(servers, threads, strict=True):
            server.shutdown()
            thread.join(5)
            server.server_close()


@pytest.fixture
def counting_api() -> Iterator[tuple[int, dict[str, int]]]:
    with _counting_apis(1) as (ports, counts):
        yield ports[0], counts


@pytest.mark.usefixtures("no_proxy")
def test_threads_share_the_connections_and_close_ends_them_all(counting_api) -> None:
    port, counts = counting_api
    credentials = Credentials(
        api_url=f"http://127.0.0.1:{port}/api/v4", api_key=API_KEY, shared_key=SHARED_KEY
    )
    start, relayed = threading.Barrier(3), threading.Barrier(4)
    closed = threading.Event()

    def relay_three() -> None:  # then stay alive, as a server's threads do, until closed
        start.wait()
        for _ in range(3):
            assert post(credentials).body == b"{}"
        relayed.wait()
        closed.wait(10)

    threads = [threading.Thread(target=relay_three) for _ in range(3)]
    for thread in threads:
        thread.start()
    relayed.wait(10)

    assert counts["requests"] == 9
    opened = counts["opened"]
    assert 1 <= opened <= 3  # at most one a thread at a time, kept alive for the next upload
    assert counts["closed"] == 0

    client = license_api.get_client()  # still referenced: its close() must do the closing
    license_api.close_client()
    deadline = time.monotonic() + 5
    while counts["closed"] < opened and time.monotonic() < deadline:
        time.sleep(0.01)
    closed_while_threads_live = counts["closed"]
    closed.set()
    for thread in threads:
        thread.join(10)

    assert closed_while_threads_live == opened
    assert client.is_closed


@pytest.mark.usefixtures("no_proxy")
def test_after_a_busy_spell_uploads_one_at_a_time_reuse_a_warm_connection(
    counting_api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """gunicorn's thread pool hands work to its idle threads in turn. After a burst has started
    eight of them, uploads one at a time each land on another thread: a connection of each
    thread's own would have expired between two of its turns, and every upload would connect
    (over TLS, shake hands) again."""
    monkeypatch.setattr(license_api, "KEEPALIVE_EXPIRY_S", 0.5)
    port, counts = counting_api
    credentials = Credentials(
        api_url=f"http://127.0.0.1:{port}/api/v4", api_key=API_KEY, shared_key=SHARED_KEY
    )
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        burst = threading.Barrier(8)
        list(pool.map(lambda _: (burst.wait(5), post(credentials)), range(8)))
        opened_in_burst = counts["opened"]
        served_by = set()
        for _ in range(8):  # 0.1 s apart: each thread's turn comes 0.8 s after its last
            time.sleep(0.1)
            served_by.add(
                pool.submit(lambda: (post(credentials), threading.get_ident())).result()[1]
            )

    assert len(served_by) > 1  # the pool did hand them to different threads
    assert counts["requests"] == 16
    assert counts["opened"] == opened_in_burst  # not one new connection


@pytest.fixture
def loopback_certificate(tmp_path) -> Path:
    """A folder with cert.pem and key.pem: a certificate for 127.0.0.1 that no authority
    signed (its own)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return tmp_path


def _server_tls(certificate: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate / "cert.pem", certificate / "key.pem")
    return context


@pytest.fixture
def untrusted_tls_port(loopback_certificate: Path) -> Iterator[int]:
    """An HTTPS server on loopback whose certificate no authority signed."""
    context = _server_tls(loopback_certificate)
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.settimeout(0.2)
        done = threading.Event()

        def handshake() -> None:  # with each client that tries (a refused one tries twice)
            while not done.is_set():
                try:
                    connection, _ = server.accept()
                except TimeoutError:
                    continue
                with connection, contextlib.suppress(OSError):
                    context.wrap_socket(connection, server_side=True)

        thread = threading.Thread(target=handshake)
        thread.start()
        yield server.getsockname()[1]
        done.set()
        thread.join(5)


@pytest.mark.usefixtures("no_proxy")
def test_a_license_api_with_an_untrusted_certificate_is_refused(untrusted_tls_port) -> None:
    credentials = Credentials(
        api_url=f"https://127.0.0.1:{untrusted_tls_port}/api/v4",
        api_key=API_KEY,
        shared_key=SHARED_KEY,
    )

    error = post_failing(credentials)

    assert (error.status, error.code) == (502, "service_unreachable")
    assert "certificate verify failed" in error.message


@pytest.mark.usefixtures("no_proxy")
def test_a_connection_idle_past_the_keepalive_expiry_is_not_used_again(
    counting_api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The expiry (4 s) stays below the idle timeout of servers that close soonest (5 s), so a
    request is never sent on a connection the server is closing."""
    monkeypatch.setattr(license_api, "KEEPALIVE_EXPIRY_S", 0.2)
    port, counts = counting_api
    credentials = Credentials(
        api_url=f"http://127.0.0.1:{port}/api/v4", api_key=API_KEY, shared_key=SHARED_KEY
    )

    post(credentials)
    post(credentials)
    time.sleep(0.3)
    post(credentials)

    assert (counts["requests"], counts["opened"]) == (3, 2)


def test_idle_connections_to_one_license_api_stay_bounded_the_last_used_taken_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(license_api, "MAX_IDLE_PER_ORIGIN", 2)
    transport = license_api.DirectTransport(ssl.create_default_context())
    origin = ("http", "api.test", 80)
    pairs = [socket.socketpair() for _ in range(3)]
    try:
        for ours, _theirs in pairs:
            transport._keep(origin, ours)

        assert pairs[0][0].fileno() == -1  # the oldest was let go
        assert transport._idle_connection(origin) is pairs[2][0]
        assert transport._idle_connection(origin) is pairs[1][0]
        assert transport._idle_connection(origin) is None
    finally:
        for pair in pairs:
            for end in pair:
                end.close()


@pytest.mark.usefixtures("no_proxy")
def test_connections_to_a_license_api_no_longer_called_are_closed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A tenant's License API may never be called again (the tenant moved to another one):
    its idle connections are closed once expired, at the next upload to any API."""
    monkeypatch.setattr(license_api, "KEEPALIVE_EXPIRY_S", 0.2)
    with _counting_apis(2) as (ports, counts):
        first, second = (
            Credentials(
                api_url=f"http://127.0.0.1:{port}/api/v4", api_key=API_KEY, shared_key=SHARED_KEY
            )
            for port in ports
        )
        post(first)
        time.sleep(1.1)  # past the expiry, and the second between two sweeps
        post(second)
        deadline = time.monotonic() + 5
        while counts["closed"] < 1 and time.monotonic() < deadline:
            time.sleep(0.01)

        assert (counts["opened"], counts["closed"]) == (2, 1)


class _ScriptedApi:
    """A License API on loopback that answers each request with the next scripted bytes, then
    keeps the connection open or closes it, and counts connections and requests."""

    def __init__(self, *answers: tuple[bytes, bool], tls: ssl.SSLContext | None = None) -> None:
        self.answers = list(answers)  # (bytes to send, close the connection after)
        self.tls = tls
        self.connections = 0
        self.requests = 0
        self.heads: list[bytes] = []
        self.bodies: list[bytes] = []
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.1)
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._serve)
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://127.0.0.1:{self._server.getsockname()[1]}/api/v4"

    def __enter__(self) -> _ScriptedApi:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._done.set()
        self._thread.join(5)
        self._server.close()

    def _serve(self) -> None:
        while not self._done.is_set():
            try:
                connection, _ = self._server.accept()
            except TimeoutError:
                continue
            self.connections += 1
            with connection, contextlib.suppress(OSError):
                if self.tls:
                    connection = self.tls.wrap_socket(connection, server_side=True)
                self._answer_until_closed(connection)

    def _answer_until_closed(self, connection: socket.socket) -> None:
        connection.settimeout(5)
        buffered = b""
        while self.answers:
            while b"\r\n\r\n" not in buffered:
                chunk = connection.recv(65536)
                if not chunk:
                    return
                buffered += chunk
            head, buffered = buffered.split(b"\r\n\r\n", 1)
            self.heads.append(head)
            length = int(re.search(rb"(?i)content-length: *(\d+)", head)[1])
            while len(buffered) < length:
                buffered += connection.recv(65536)
            self.bodies.append(buffered[:length])
            buffered = buffered[length:]
            self.requests += 1
            answer, close = self.answers.pop(0)
            connection.sendall(answer)
            if close:
                return


def _scripted_credentials(api: _ScriptedApi) -> Credentials:
    return Credentials(api_url=api.url, api_key=API_KEY, shared_key=SHARED_KEY)


OK_KEEP_ALIVE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"


@pytest.mark.usefixtures("no_proxy")
def test_a_license_api_reached_directly_gets_the_whole_signed_request() -> None:
    with _ScriptedApi((OK_KEEP_ALIVE, False)) as api:
        post(_scripted_credentials(api), body="cmVxdWVzdA==")

    request_line, *lines = api.heads[0].decode("ascii").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines)
    port = api.url.split(":")[2].split("/")[0]
    assert request_line == "POST /api/v4/activate_offline HTTP/1.1"
    assert headers["Host"] == f"127.0.0.1:{port}"
    assert (headers["Content-Length"], api.bodies) == ("12", [b"cmVxdWVzdA=="])
    assert (headers["Content-Type"], headers["Accept"]) == ("text/plain", "application/json")
    assert headers["User-Agent"] == license_api.USER_AGENT
    signature = license_api.sign(SHARED_KEY, headers["Date"])
    assert headers["Authorization"] == (
        f'algorithm="hmac-sha256",headers="date",signature="{signature}",apiKey="{API_KEY}"'
    )


@pytest.mark.usefixtures("no_proxy")
def test_a_connection_the_server_closed_while_idle_is_not_used_again() -> None:
    """Servers close idle connections without a word (a restart, a shorter idle timeout than
    ours): the next upload must go out on a new connection, not fail on the dead one."""
    with _ScriptedApi((OK_KEEP_ALIVE, True), (OK_KEEP_ALIVE, True)) as api:
        first = post(_scripted_credentials(api))
        time.sleep(0.1)  # the server's close reaches the idle connection
        second = post(_scripted_credentials(api))

    assert (first.body, second.body) == (b"{}", b"{}")
    assert (api.requests, api.connections) == (2, 2)


@pytest.mark.usefixtures("no_proxy")
def test_an_answer_that_says_close_ends_its_connection() -> None:
    closing = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}"
    with _ScriptedApi((closing, False), (OK_KEEP_ALIVE, False)) as api:
        post(_scripted_credentials(api))
        post(_scripted_credentials(api))

    assert (api.requests, api.connections) == (2, 2)


@pytest.mark.usefixtures("no_proxy")
@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(b"", id="closed without an answer"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{", id="cut short"),
        pytest.param(b"not HTTP at all\r\n\r\n", id="not HTTP"),
    ],
)
def test_a_broken_answer_is_unreachable_and_never_retried(answer: bytes) -> None:
    """The request arrived, so the activation may have been made: sending it again could take
    a second seat."""
    with _ScriptedApi((answer, True), (OK_KEEP_ALIVE, True)) as api:
        error = post_failing(_scripted_credentials(api))

    assert (error.status, error.code) == (502, "service_unreachable")
    assert api.requests == 1


@pytest.mark.usefixtures("no_proxy")
def test_an_answer_is_read_as_sent_latin_1_headers_and_reason_included() -> None:
    throttled = (
        b"HTTP/1.1 429 Slow Down Please\r\nRetry-After: 7\r\nX-Note: caf\xe9\r\n"
        b"Content-Length: 2\r\n\r\n{}"
    )
    with _ScriptedApi((throttled, False)) as api:
        error = post_failing(_scripted_credentials(api))

    assert (error.status, error.code, error.retry_after) == (429, "rate_limited", 7)
    assert error.message == "Slow Down Please"


@pytest.mark.usefixtures("no_proxy")
def test_an_https_license_api_is_checked_then_kept_alive(
    loopback_certificate: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An operator whose License API has a private authority's certificate names it in
    SSL_CERT_FILE; the connection is then checked once and reused."""
    monkeypatch.setenv("SSL_CERT_FILE", str(loopback_certificate / "cert.pem"))
    tls = _server_tls(loopback_certificate)
    with _ScriptedApi((OK_KEEP_ALIVE, False), (OK_KEEP_ALIVE, False), tls=tls) as api:
        first = post(_scripted_credentials(api))
        second = post(_scripted_credentials(api))

    assert (first.body, second.body) == (b"{}", b"{}")
    assert (api.requests, api.connections) == (2, 1)


@pytest.mark.usefixtures("no_proxy")
def test_an_https_license_api_under_another_name_is_refused(
    loopback_certificate: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(loopback_certificate / "cert.pem"))
    tls = _server_tls(loopback_certificate)
    with _ScriptedApi((OK_KEEP_ALIVE, False), (OK_KEEP_ALIVE, False), tls=tls) as api:
        api_url = api.url.replace("127.0.0.1", "localhost")  # the certificate names 127.0.0.1

        error = post_failing(Credentials(api_url=api_url, api_key=API_KEY, shared_key=SHARED_KEY))

    assert (error.status, error.code) == (502, "service_unreachable")
    assert "certificate verify failed" in error.message
    assert api.requests == 0


@pytest.mark.usefixtures("no_proxy")
def test_an_interim_answer_is_skipped_for_the_final_one() -> None:
    """A CDN in front of the License API may send 103 Early Hints before the answer."""
    hints = b"HTTP/1.1 103 Early Hints\r\nLink: </x.css>; rel=preload\r\n\r\n"
    processing = b"HTTP/1.1 102 Processing\r\n\r\n"
    with _ScriptedApi((hints + processing + OK_KEEP_ALIVE, False), (OK_KEEP_ALIVE, False)) as api:
        first = post(_scripted_credentials(api))
        second = post(_scripted_credentials(api))

    assert (first.body, second.body) == (b"{}", b"{}")
    assert (api.requests, api.connections) == (2, 1)


@pytest.mark.usefixtures("no_proxy")
def test_a_chunked_answer_is_read_whole_and_its_connection_kept() -> None:
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{\r\n1\r\n}\r\n0\r\n\r\n"
    with _ScriptedApi((chunked, False), (OK_KEEP_ALIVE, False)) as api:
        first = post(_scripted_credentials(api))
        second = post(_scripted_credentials(api))

    assert (first.body, second.body) == (b"{}", b"{}")
    assert (api.requests, api.connections) == (2, 1)


@pytest.mark.usefixtures("no_proxy")
def test_an_answer_that_runs_to_the_close_is_read_whole_on_a_connection_not_kept() -> None:
    with _ScriptedApi((b"HTTP/1.1 200 OK\r\n\r\n{}", True), (OK_KEEP_ALIVE, False)) as api:
        first = post(_scripted_credentials(api))
        second = post(_scripted_credentials(api))

    assert (first.body, second.body) == (b"{}", b"{}")
    assert (api.requests, api.connections) == (2, 2)


class _SlowSendSocket:
    """Takes `accepts` bytes of the first send, then records what happens."""

    def __init__(self, accepts: int, answer: bytes) -> None:
        self.accepts, self.answer = accepts, answer
        self.timeout: float | None = 30.0  # a kept connection's: the read timeout
        self.events: list[tuple[str, object]] = []

    def gettimeout(self) -> float | None:
        return self.timeout

    def settimeout(self, seconds: float | None) -> None:
        self.timeout = seconds
        self.events.append(("timeout", seconds))

    def send(self, data: bytes) -> int:
        self.events.append(("send", bytes(data[: self.accepts])))
        return min(self.accepts, len(data))

    def sendall(self, data: memoryview) -> None:
        self.events.append(("sendall", bytes(data)))

    def recv(self, size: int) -> bytes:
        answer, self.answer = self.answer, b""
        return answer


@pytest.mark.parametrize("accepts", [10_000_000, 100], ids=["all at once", "part at once"])
def test_a_request_goes_out_whole_within_the_write_timeout(accepts: int) -> None:
    """A request the socket takes at once costs no timeout changes; when only part of it fits,
    the rest is sent under the write timeout, and the answer read under the read timeout."""
    sock = _SlowSendSocket(accepts, OK_KEEP_ALIVE)
    timeouts = {"connect": 5.0, "write": 5.0, "read": 30.0, "pool": 5.0}
    headers = [(b"Host", b"api.test"), (b"Content-Length", b"1000")]

    answer = license_api._exchange(
        sock, "POST", b"/api/v4/activate_offline", headers, b"r" * 1000, timeouts
    )

    sent = b"".join(data for event, data in sock.events if event != "timeout")
    assert sent.startswith(b"POST /api/v4/activate_offline HTTP/1.1\r\nHost: api.test\r\n")
    assert sent.endswith(b"\r\n\r\n" + b"r" * 1000)
    if accepts > len(sent):
        assert [event for event, _ in sock.events] == ["send"]
    else:
        assert [event for event, _ in sock.events] == ["send", "timeout", "sendall", "timeout"]
        assert (sock.events[1][1], sock.events[3][1]) == (5.0, 30.0)
    assert (answer.status, answer.body, answer.keep_alive) == (200, b"{}", True)
