"""Chaos: the worker relaying a file is killed (SIGKILL) while the License API answers.

The portal runs as in production (gunicorn with the repo's config, a SQLite file, the built-in
sandbox as its License API), behind a proxy in this test that holds the first call until the
worker is dead, then lets it through: the sandbox activates the device, and nobody hears. The
same file uploaded again must bring the license back once the dead worker's claim has lapsed
(PORTAL_CLAIM_LEASE_SECONDS), and the sandbox must count that computer once.
"""

from __future__ import annotations

import base64
import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.factories import read_vector

REPO = Path(__file__).resolve().parents[2]
LEASE_SECONDS = 3
START_TIMEOUT_S = 30


class HoldFirstProxy(http.server.ThreadingHTTPServer):
    """Forwards License API calls to the portal's sandbox; holds the first until `killed`."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyRequest)
        self.target = ""
        self.calls = 0
        self.first_arrived = threading.Event()
        self.killed = threading.Event()
        self.first_done = threading.Event()


class _ProxyRequest(http.server.BaseHTTPRequestHandler):
    server: HoldFirstProxy

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.calls += 1
        first = self.server.calls == 1
        if first:
            self.server.first_arrived.set()
            self.server.killed.wait(30)
        status, answer = self._forward(body)
        if first:
            self.server.first_done.set()
        try:
            self.send_response(status)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)
        except OSError:
            pass  # the worker that asked is dead

    def _forward(self, body: bytes) -> tuple[int, bytes]:
        names = ("Date", "Authorization", "Content-Type")
        headers = {name: self.headers[name] for name in names if self.headers[name]}
        request = urllib.request.Request(self.server.target + self.path, body, headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()


@pytest.fixture
def proxy() -> Iterator[HoldFirstProxy]:
    server = HoldFirstProxy()
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield server
    server.killed.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def portal(proxy: HoldFirstProxy, tmp_path: Path) -> Iterator[tuple[subprocess.Popen, int]]:
    """gunicorn (one worker) on a migrated, seeded SQLite file of its own: (server, port)."""
    port = _free_port()
    proxy.target = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": "",
        "PORTAL_VAR_DIR": str(tmp_path),
        "SANDBOX_ENABLED": "true",
        "LICENSE_API_URL": f"http://127.0.0.1:{proxy.server_address[1]}/sandbox/api/v4",
        "PORTAL_CLAIM_LEASE_SECONDS": str(LEASE_SECONDS),
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": "4",
        "PORT": str(port),
        "PYTHONPATH": str(REPO),
    }
    prepare = [sys.executable, "docker/prepare_database.py"]
    subprocess.run(prepare, cwd=REPO, env=env, check=True, capture_output=True)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "offline_portal.wsgi"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_until_healthy(port)
        yield server, port
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_a_file_whose_worker_was_killed_mid_relay_is_relayed_again_within_seconds(portal, proxy):
    server, port = portal
    text = read_vector("py_activate_key.req")
    lost = threading.Thread(target=_upload, args=(port, text), daemon=True)
    lost.start()
    assert proxy.first_arrived.wait(30), "the first upload never reached the License API"

    (worker,) = _gunicorn_workers(server.pid)
    os.kill(worker, signal.SIGKILL)
    killed_at = time.monotonic()
    proxy.killed.set()
    assert proxy.first_done.wait(30)  # the sandbox activated the device for the dead worker
    _wait_until_healthy(port)  # gunicorn has started a new worker
    status, answer = _upload(port, text)
    took = time.monotonic() - killed_at

    assert status == 200, answer
    license_object = json.loads(base64.b64decode(answer))
    assert license_object["license_key"] == "FUH3-4E7A-LZJL-7JTP"
    assert license_object["times_activated"] == 1  # the same computer, one seat
    assert proxy.calls == 2
    assert took < LEASE_SECONDS + 15


def _upload(port: int, text: str) -> tuple[int, bytes]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/requests",
        data=text.encode(),
        headers={"Content-Type": "text/plain"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except OSError as error:
        return 0, repr(error).encode()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _gunicorn_workers(pid: int) -> list[int]:
    """The master's worker processes (not the nginx nor the webhook delivery it starts)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    children = [int(child) for child in path.read_text().split()]
    others = (b"nginx", b"deliver_webhooks")
    return [child for child in children if not any(o in _command_line(child) for o in others)]


def _command_line(pid: int) -> bytes:
    return Path(f"/proc/{pid}/cmdline").read_bytes()


def _wait_until_healthy(port: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"the portal did not answer within {START_TIMEOUT_S} s")
