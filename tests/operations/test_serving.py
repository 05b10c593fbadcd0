"""gunicorn.conf.py: one CPU per worker, spread over the CPUs the server may use, unless a
cgroup CPU quota says the CPUs are shared; an access log that shows no query string; and a
stop (SIGTERM) that still answers the uploads under way."""

from __future__ import annotations

import base64
import http.server
import os
import re
import runpy
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from gunicorn.config import Config

from offline_portal.access_log import ACCESS_LOG_FORMAT, AccessLogger
from tests.factories import LICENSE_BODY, make_request_file

BASE_DIR = Path(__file__).resolve().parents[2]
CONFIG = runpy.run_path(str(BASE_DIR / "gunicorn.conf.py"))
least_used_cpu = CONFIG["least_used_cpu"]
cpu_quota = CONFIG["cpu_quota"]
pin_workers = CONFIG["_pin_workers"]


def test_workers_go_to_the_cpus_nobody_has_yet():
    assert least_used_cpu([0, 1], []) == 0
    assert least_used_cpu([0, 1], [0]) == 1
    assert least_used_cpu([2, 3, 5], [2, 3]) == 5


def test_a_worker_that_replaces_a_dead_one_takes_its_cpu():
    assert least_used_cpu([0, 1, 2], [0, 2]) == 1
    assert least_used_cpu([0, 1], [0, 1, 1]) == 0


def test_more_workers_than_cpus_share_them_evenly():
    assert least_used_cpu([0, 1], [0, 1]) == 0
    assert least_used_cpu([0, 1], [0, 1, 0]) == 1


def test_a_cgroup_v2_quota_is_read_in_cpus(tmp_path):
    (tmp_path / "cpu.max").write_text("150000 100000\n")

    assert cpu_quota(tmp_path) == 1.5


def test_no_quota_when_cgroup_v2_says_max_or_there_is_no_cgroup(tmp_path):
    assert cpu_quota(tmp_path) is None
    (tmp_path / "cpu.max").write_text("max 100000\n")

    assert cpu_quota(tmp_path) is None


def test_a_cgroup_v1_quota_is_read_and_minus_one_means_none(tmp_path):
    folder = tmp_path / "cpu,cpuacct"
    folder.mkdir()
    (folder / "cpu.cfs_period_us").write_text("100000\n")
    (folder / "cpu.cfs_quota_us").write_text("200000\n")

    assert cpu_quota(tmp_path) == 2.0
    (folder / "cpu.cfs_quota_us").write_text("-1\n")
    assert cpu_quota(tmp_path) is None


def test_without_cpu_affinity_calls_nothing_is_pinned(monkeypatch):
    monkeypatch.delattr(os, "sched_setaffinity")

    assert pin_workers("on") is False


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs Linux")
def test_off_never_pins_and_on_always_does():
    assert pin_workers("off") is False
    assert pin_workers("false") is False
    assert pin_workers("on") is True


class _Response:
    status = "200 OK"
    sent = 4092
    headers = [("Content-Type", "application/octet-stream"), ("X-Request-Id", "5EE4D106")]


class _Request:
    headers = [("HOST", "offline.acme.test"), ("USER-AGENT", "Mozilla/5.0 (X11)")]


def _access_line(tmp_path: Path, log_format: str, path: str) -> str:
    config = Config()  # as gunicorn.conf.py sets it, logger class included
    config.set("logger_class", CONFIG["logger_class"])
    config.set("accesslog", str(tmp_path / "access.log"))
    config.set("access_log_format", log_format)
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "password=hunter2",
        "RAW_URI": f"{path}?password=hunter2",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.7",
        "HTTP_USER_AGENT": "Mozilla/5.0 (X11)",
    }
    logger = config.logger_class(config)
    assert isinstance(logger, AccessLogger)
    logger.access(_Response(), _Request(), environ, timedelta(milliseconds=205, microseconds=900))
    logger.close_on_exec()
    return (tmp_path / "access.log").read_text()


