"""Request bodies as gunicorn hands them over: chunked ones are read (within the cap), and an
answer that leaves a body unread closes the connection and says so."""

from __future__ import annotations

import base64
import http.client
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.factories import LICENSE_BODY, make_request_file

BASE_DIR = Path(__file__).resolve().parents[2]
MAX_BODY = 4096  # PORTAL_MAX_BODY_BYTES of the server under test: a request file fits


class _LicenseApi(http.server.ThreadingHTTPServer):
    """A License API on loopback that activates everything and keeps what it received."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Activate)
        self.received: list[bytes] = []


class _Activate(http.server.BaseHTTPRequestHandler):
    server: _LicenseApi

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        self.server.received.append(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(200)
        self.send_header("Content-Length", str(len(LICENSE_BODY)))
        self.end_headers()
        self.wfile.write(LICENSE_BODY)


@pytest.fixture(scope="module")
def upstream_api() -> Iterator[_LicenseApi]:
    api = _LicenseApi()
    threading.Thread(target=api.serve_forever, args=(0.05,), daemon=True).start()
    yield api
    api.shutdown()
    api.server_close()


@pytest.fixture(scope="module")
def port(
    upstream_api: _LicenseApi, tmp_path_factory: pytest.TempPathFactory, collected_static: None
) -> Iterator[int]:
    """gunicorn with the repository's config and a SQLite file of its own."""
    folder = tmp_path_factory.mktemp("bodies")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    env = {
        **os.environ,
        "DATABASE_URL": "",
        "PORTAL_VAR_DIR": str(folder),
        "PORTAL_MAX_BODY_BYTES": str(MAX_BODY),
        "LICENSE_API_URL": f"http://127.0.0.1:{upstream_api.server_address[1]}/api/v4",
        "PORT": str(free_port),
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": "4",
    }
    migrate = [sys.executable, "manage.py", "migrate", "--noinput"]
    subprocess.run(migrate, cwd=BASE_DIR, env=env, check=True, capture_output=True)
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "offline_portal.wsgi"]
    with (folder / "gunicorn.log").open("wb") as log:
        server = subprocess.Popen(command, cwd=BASE_DIR, env=env, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 30
        while not _answers(free_port):
            assert server.poll() is None, (folder / "gunicorn.log").read_text()
            assert time.monotonic() < deadline, "gunicorn did not answer within 30 s"
            time.sleep(0.1)
        yield free_port
    finally:
        server.terminate()
        server.wait(30)


def _answers(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def _chunks(data: bytes, size: int = 500) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_a_chunked_upload_is_read_and_relayed(port, upstream_api):
    text = make_request_file(hardware_id="chunked-upload-hwid").encode()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    connection.request(
        "POST",
        "/api/v1/requests",
        body=_chunks(text),
        headers={"Content-Type": "text/plain"},
        encode_chunked=True,
    )
    response = connection.getresponse()

    assert (response.status, base64.b64decode(response.read())) == (200, LICENSE_BODY)
    assert upstream_api.received[-1] == text.strip()


def test_a_chunked_upload_over_the_cap_is_refused_with_413(port):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    connection.request(
        "POST",
        "/api/v1/requests",
        body=_chunks(b"A" * (MAX_BODY + 100)),
        headers={"Content-Type": "text/plain"},
        encode_chunked=True,
    )
    response = connection.getresponse()

    assert response.status == 413
    assert json.loads(response.read())["code"] == "too_large"
    assert response.getheader("Connection") == "close"


def test_a_body_refused_unread_closes_the_connection_and_says_so(port):
    """The client announces a body over the cap and waits for the answer before sending it."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.putrequest("POST", "/api/v1/requests")
    connection.putheader("Content-Type", "text/plain")
    connection.putheader("Content-Length", str(10 * 1024 * 1024))
    connection.endheaders()

    refused = connection.getresponse()
    refused.read()
    # A client that honours `Connection: close` opens a new connection for the next request.
    connection.request("GET", "/healthz")
    after = connection.getresponse()

    assert refused.status == 413
    assert refused.getheader("Connection") == "close"
    assert after.status == 200


def test_a_connection_without_a_refused_body_is_kept_alive(port):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    statuses = []
    for _ in range(3):
        connection.request("GET", "/healthz")
        response = connection.getresponse()
        response.read()
        statuses.append((response.status, response.getheader("Connection")))

    assert statuses == [(200, "keep-alive")] * 3


def test_a_content_type_django_cannot_parse_is_a_400_not_a_500(port):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    connection.request(
        "POST",
        "/api/v1/requests",
        body=b"%%% not a request file",
        headers={"Content-Type": "text/plain; name*=no-such-charset''x"},
    )
    response = connection.getresponse()

    assert response.status == 400
    assert json.loads(response.read())["code"] == "not_base64"
