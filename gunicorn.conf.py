"""gunicorn settings for the portal (used by `make run` and the container)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from types import FrameType

    from gunicorn.arbiter import Arbiter
    from gunicorn.http.message import Request
    from gunicorn.workers.base import Worker

# The serving model lives here and in portal/license_api.py: gthread workers, each sharing one
# License API client (UpstreamClient) and its kept-alive connections, so a worker's threads
# serve while others wait on the License API.
bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", max(2, multiprocessing.cpu_count())))
worker_class = "gthread"
# A keep-alive connection stays with the worker that accepted it, and the workers rarely get
# equal shares: with 64 clients on 2 workers, one held about 38 with 32 threads, and requests
# queued behind whole upstream round trips (p99 1.3 s in `make bench`). Threads mostly wait
# on the License API, so ample threads per worker cost little (about 10 MB).
threads = int(os.environ.get("GUNICORN_THREADS", "64"))
# One CPU per worker (GUNICORN_CPU_AFFINITY): a worker's threads hand the GIL to one another
# hundreds of times per upload, and on a virtual machine a hand-over to a thread on another
# CPU costs an interrupt between CPUs. Pinned, `make bench` did 272-286 uploads/s at 4.2-4.5 ms
# of CPU each, against 231-239/s at 5.4-5.6 ms unpinned (p99 297-323 ms against 417-427 ms).
# `auto` (the default) pins unless a cgroup CPU quota applies (docker --cpus, Kubernetes
# limits): there the CPUs are shared with others, and a pinned worker would wait for its own
# CPU while another sits idle. `on` pins anyway, `off` never.


def cpu_quota(root: Path = Path("/sys/fs/cgroup")) -> float | None:
    """CPUs a cgroup quota allows this process (cgroup v2 or v1), or None without a quota."""
    try:
        limit, period = (root / "cpu.max").read_text().split()[:2]
        return None if limit == "max" else int(limit) / int(period)
    except (OSError, ValueError):
        pass
    for folder in (root / "cpu", root / "cpu,cpuacct"):
        try:
            limit = int((folder / "cpu.cfs_quota_us").read_text())
            period = int((folder / "cpu.cfs_period_us").read_text())
        except (OSError, ValueError):
            continue
        return None if limit < 0 else limit / period
    return None


def _pin_workers(setting: str) -> bool:
    setting = setting.strip().lower()
    if setting in {"0", "false", "no", "off"} or not hasattr(os, "sched_setaffinity"):
        return False  # off, or not Linux (macOS has no CPU affinity calls)
    return setting != "auto" or cpu_quota() is None


cpu_affinity = _pin_workers(os.environ.get("GUNICORN_CPU_AFFINITY", "auto"))
# Above the License API's connect + read timeouts (5 s + 30 s by default).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
# On SIGTERM (a deploy, a scale-in) the server stops accepting and waits this long for the
# uploads under way: their activations may already be made upstream, so they must get their
# answer. An upload takes at most 45 s with the default License API timeouts (connect, once
# more if refused, send, read); the container's stop timeout must be longer still (README).
graceful_timeout = 50
keepalive = 5
# Request-line and header limits (too long: 400 before Django runs); bodies are capped by the
# portal (PORTAL_MAX_BODY_BYTES) from their Content-Length, before they are read.
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190
# Access log: path only, never a query string or body (no secrets travel in either), written
# by a logger that builds just these fields (offline_portal/access_log.py says why).
accesslog = "-"
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
logger_class = "offline_portal.access_log.AccessLogger"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

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


def pre_fork(server: Arbiter, worker: Worker) -> None:
    """Give the worker about to start the CPU that the fewest live workers have."""
    if cpu_affinity:
        taken = [getattr(other, "cpu", None) for other in server.WORKERS.values()]
        worker.cpu = least_used_cpu(sorted(os.sched_getaffinity(0)), taken)


def post_fork(server: Arbiter, worker: Worker) -> None:
    cpu = getattr(worker, "cpu", None)
    if cpu is not None:  # before the worker starts its threads: they inherit it
        os.sched_setaffinity(0, {cpu})


def post_worker_init(worker: Worker) -> None:
    """A worker quits once, whatever number of quit signals it gets.

    Ctrl-C in a terminal sends SIGINT to the whole process group: a worker gets it, and a
    moment later the SIGQUIT the master sends on its own SIGINT. The gthread worker's quit
    shuts its thread pool down under a lock that is not reentrant, and a second quit run inside
    the first (signal handlers run between any two bytecodes) waited for that lock forever,
    until the master killed the worker after graceful_timeout: `make run` took 50 s to stop
    (and see cpython#121649)."""
    quit_now = worker.handle_quit
    quitting = False

    def quit_once(sig: int, frame: FrameType | None) -> None:
        nonlocal quitting
        if not quitting:
            quitting = True
            quit_now(sig, frame)

    signal.signal(signal.SIGQUIT, quit_once)
    signal.signal(signal.SIGINT, quit_once)


def least_used_cpu(cpus: list[int], taken: list[int | None]) -> int:
    return min(cpus, key=lambda cpu: (taken.count(cpu), cpus.index(cpu)))


def on_starting(server: Arbiter) -> None:
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
