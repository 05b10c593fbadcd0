"""gunicorn settings for the portal (used by `make run` and the container), and the nginx that
gunicorn starts in front of itself (nginx.conf)."""

from __future__ import annotations

import multiprocessing
import os
import secrets
import shutil
import signal
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from types import FrameType

    from gunicorn.arbiter import Arbiter
    from gunicorn.http.message import Request
    from gunicorn.workers.base import Worker

# The serving model: nginx on HOST:PORT (nginx.conf) reads each request whole, then hands it
# to gunicorn on a local socket; gevent workers, each serving its uploads as greenlets in one
# thread and sharing one License API client and its kept-alive connections, so a worker serves
# while its other uploads wait on the License API. nginx buffers because a worker that reads a
# request body waits on the client: a few hundred clients sending their bodies slowly would
# hold every upload a worker may serve (gunicorn's docs ask for a buffering proxy in front).
PORT = os.environ.get("PORT", "8000")
workers = int(os.environ.get("WEB_CONCURRENCY", max(2, multiprocessing.cpu_count())))
# gevent rather than threads (gthread): the same uploads at 12-18% less CPU and a third of the
# p99 on SQLite, about the same on PostgreSQL (docs/performance.md). Nothing in the portal may
# wait on the network inside a database transaction: on SQLite, another upload of the same
# worker would then block the whole worker in SQLite's wait for the lock.
worker_class = "gevent"
# A worker's uploads mostly wait on the License API, so many at once cost little: 32 a worker
# keep 64 in flight on two cores, more than the License API lets one vendor's credentials send
# at its usual latency (about 50 requests a second). GUNICORN_THREADS keeps its name from the
# threaded workers: the uploads a worker serves at once (and its threads, should an operator
# choose gthread again with GUNICORN_CMD_ARGS="--worker-class gthread").
threads = int(os.environ.get("GUNICORN_THREADS", "32"))
# nginx keeps its connections to gunicorn open, and each stays with the worker that accepted
# it: one worker used to collect most of them and run its CPU full while another idled. A
# worker holding its uploads' worth and a few idle ones stops accepting, so the others take
# the rest (figures in docs/performance.md).
worker_connections = threads + 4
# psycopg waits for PostgreSQL's answers with gevent's select(): its own choice under gevent,
# poll(), took 10% more CPU an upload (docs/performance.md). An operator's own choice stands.
os.environ.setdefault("PSYCOPG_WAIT_FUNC", "wait_select")
# Above the License API's connect + read timeouts (5 s + 30 s by default).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
# On SIGTERM (a deploy, a scale-in) the server stops accepting and waits this long for the
# uploads under way: their activations may already be made upstream, so they must get their
# answer. An upload takes at most 45 s with the default License API timeouts (connect, once
# more if refused, send, read); the container's stop timeout must be longer still (README).
graceful_timeout = 50
# Request-line and header limits (too long: 400 before Django runs); bodies are capped by the
# portal (PORTAL_MAX_BODY_BYTES) from their Content-Length, before they are read.
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190
# Access log: the client nginx saw, method, path (never the query string or body), status,
# bytes, time. Through gunicorn's default logging, with one filter: no result tokens, control
# characters escaped (portal/operations/logging.py says why).
access_log_format = '%({x-real-ip}i)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
logconfig_dict = {
    "root": {"level": "INFO", "handlers": []},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["error_console"], "propagate": False},
        "gunicorn.access": {
            "level": "INFO",
            "handlers": ["access_console"],
            "filters": ["access"],
            "propagate": False,
        },
    },
    "filters": {"access": {"()": "portal.operations.logging.AccessLogFilter"}},
    "handlers": {
        "error_console": {
            "class": "logging.StreamHandler",
            "formatter": "generic",
            "stream": "ext://sys.stderr",
        },
        "access_console": {
            "class": "logging.StreamHandler",
            "formatter": "access",
            "stream": "ext://sys.stdout",
        },
    },
    "formatters": {
        "generic": {
            "format": "%(asctime)s [%(process)d] [%(levelname)s] %(message)s",
            "datefmt": "[%Y-%m-%d %H:%M:%S %z]",
        },
        "access": {"format": "%(message)s"},
    },
}
# Every request comes through nginx, on a socket gunicorn trusts for any forwarded header:
# whether a request came over https is Django's to decide (PORTAL_TRUST_X_FORWARDED_PROTO),
# never a client's X-Forwarded-Proto.
secure_scheme_headers: dict[str, str] = {}
# nginx appends the client's address to X-Forwarded-For: the portal's rate limits count it
# as one more proxy than the operator's PORTAL_TRUSTED_PROXY_COUNT (settings.py).
raw_env = ["PORTAL_BEHIND_NGINX=true"]

# A container may run with a read-only root filesystem (`docker run --read-only`): no /tmp, no
# home folder to write. The workers' heartbeat files (empty; on disk a heartbeat can stall on
# the disk too) and, with a read-only home, the control socket of `gunicornc` go to memory
# (/dev/shm, which Linux and every container have) instead.
_MEMORY_DIR = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
if _MEMORY_DIR:
    worker_tmp_dir = _MEMORY_DIR
    if not os.access(os.path.expanduser("~"), os.W_OK):  # no error without a home at all
        control_socket = f"{_MEMORY_DIR}/gunicorn-{os.getuid()}.ctl"


