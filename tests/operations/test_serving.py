"""gunicorn.conf.py, run as `make run` and the container run it: nginx in front of gunicorn,
so that slow clients hold no worker thread; an access log without result tokens or forged
lines; a stop (SIGTERM) that still answers the uploads under way."""

from __future__ import annotations

import base64
import contextlib
import http.server
import os
import re
import runpy
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings

from tests.factories import LICENSE_BODY, make_request_file

BASE_DIR = Path(__file__).resolve().parents[2]
GUNICORN = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"]
# One access line: the client, "METHOD path", status, bytes, time.
ACCESS_LINE = re.compile(r'127\.0\.0\.\d+ "[A-Z]+ (?:[^"\\]|\\.)*" \d{3} \d+ \d+ms')


class _LicenseApi(http.server.ThreadingHTTPServer):
    """A License API on loopback that answers every request with a license once `release` is
    set (at once, unless a test clears it first)."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _LicenseRequest)
        self.received: list[bytes] = []
        self.arrived = threading.Semaphore(0)
        self.release = threading.Event()
        self.release.set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/api/v4"


class _LicenseRequest(http.server.BaseHTTPRequestHandler):
    server: _LicenseApi

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        self.server.received.append(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.arrived.release()
        self.server.release.wait(30)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(LICENSE_BODY)))
        self.end_headers()
        self.wfile.write(LICENSE_BODY)


@pytest.fixture
def license_api() -> Iterator[_LicenseApi]:
    server = _LicenseApi()
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def migrated_var_dir(tmp_path_factory: pytest.TempPathFactory, collected_static: None) -> Path:
    """A migrated SQLite database of its own (whatever database the suite runs on), to copy."""
    var_dir = tmp_path_factory.mktemp("migrated")
    env = {**os.environ, "DATABASE_URL": "", "PORTAL_VAR_DIR": str(var_dir)}
    migrate = [sys.executable, "manage.py", "migrate", "--noinput"]
    subprocess.run(migrate, cwd=BASE_DIR, env=env, check=True, capture_output=True)
    return var_dir


@dataclass
class Served:
    process: subprocess.Popen
    port: int
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
        try:
            return self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start(tmp_path: Path, env: dict[str, str], *, own_group: bool = False) -> Served:
    """The repo's gunicorn.conf.py on a free port; `own_group` starts it in a process group of
    its own, as a shell starts a command."""
    port = _free_port()
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*GUNICORN, "offline_portal.wsgi"],
            cwd=BASE_DIR,
            env={**os.environ, "PORT": str(port), "WEB_CONCURRENCY": "1", **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            process_group=0 if own_group else None,
        )
    return Served(process, port, log_path)


def _serve(tmp_path: Path, env: dict[str, str], **options: bool) -> Served:
    """_start, then wait until /healthz answers."""
    served = _start(tmp_path, env, **options)
    deadline = time.monotonic() + 30
    while _get(served.port, "/healthz", timeout=2)[0] != 200:
        if served.process.poll() is not None or time.monotonic() > deadline:
            served.stop()
            raise AssertionError(f"the server did not answer within 30 s: {served.log()[-2000:]}")
        time.sleep(0.1)
    return served


@pytest.fixture
def portal(tmp_path: Path, migrated_var_dir: Path, license_api: _LicenseApi) -> Iterator[Served]:
    """The portal as shipped (two workers, their threads as configured) on a copy of the
    migrated database, relaying to `license_api`."""
    var_dir = tmp_path / "var"
    shutil.copytree(migrated_var_dir, var_dir)
    env = {
        "DATABASE_URL": "",
        "PORTAL_VAR_DIR": str(var_dir),
        "LICENSE_API_URL": license_api.url,
        "WEB_CONCURRENCY": "2",
    }
    served = _serve(tmp_path, env)
    yield served
    served.stop()


def _get(
    port: int, path: str, headers: dict[str, str] | None = None, timeout: float = 10
) -> tuple[int, dict[str, str], bytes]:
    return _http("GET", port, path, None, headers, timeout=timeout)


def _http(
    method: str,
    port: int,
    path: str,
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
    *,
    timeout: float = 10,
) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body); status 0 when nothing answered."""
    url = f"http://127.0.0.1:{port}{path}"
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()
    except OSError:
        return 0, {}, b""


