"""The processes gunicorn.conf.py starts beside gunicorn's workers, and stops after them: nginx
in front (nginx.conf, filled in with this server's values), and one webhook delivery loop.

Vendors' webhooks are posted by one process per server beside the workers, as nginx is started
beside them: out of the box (`make run`, the container) with nothing more to run, and apart
from the workers, so a receiver that hangs holds no thread that serves uploads and no worker's
share of the CPU. Several servers on one database each run one: deliveries are claimed one by
one (portal/console/webhooks.py), so none is posted twice at once.
PORTAL_WEBHOOK_DELIVERY=false leaves it to the operator's own `manage.py deliver_webhooks`.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NGINX_START_TIMEOUT_S = 10
# Above nginx's own worker_shutdown_timeout: the slowest of its clients are cut off by then.
STOP_TIMEOUT_S = 15
WEBHOOK_POLL_SECONDS = "5"


def start_nginx(serving_dir: Path, listen: str, upstream_timeout: str) -> subprocess.Popen:
    """nginx on `listen`, in front of gunicorn's socket in `serving_dir`, once it listens."""
    config = serving_dir / "nginx.conf"
    config.write_text(nginx_config(serving_dir, listen, upstream_timeout))
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    command = [nginx, "-e", "stderr", "-p", str(serving_dir), "-c", str(config)]
    try:
        process = subprocess.Popen(command)
    except OSError as error:
        raise RuntimeError(f"nginx did not start ({error}): run scripts/install-nginx") from None
    # nginx writes its pid file once it listens; it exits at once when it cannot (port taken).
    deadline = time.monotonic() + NGINX_START_TIMEOUT_S
    while not (serving_dir / "nginx.pid").exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait()
            raise RuntimeError(f"nginx did not start on {listen} (its error above)")
        time.sleep(0.05)
    return process


def nginx_config(serving_dir: Path, listen: str, upstream_timeout: str) -> str:
    """nginx.conf with this server's values: the address, the portal's body limits."""
    from django.conf import settings

    as_root = os.geteuid() == 0  # nginx's workers would run as nobody, who cannot open the socket
    values = {
        "user": f"user {pwd.getpwuid(os.geteuid()).pw_name};" if as_root else "",
        "run_dir": serving_dir,
        "listen": listen,
        "max_body_bytes": settings.PORTAL_MAX_BODY_BYTES,
        "max_admin_body_bytes": settings.PORTAL_MAX_ADMIN_BODY_BYTES,
        "upstream_timeout": upstream_timeout,
    }
    return (REPO / "nginx.conf").read_text() % values


def start_webhook_delivery() -> subprocess.Popen | None:
    from django.conf import settings

    if not settings.PORTAL_WEBHOOK_DELIVERY:
        return None
    command = [sys.executable, "manage.py", "deliver_webhooks", "--loop", WEBHOOK_POLL_SECONDS]
    return subprocess.Popen(command, cwd=REPO)


def stop(process: subprocess.Popen | None, quit_signal: int = signal.SIGTERM) -> None:
    """Ask a process to stop (nginx's graceful stop is SIGQUIT), kill it if it has not in time.
    A webhook post cut short is posted again once its claim lapses (at least once)."""
    if process is None:
        return
    process.send_signal(quit_signal)
    try:
        process.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