def _temporary_folder() -> str | None:
    """None (Python's own choice, /tmp) where one is writable, else /dev/shm."""
    try:
        tempfile.gettempdir()
    except FileNotFoundError:  # none is: a read-only root filesystem without a tmpfs on /tmp
        return _MEMORY_DIR
    return None


# Prometheus metrics (PORTAL_METRICS_ENABLED): the workers are separate processes, so each
# writes its samples to files in one folder that /metrics adds up. A fresh folder per start.
# An operator's own folder is used as it is (on_starting clears it).
_TRUE = {"1", "true", "yes", "on"}
_metrics_on = os.environ.get("PORTAL_METRICS_ENABLED", "").strip().lower() in _TRUE
if _metrics_on and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    _folder = tempfile.mkdtemp(prefix="portal-metrics-", dir=_temporary_folder())
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _folder


def _serving_dir() -> Path:
    """The folder where nginx and gunicorn meet on a socket, which only this server's user may
    open (on_starting makes it, under a name nobody can guess); nginx's temporary files too.

    A reload (SIGHUP) runs this file again in the same process and must find the same folder:
    the environment keeps it, and its name holds the process id, so that another process that
    inherits the environment or reads this file (a test, the bench) gets its own."""
    prefix = f"portal-serving-{os.getpid()}-"
    kept = os.environ.get("PORTAL_SERVING_DIR", "")
    if not Path(kept).name.startswith(prefix):
        parent = _temporary_folder() or tempfile.gettempdir()
        kept = os.environ["PORTAL_SERVING_DIR"] = os.path.join(
            parent, prefix + secrets.token_hex(8)
        )
    return Path(kept)


SERVING_DIR = _serving_dir()
bind = f"unix:{SERVING_DIR / 'gunicorn.sock'}"


def when_ready(server: Arbiter) -> None:
    """Start nginx in front, once gunicorn listens; stop the start if nginx cannot serve.
    Then the webhook delivery loop (offline_portal/serving.py says why here)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "offline_portal.settings")
    from offline_portal import serving

    try:
        server.nginx = serving.start_nginx(SERVING_DIR, _listen_address(), f"{timeout}s")
    except BaseException:
        serving.stop(getattr(server, "nginx", None), signal.SIGQUIT)
        _remove_serving_dir()
        raise
    server.log.info("nginx listening at: http://%s (%s)", _listen_address(), server.nginx.pid)
    server.webhook_delivery = serving.start_webhook_delivery()
    if server.webhook_delivery:
        server.log.info("webhook delivery running (%s)", server.webhook_delivery.pid)


def on_exit(server: Arbiter) -> None:
    """After the workers have answered every request under way: nginx quits, then the folder."""
    from offline_portal import serving

    serving.stop(getattr(server, "webhook_delivery", None))
    serving.stop(getattr(server, "nginx", None), signal.SIGQUIT)  # nginx's graceful stop
    _remove_serving_dir()


def _remove_serving_dir() -> None:
    shutil.rmtree(SERVING_DIR, ignore_errors=True)


def _listen_address() -> str:
    host = os.environ.get("HOST", "127.0.0.1")
    return f"[{host}]:{PORT}" if ":" in host else f"{host}:{PORT}"


def post_worker_init(worker: Worker) -> None:
    """A worker quits once, whatever number of quit signals it gets.

    Ctrl-C in a terminal sends SIGINT to the whole process group: a worker gets it, and a
    moment later the SIGQUIT the master sends on its own SIGINT. The gthread worker's quit
    shuts its thread pool down under a lock that is not reentrant, and a second quit run inside
    the first (signal handlers run between any two bytecodes) waited for that lock forever,
    until the master killed the worker after graceful_timeout: `make run` took 50 s to stop
    (and see cpython#121649). The gevent workers quit in a greenlet of their own; once is
    enough for them too."""
    quit_now = worker.handle_quit
    quitting = False

    def quit_once(sig: int, frame: FrameType | None) -> None:
        nonlocal quitting
        if not quitting:
            quitting = True
            quit_now(sig, frame)

    signal.signal(signal.SIGQUIT, quit_once)
    signal.signal(signal.SIGINT, quit_once)


def on_starting(server: Arbiter) -> None:
    SERVING_DIR.mkdir(mode=0o700)  # never one that exists: someone else's
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:  # an operator's own folder may hold a previous run's samples
        Path(directory).mkdir(parents=True, exist_ok=True)
        for stale in Path(directory).glob("*.db"):
            stale.unlink()


def child_exit(server: Arbiter, worker: Worker) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def pre_request(worker: Worker, req: Request) -> None:
    """Close the connection after an answer that leaves part of the body unread.

    The portal refuses a body over its cap unread, and reads a chunked one only up to the cap
    (portal/operations/middleware.py); gunicorn then may not find where the next request
    starts, and closed the connection after answering `Connection: keep-alive`, so a client
    lost its next request. gunicorn drops an application's own Connection header (hop-by-hop),
    so the decision is made here, where it then answers `Connection: close`."""
    from portal.operations.middleware import may_leave_body_unread

    headers = dict(req.headers)
    chunked = "chunked" in headers.get("TRANSFER-ENCODING", "").lower()
    if may_leave_body_unread(req.path, headers.get("CONTENT-LENGTH"), chunked):
        req.force_close()