def _upload(port: int, text: str, headers: dict[str, str] | None = None, timeout: float = 60):
    headers = {"Content-Type": "text/plain", **(headers or {})}
    return _http("POST", port, "/api/v1/requests", text.encode(), headers, timeout=timeout)


def _access_lines(served: Served) -> list[str]:
    return [line for line in served.log().splitlines() if line.startswith("127.0.0.")]


def test_the_access_log_names_the_route_not_the_result_token(portal):
    token = "Zq3x9Lr2Kp8WvT5yNm1Bc7Hd4Fg6Js0A"
    _get(portal.port, f"/r/{token}/")
    _get(portal.port, f"/r/{token}/ls_activation.lic?password=hunter2")
    _get(portal.port, "/healthz?token=secret-in-query")
    portal.stop()

    # Each worker writes its line once it has answered: two workers' lines may come in either
    # order.
    lines = _access_lines(portal)[-3:]
    assert _one_matching(r'127\.0\.0\.1 "GET /r/<token>/" 404 \d+ \d+ms', lines)
    assert _one_matching(r'127\.0\.0\.1 "GET /r/<token>/ls_activation.lic" 404 \d+ \d+ms', lines)
    assert _one_matching(r'127\.0\.0\.1 "GET /healthz" 200 \d+ \d+ms', lines)
    assert token not in "\n".join(lines)
    assert "hunter2" not in portal.log()
    assert "secret-in-query" not in portal.log()


def test_an_encoded_line_break_in_a_path_cannot_forge_an_access_line(portal):
    _get(portal.port, "/%0d%0a127.0.0.1%20%22GET%20/admin/%22%20200%200%201ms")
    _get(portal.port, "/%1b%5b2J%e2%80%a8after")
    portal.stop()

    log = portal.log()
    assert "\r" not in log and "\x1b" not in log and "\u2028" not in log
    lines = _access_lines(portal)
    assert all(ACCESS_LINE.fullmatch(line) for line in lines), lines
    last = lines[-2:]  # in either order, as above
    assert any(
        line.startswith('127.0.0.1 "GET /\\x0d\\x0a127.0.0.1 \\"GET /admin/\\" 200')
        for line in last
    )
    assert any(line.startswith('127.0.0.1 "GET /\\x1b[2J\\u2028after" 404') for line in last)


def _one_matching(pattern: str, lines: list[str]) -> bool:
    return sum(bool(re.fullmatch(pattern, line)) for line in lines) == 1


def _open_trickling(port: int, count: int) -> list[socket.socket]:
    """`count` uploads that send their head (a 10 kB body announced) and a first byte."""
    head = (
        b"POST /api/v1/requests HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\n"
        b"Content-Length: 10000\r\n\r\n-"
    )
    sockets = []
    for _ in range(count):
        connection = socket.create_connection(("127.0.0.1", port), timeout=5)
        connection.sendall(head)
        sockets.append(connection)
    return sockets


def _trickle(sockets: list[socket.socket], stop: threading.Event) -> None:
    """One more byte on each connection every second, until `stop`."""
    while not stop.wait(1):
        for connection in sockets:
            with contextlib.suppress(OSError):  # one nginx gave up on: the others go on
                connection.send(b"-")


def _timed(call, *args):
    started = time.monotonic()
    return call(*args), time.monotonic() - started


def test_slow_clients_cannot_starve_the_workers(portal, license_api):
    """200 uploads that send their bodies a byte a second: more than the workers have threads.
    The health probe and a user's upload still answer at once."""
    sockets = _open_trickling(portal.port, 200)
    stop = threading.Event()
    trickler = threading.Thread(target=_trickle, args=(sockets, stop), daemon=True)
    trickler.start()
    try:
        time.sleep(3)  # every slow upload is past its head, and sending its body

        (status, _, _), health_s = _timed(_get, portal.port, "/healthz", None, 10)
        upload = make_request_file(hardware_id="slow-clients-hwid")
        (upload_status, _, body), upload_s = _timed(_upload, portal.port, upload, None, 10)
    finally:
        stop.set()
        trickler.join(5)
        for connection in sockets:
            connection.close()

    assert (status, upload_status) == (200, 200)
    assert body == base64.b64encode(LICENSE_BODY)
    assert health_s < 2 and upload_s < 2, (health_s, upload_s)