def test_the_access_log_shows_client_method_path_status_bytes_and_time(tmp_path):
    assert CONFIG["access_log_format"] == ACCESS_LOG_FORMAT  # else the slower general way

    line = _access_line(tmp_path, CONFIG["access_log_format"], "/r/abc/ls_activation.lic")

    assert line == '203.0.113.7 "GET /r/abc/ls_activation.lic" 200 4092 205ms\n'


def test_a_quote_in_the_path_cannot_end_the_quoted_field_early(tmp_path):
    line = _access_line(tmp_path, CONFIG["access_log_format"], '/a" 500 0 1ms')

    assert line == '203.0.113.7 "GET /a\\" 500 0 1ms" 200 4092 205ms\n'


def test_an_operators_own_access_log_format_is_gunicorns_to_fill(tmp_path):
    line = _access_line(tmp_path, '%(h)s "%(a)s" %({x-request-id}o)s %(s)s', "/")

    assert line == '203.0.113.7 "Mozilla/5.0 (X11)" 5EE4D106 200\n'


def _start_gunicorn(
    env: dict[str, str], log: int | None = subprocess.DEVNULL, *, own_group: bool = False
):
    """gunicorn with the repo's config on a free port: (process, port); `own_group` starts it
    in a process group of its own, as a shell starts a command."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = {**os.environ, "PORT": str(port), **env}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "offline_portal.wsgi"],
        cwd=BASE_DIR,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
        process_group=0 if own_group else None,
    )
    return server, port


def test_the_served_access_log_names_the_path_without_its_query_string(tmp_path):
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("wb") as log:
        server, port = _start_gunicorn({"WEB_CONCURRENCY": "1"}, log)
    try:
        deadline = time.monotonic() + 30
        while not _answers(port, "/healthz?token=secret-in-query"):
            assert time.monotonic() < deadline, "gunicorn did not answer within 30 s"
            time.sleep(0.1)
    finally:
        server.terminate()
        server.wait(30)

    lines = [line for line in log_path.read_text().splitlines() if "/healthz" in line]
    assert lines
    assert re.fullmatch(r'127\.0\.0\.1 "GET /healthz" 200 \d+ \d+ms', lines[-1])
    assert "secret-in-query" not in log_path.read_text()


def _worker_cpus(env: dict[str, str]) -> list[set[int]]:
    """Start gunicorn with the repo's config and two workers; each worker's allowed CPUs."""
    server, port = _start_gunicorn({"WEB_CONCURRENCY": "2", **env})
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            workers = _children(server.pid)
            if len(workers) == 2 and _answers(port):
                time.sleep(1)  # the other worker too is past post_fork by now
                return [_allowed_cpus(pid) for pid in workers]
            time.sleep(0.1)
        raise AssertionError("gunicorn did not start two workers within 30 s")
    finally:
        server.terminate()
        server.wait(30)


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def _answers(port: int, path: str = "/healthz") -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2):
            return True
    except OSError:
        return False


def _allowed_cpus(pid: int) -> set[int]:
    status = Path(f"/proc/{pid}/status").read_text()
    cpus: set[int] = set()
    for part in re.search(r"Cpus_allowed_list:\s*(\S+)", status).group(1).split(","):
        first, _, last = part.partition("-")
        cpus.update(range(int(first), int(last or first) + 1))
    return cpus


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_each_worker_runs_on_a_cpu_of_its_own():
    available = os.sched_getaffinity(0)

    cpus = _worker_cpus({"GUNICORN_CPU_AFFINITY": "on"})

    assert all(len(allowed) == 1 and allowed <= available for allowed in cpus)
    if len(available) >= 2:
        assert cpus[0] != cpus[1]


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_cpu_affinity_off_leaves_the_workers_to_the_kernel():
    cpus = _worker_cpus({"GUNICORN_CPU_AFFINITY": "off"})

    assert cpus == [os.sched_getaffinity(0)] * 2


class _HeldLicenseApi(http.server.ThreadingHTTPServer):
    """A License API on loopback that holds every request until `release` is set."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _HeldRequest)
        self.received: list[bytes] = []
        self.arrived = threading.Semaphore(0)
        self.release = threading.Event()


class _HeldRequest(http.server.BaseHTTPRequestHandler):
    server: _HeldLicenseApi

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


