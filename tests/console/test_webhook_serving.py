"""Webhooks under the production server (gunicorn.conf.py, as `make run` and the container run
it): delivered with nothing more to start, and uploads as quick while a receiver hangs."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import http.server
import ipaddress
import os
import socket
import ssl
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.factories import API_KEY, LICENSE_BODY, SHARED_KEY, make_request_file

REPO = Path(__file__).resolve().parents[2]
HOST = "hooks.tenant.test"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1, which the portal's processes trust through SSL_CERT_FILE."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "receiver.pem", folder / "receiver.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class _Receiver(http.server.ThreadingHTTPServer):
    """A vendor's https receiver on loopback; `hang` makes it take connections and never answer."""

    daemon_threads = True

    def __init__(self, cert_path: Path, key_path: Path) -> None:
        super().__init__(("127.0.0.1", 0), _Hook)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_path, key_path)
        self.context = context
        self.posts: list[tuple[str, bytes]] = []
        self.arrived = threading.Event()
        self.hang = threading.Event()
        self.stop = threading.Event()

    def get_request(self) -> tuple[socket.socket, object]:
        connection, address = self.socket.accept()
        self.arrived.set()
        if self.hang.is_set():
            self.stop.wait(60)  # holds the accepted connection without a TLS handshake
        return self.context.wrap_socket(connection, server_side=True), address


class _Hook(http.server.BaseHTTPRequestHandler):
    server: _Receiver

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.posts.append((self.headers["X-Portal-Signature"], body))
        self.send_response(204)
        self.end_headers()


class _LicenseApi(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(LICENSE_BODY)))
        self.end_headers()
        self.wfile.write(LICENSE_BODY)


def _serve_forever(server: http.server.HTTPServer) -> None:
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[_Receiver]:
    server = _Receiver(*_self_signed(tmp_path))
    _serve_forever(server)
    yield server
    server.stop.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def license_api_url() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _LicenseApi)
    server.daemon_threads = True
    _serve_forever(server)
    yield f"http://127.0.0.1:{server.server_address[1]}/api/v4"
    server.shutdown()
    server.server_close()


def _manage(env: dict[str, str], *arguments: str) -> str:
    command = [sys.executable, "manage.py", *arguments]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=True)
    return done.stdout


@pytest.fixture
def portal(
    tmp_path: Path, receiver: _Receiver, license_api_url: str, collected_static: None
) -> Iterator[tuple[int, str]]:
    """gunicorn as shipped, a tenant at HOST whose webhook goes to `receiver` (a private
    address, so the operator allows those); yields the port and the webhook's secret."""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": "",
        "PORTAL_VAR_DIR": str(tmp_path / "var"),
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "PORTAL_WEBHOOK_ALLOW_PRIVATE": "true",
        "SSL_CERT_FILE": str(tmp_path / "receiver.pem"),
    }
    _manage(env, "migrate", "--noinput")
    _manage(
        env, "upsert_tenant", HOST, "--name", "Tenant", "--api-url", license_api_url,
        "--api-key", API_KEY, "--shared-key", SHARED_KEY,
    )  # fmt: skip
    url = f"https://127.0.0.1:{receiver.server_address[1]}/hook"
    secret = _manage(
        env, "shell", "-c",
        "from portal.console.webhooks import set_endpoint\n"
        "from portal.tenants.models import TenantSettings\n"
        f"print(set_endpoint(tenant_pk=TenantSettings.objects.get().pk, url='{url}'))",
    ).split()[-1]  # fmt: skip
    log = (tmp_path / "server.log").open("wb")
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "offline_portal.wsgi"]
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_until_answering(port, process)
        yield port, secret
    finally:
        process.terminate()
        process.wait(60)
        log.close()


def _wait_until_answering(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the server did not answer within 30 s")


def _upload(port: int) -> float:
    """One upload on the tenant's host; returns how long its answer took."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/requests",
        data=make_request_file().encode(),
        headers={"Host": HOST, "Content-Type": "text/plain"},
    )
    started = time.monotonic()
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 200
    return time.monotonic() - started


def test_an_uploads_webhook_is_delivered_with_nothing_more_started(portal, receiver) -> None:
    port, secret = portal

    _upload(port)
    deadline = time.monotonic() + 60
    while not receiver.posts and time.monotonic() < deadline:
        time.sleep(0.2)

    ((signature, body),) = receiver.posts
    stamp, digest = (part.split("=", 1)[1] for part in signature.split(","))
    expected = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256)
    assert hmac.compare_digest(digest, expected.hexdigest())
    assert b'"outcome": "ok"' in body


def test_uploads_are_as_quick_while_the_receiver_hangs(portal, receiver) -> None:
    port, _secret = portal
    before = [_upload(port) for _ in range(5)]
    assert receiver.arrived.wait(60), "no delivery reached the receiver"
    receiver.hang.set()
    receiver.arrived.clear()
    _upload(port)
    assert receiver.arrived.wait(60), "the hanging receiver was never called"

    during = [_upload(port) for _ in range(5)]

    # A delivery held by the receiver waits 10 s for its answer: no upload waits on it.
    assert max(during) < 5
    assert statistics.median(during) < statistics.median(before) + 1