def test_a_body_over_the_limit_gets_the_portals_refusal_unread_and_a_closed_connection(portal):
    announced = settings.PORTAL_MAX_BODY_BYTES + 1
    with socket.create_connection(("127.0.0.1", portal.port), timeout=10) as connection:
        connection.sendall(
            b"POST /api/v1/requests HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\n"
            b"Content-Length: %d\r\n\r\n" % announced
        )
        answer = connection.makefile("rb")
        status_line = answer.readline()
        headers = {}
        while (line := answer.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        body = answer.read()  # until nginx closes the connection

    assert status_line.startswith(b"HTTP/1.1 413")
    assert headers["connection"] == "close"
    assert headers["content-type"] == "application/json"
    assert b'"code": "too_large"' in body


def test_a_page_upload_over_the_limit_gets_the_portals_page(portal):
    too_large = b"a" * (settings.PORTAL_MAX_BODY_BYTES + 1)

    status, headers, page = _http(
        "POST", portal.port, "/", too_large, {"Content-Type": "text/plain"}
    )

    assert status == 413
    assert headers["Content-Type"].startswith("text/html")
    assert b"too much to send at once" in page


def test_a_client_cannot_claim_https_through_a_forwarded_header(portal):
    """Only an operator's PORTAL_TRUST_X_FORWARDED_PROTO makes a request https (and so sends
    HSTS); a client's own X-Forwarded-Proto must not."""
    _, headers, _ = _get(portal.port, "/healthz", {"X-Forwarded-Proto": "https"})

    assert "Strict-Transport-Security" not in headers


def _upload_from(source: str, port: int, forwarded_for: str | None = None) -> int:
    """The status of an upload (of no request file) sent from loopback address `source`."""
    headers = f"X-Forwarded-For: {forwarded_for}\r\n" if forwarded_for else ""
    with socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0)) as c:
        c.sendall(
            b"POST /api/v1/requests HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\n"
            + headers.encode()
            + b"Connection: close\r\n\r\nnope"
        )
        return int(c.makefile("rb").readline().split()[1])


@pytest.mark.skipif(sys.platform != "linux", reason="needs all of 127/8 on loopback")
def test_rate_limits_count_the_client_nginx_saw_not_its_forwarded_for(tmp_path, migrated_var_dir):
    var_dir = tmp_path / "var"
    shutil.copytree(migrated_var_dir, var_dir)
    env = {"DATABASE_URL": "", "PORTAL_VAR_DIR": str(var_dir), "PORTAL_RATE_LIMIT": "1"}
    served = _serve(tmp_path, env)
    try:
        first = _upload_from("127.0.0.2", served.port)
        posing = _upload_from("127.0.0.2", served.port, forwarded_for="198.51.100.7")
        other = _upload_from("127.0.0.3", served.port, forwarded_for="127.0.0.2")
    finally:
        served.stop()

    assert (first, posing, other) == (400, 429, 400)


def test_rate_limits_behind_a_proxy_count_the_address_it_forwarded(tmp_path, migrated_var_dir):
    var_dir = tmp_path / "var"
    shutil.copytree(migrated_var_dir, var_dir)
    env = {
        **{"DATABASE_URL": "", "PORTAL_VAR_DIR": str(var_dir), "PORTAL_RATE_LIMIT": "1"},
        "PORTAL_TRUSTED_PROXY_COUNT": "1",
    }
    served = _serve(tmp_path, env)
    try:
        first = _upload_from("127.0.0.1", served.port, forwarded_for="203.0.113.5")
        posing = _upload_from("127.0.0.1", served.port, forwarded_for="198.51.100.7, 203.0.113.5")
        other = _upload_from("127.0.0.1", served.port, forwarded_for="203.0.113.6")
    finally:
        served.stop()

    assert (first, posing, other) == (400, 429, 400)