def _upload(port: int, text: str, answers: list[tuple[int, bytes] | str]) -> None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/requests",
        data=text.encode(),
        headers={"Content-Type": "text/plain"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            answers.append((response.status, response.read()))
    except OSError as error:
        answers.append(repr(error))


def test_a_stop_still_answers_the_uploads_under_way(tmp_path):
    """A deploy or scale-in stops a server with SIGTERM while users wait on the License API:
    their activations are made upstream, so they must get their license files."""
    upstream = _HeldLicenseApi()
    threading.Thread(target=upstream.serve_forever, args=(0.05,), daemon=True).start()
    env = {
        "DATABASE_URL": "",  # a SQLite file of its own, whatever database the suite runs on
        "PORTAL_VAR_DIR": str(tmp_path),
        "LICENSE_API_URL": f"http://127.0.0.1:{upstream.server_address[1]}/api/v4",
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": "4",
    }
    migrate = [sys.executable, "manage.py", "migrate", "--noinput"]
    subprocess.run(
        migrate, cwd=BASE_DIR, env={**os.environ, **env}, check=True, capture_output=True
    )
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("wb") as log:
        server, port = _start_gunicorn(env, log)
    answers: list[tuple[int, bytes] | str] = []
    try:
        deadline = time.monotonic() + 30
        while not _answers(port):
            assert time.monotonic() < deadline, "gunicorn did not answer within 30 s"
            time.sleep(0.1)
        uploads = [
            threading.Thread(target=_upload, args=(port, make_request_file(hardware_id=h), answers))
            for h in ("stop-test-hwid-1", "stop-test-hwid-2")
        ]
        for upload in uploads:
            upload.start()
        for _ in uploads:
            assert upstream.arrived.acquire(timeout=30), "an upload never reached the License API"

        server.send_signal(signal.SIGTERM)
        time.sleep(1)  # the server has stopped accepting, and waits for the two
        assert server.poll() is None, "the server quit with uploads under way"
        upstream.release.set()
        for upload in uploads:
            upload.join(60)
        assert server.wait(30) == 0
    finally:
        upstream.release.set()
        if server.poll() is None:
            server.kill()
            server.wait()
        upstream.shutdown()
        upstream.server_close()

    assert answers == [(200, base64.b64encode(LICENSE_BODY))] * 2, log_path.read_text()[-2000:]
    assert len(upstream.received) == 2


def test_a_stop_waits_longer_than_an_upload_can_take():
    """An upload waits at most the License API's connect timeout twice (a refused connection is
    tried once more), the send's (the connect timeout again) and the read timeout: a stop must
    not cut one short."""
    longest = 3 * settings.LICENSE_API_CONNECT_TIMEOUT + settings.LICENSE_API_READ_TIMEOUT

    assert CONFIG["graceful_timeout"] > longest


def test_a_quit_signal_during_the_first_quit_is_ignored():
    """Ctrl-C: a worker gets the terminal's SIGINT, then the master's SIGQUIT while the first
    is still being handled. Handled twice, the thread pool's shutdown waited on its own lock
    until the master killed the worker 50 s later."""
    quits = []

    class Worker:
        def handle_quit(self, sig, frame):
            quits.append(sig)
            signal.getsignal(signal.SIGQUIT)(signal.SIGQUIT, None)  # the master's, meanwhile

    saved = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGQUIT)}
    try:
        CONFIG["post_worker_init"](Worker())
        signal.getsignal(signal.SIGINT)(signal.SIGINT, None)
    finally:
        for number, handler in saved.items():
            signal.signal(number, handler)

    assert quits == [signal.SIGINT]


def test_ctrl_c_stops_the_server_at_once():
    """`make run` in a terminal: Ctrl-C sends SIGINT to gunicorn's whole process group."""
    server, port = _start_gunicorn({"WEB_CONCURRENCY": "2"}, own_group=True)
    try:
        deadline = time.monotonic() + 30
        while len(_children(server.pid)) < 2 or not _answers(port):
            assert time.monotonic() < deadline, "gunicorn did not start two workers within 30 s"
            time.sleep(0.1)
        time.sleep(1)  # both workers past post_worker_init

        os.killpg(server.pid, signal.SIGINT)

        assert server.wait(10) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(30)
