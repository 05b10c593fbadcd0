"""gunicorn settings for the portal (used by `make run` and the container)."""

from __future__ import annotations

import multiprocessing
import os

# The serving model lives here and in portal/license_api.py: gthread workers, each sharing
# one pooled httpx.Client, so a worker's threads keep serving while others wait on the API.
bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", max(2, multiprocessing.cpu_count())))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "32"))
# Above the License API's connect + read timeouts (5 s + 30 s by default).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
# Request-line and header limits; bodies are capped by the portal before they are read.
limit_request_line = 4094
limit_request_fields = 100
# Access log: path only, never a query string or body (no secrets travel in either).
accesslog = "-"
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
