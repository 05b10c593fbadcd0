"""The relay against a real HTTP server on loopback that speaks the spec (no fake transport).

The server checks the Date/Authorization HMAC itself and records each body, as any License API
would see them; the license file the portal hands back must be base64 of what it sent.
"""

from __future__ import annotations

import base64
import http.server
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from portal.relay import upstream as upstream_client
from tests.factories import API_KEY, SHARED_KEY, hmac_b64, read_vector

pytestmark = pytest.mark.django_db

VECTORS = [
    "py_activate_key.req",
    "py_activate_user.req",
    "node_activate_key.req",
    "flat_v1_activate_key.req",
    "py_deactivate_key_consumption.req",
]


@dataclass
class SpecServer:
    url: str
    mode: str = "ok"
    received: list[dict] = field(default_factory=list)


def _license_for(body_length: int) -> bytes:
    """The server's license answer, with its own indentation: the portal must not reformat it."""
    return json.dumps({"license_key": f"K-{body_length}", "length": body_length}, indent=2).encode()


def _expected_license(request_text: str) -> bytes:
    return _license_for(len(request_text.strip()))


def _handler(server_state: SpecServer) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            signature = hmac_b64(SHARED_KEY, "licenseSpring\ndate: " + self.headers.get("Date", ""))
            expected = (
                f'algorithm="hmac-sha256",headers="date",signature="{signature}",apiKey="{API_KEY}"'
            )
            server_state.received.append(
                {
                    "path": self.path,
                    "body": body,
                    "content_type": self.headers.get("Content-Type"),
                    "signed": self.headers.get("Authorization") == expected,
                }
            )
            self._answer(body)

        def _answer(self, body: bytes) -> None:
            mode = server_state.mode
            if mode == "slow":
                time.sleep(1.5)
            if mode == "html500":
                self._send(500, b"<html><body>Internal error</body></html>", "text/html")
            elif mode == "garbage":
                self._send(400, b"\x00\xff not json", "application/octet-stream")
            elif mode == "ratelimit":
                self._send(429, b'{"status":429,"code":"rate_limited","message":"slow"}', "json", 9)
            elif self.path.endswith("deactivate_offline"):
                self._send(200, b'"license_deactivated"', "application/json")
            else:
                self._send(200, _license_for(len(body)), "application/json")

        def _send(self, status: int, content: bytes, kind: str, retry: int = 0) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(content)))
            if retry:
                self.send_header("Retry-After", str(retry))
            self.end_headers()
            self.wfile.write(content)

    return Handler


@pytest.fixture
def spec_server(settings) -> Iterator[SpecServer]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), None)  # type: ignore[arg-type]
    state = SpecServer(url=f"http://127.0.0.1:{httpd.server_address[1]}/api/v4")
    httpd.RequestHandlerClass = _handler(state)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    settings.LICENSE_API_URL = state.url
    settings.LICENSE_API_READ_TIMEOUT = 1.0
    upstream_client.set_client(None)
    yield state
    httpd.shutdown()
    httpd.server_close()
    upstream_client.set_client(None)


@pytest.mark.parametrize("vector", VECTORS)
def test_page_relays_each_vector_signed_and_byte_for_byte(client, spec_server, vector):
    text = read_vector(vector)

    response = client.post("/", {"file": SimpleUploadedFile("ls_activation.req", text.encode())})

    assert response.status_code == 303
    received = spec_server.received[-1]
    assert received["body"] == text.strip().encode()
    assert received["signed"]
    assert received["content_type"] == "text/plain"
    kind = "deactivate" if "deactivate" in vector else "activate"
    assert received["path"] == f"/api/v4/{kind}_offline"


@pytest.mark.parametrize("vector", [v for v in VECTORS if "deactivate" not in v])
def test_page_download_equals_base64_of_the_servers_body(client, spec_server, vector):
    result_url = client.post(
        "/", {"file": SimpleUploadedFile("a.req", read_vector(vector).encode())}
    )["Location"]

    downloaded = client.get(result_url + "ls_activation.lic").content

    assert base64.b64decode(downloaded) == _expected_license(read_vector(vector))


@pytest.mark.parametrize("vector", [v for v in VECTORS if "deactivate" not in v])
def test_api_relays_each_vector_and_returns_base64_of_the_servers_body(client, spec_server, vector):
    text = read_vector(vector)

    response = client.post("/api/v1/requests", data=text, content_type="text/plain")

    assert response.status_code == 200
    assert base64.b64decode(response.content) == _expected_license(text)
    assert spec_server.received[-1]["body"] == text.strip().encode()
    assert spec_server.received[-1]["signed"]


@pytest.mark.parametrize(
    ("mode", "status"),
    [("html500", 502), ("garbage", 502), ("slow", 504), ("ratelimit", 429)],
)
def test_upstream_failures_get_a_clear_answer_and_no_secret(client, spec_server, mode, status):
    spec_server.mode = mode

    page = client.post("/", {"request_text": read_vector("py_activate_user.req")})
    api = client.post(
        "/api/v1/requests", data=read_vector("py_activate_key.req"), content_type="text/plain"
    )

    for response in (page, api):
        text = response.content.decode()
        assert response.status_code == status
        assert "Traceback" not in text
        assert SHARED_KEY not in text
        assert "s3cret-Pa55" not in text
    assert api.json()["message"]


def test_refused_connection_is_a_502_with_a_plain_message(client, settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.LICENSE_API_URL = f"http://127.0.0.1:{port}/api/v4"
    upstream_client.set_client(None)

    response = client.post(
        "/api/v1/requests", data=read_vector("py_activate_key.req"), content_type="text/plain"
    )

    assert response.status_code == 502
    assert "could not be reached" in response.json()["message"]