def test_a_taken_port_stops_the_start_with_nginxs_reason(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        served = _start(tmp_path, {"PORT": str(port)})
        served.port = port
        try:
            status = served.process.wait(30)
        finally:
            served.stop()

    assert status != 0
    assert "Address already in use" in served.log()
    assert f"nginx did not start on 127.0.0.1:{port}" in served.log()


def test_a_stop_still_answers_the_uploads_under_way(portal, license_api):
    """A deploy or scale-in stops a server with SIGTERM while users wait on the License API:
    their activations are made upstream, so they must get their license files."""
    license_api.release.clear()
    answers: list[tuple[int, bytes]] = []

    def upload(hardware_id: str) -> None:
        status, _, body = _upload(portal.port, make_request_file(hardware_id=hardware_id))
        answers.append((status, body))

    uploads = [
        threading.Thread(target=upload, args=(hardware_id,))
        for hardware_id in ("stop-test-hwid-1", "stop-test-hwid-2")
    ]
    for thread in uploads:
        thread.start()
    for _ in uploads:
        assert license_api.arrived.acquire(timeout=30), "an upload never reached the License API"

    portal.process.send_signal(signal.SIGTERM)
    time.sleep(1)  # the server has stopped accepting, and waits for the two
    assert portal.process.poll() is None, "the server quit with uploads under way"
    license_api.release.set()
    for thread in uploads:
        thread.join(60)

    assert portal.process.wait(30) == 0
    assert answers == [(200, base64.b64encode(LICENSE_BODY))] * 2, portal.log()[-2000:]
    assert len(license_api.received) == 2


def _printed_setting(name: str) -> str:
    printed = subprocess.run(
        [*GUNICORN, "--print-config", "offline_portal.wsgi"],
        cwd=BASE_DIR,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return re.search(rf"^{name}\s*=\s*(.*)$", printed, re.MULTILINE).group(1)


def test_a_stop_waits_longer_than_an_upload_can_take():
    """An upload waits at most the License API's connect timeout twice (a refused connection is
    tried once more), the send's (the connect timeout again) and the read timeout: a stop must
    not cut one short."""
    longest = 3 * settings.LICENSE_API_CONNECT_TIMEOUT + settings.LICENSE_API_READ_TIMEOUT

    assert int(_printed_setting("graceful_timeout")) > longest


def test_a_quit_signal_during_the_first_quit_is_ignored():
    """Ctrl-C: a worker gets the terminal's SIGINT, then the master's SIGQUIT while the first
    is still being handled. Handled twice, the thread pool's shutdown waited on its own lock
    until the master killed the worker 50 s later."""
    post_worker_init = runpy.run_path(str(BASE_DIR / "gunicorn.conf.py"))["post_worker_init"]
    quits = []

    class Worker:
        def handle_quit(self, sig, frame):
            quits.append(sig)
            signal.getsignal(signal.SIGQUIT)(signal.SIGQUIT, None)  # the master's, meanwhile

    saved = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGQUIT)}
    try:
        post_worker_init(Worker())
        signal.getsignal(signal.SIGINT)(signal.SIGINT, None)
    finally:
        for number, handler in saved.items():
            signal.signal(number, handler)

    assert quits == [signal.SIGINT]


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_ctrl_c_stops_the_server_at_once(tmp_path):
    """`make run` in a terminal: Ctrl-C sends SIGINT to the whole process group."""
    served = _serve(tmp_path, {"WEB_CONCURRENCY": "2"}, own_group=True)
    try:
        deadline = time.monotonic() + 30
        # nginx, the webhook delivery and two workers
        while len(_children(served.process.pid)) < 4:
            assert time.monotonic() < deadline, "gunicorn did not start two workers within 30 s"
            time.sleep(0.1)
        time.sleep(1)  # both workers past post_worker_init

        os.killpg(served.process.pid, signal.SIGINT)

        assert served.process.wait(10) == 0
    finally:
        served.stop()


def test_a_reload_keeps_serving(tmp_path):
    """SIGHUP (an operator's reload) runs gunicorn.conf.py again: same socket, nginx in front."""
    served = _serve(tmp_path, {})
    try:
        served.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 30
        while "Booting worker" not in served.log().split("Handling signal: hup")[-1]:
            assert time.monotonic() < deadline, "no new worker within 30 s of the reload"
            time.sleep(0.1)
        time.sleep(1)

        status, _, _ = _get(served.port, "/healthz")
    finally:
        exit_status = served.stop()

    assert (status, exit_status) == (200, 0), served.log()[-2000:]


def test_a_stop_leaves_no_serving_folder_behind(tmp_path):
    served = _serve(tmp_path, {})
    folder = re.search(r"Listening at: unix:(\S+)/gunicorn\.sock", served.log()).group(1)
    assert Path(folder).is_dir()

    assert served.stop() == 0
    assert not Path(folder).exists()
    assert "[ERROR]" not in served.log()
