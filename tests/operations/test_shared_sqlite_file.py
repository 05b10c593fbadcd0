"""SQLite as gunicorn runs it: several worker processes, each with many threads, writing one
database file at the same time (settings.py's options: IMMEDIATE transactions, WAL, a busy
timeout). Not one upload may fail with "database is locked", and the rate limit loses no count."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PROCESSES = 2
THREADS = 8
FILES_PER_THREAD = 15

# One worker process: relays files on THREADS threads against a fake License API that takes
# a few milliseconds, each activation twice (the second reuses the first), each third file
# deactivated afterwards (which drops the kept activation), every upload rate-limited; prints
# what failed, as JSON, once a "go" line arrives.
WORKER = """
import json, sys, threading, time
import django
django.setup()
import httpx
from django.db import connection
from django.test import RequestFactory
from portal.relay import upstream as license_api
from portal.operations.rate_limits import enforce_rate_limit
from portal.relay.services import relay_request
from portal.tenants.resolution import default_tenant
from tests.factories import LICENSE_BODY, make_request_file

def answer(request):
    time.sleep(0.003)
    if request.url.path.endswith("deactivate_offline"):
        return httpx.Response(200, content=b"license_deactivated")
    return httpx.Response(200, content=LICENSE_BODY)

license_api.set_client(license_api.build_client(httpx.MockTransport(answer)))
process, threads, files = (int(value) for value in sys.argv[1:4])
errors, tokens, counted = [], [], []

def upload(text):
    counted.append(1)
    enforce_rate_limit(RequestFactory().post("/"), tenant_slug="default")
    return relay_request(tenant=default_tenant(), data=text, filename="x.req")

def work(thread):
    try:
        for number in range(files):
            hardware_id = f"pc-{process}-{thread}-{number}"
            activation = make_request_file(hardware_id=hardware_id)
            tokens.append(upload(activation).token)
            tokens.append(upload(activation).token)
            if number % 3 == 0:
                upload(make_request_file(kind="deactivation", hardware_id=hardware_id))
    except Exception as error:
        errors.append(f"{type(error).__name__}: {error}")
    finally:
        connection.close()

print("ready", flush=True)
sys.stdin.readline()
workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
for worker in workers:
    worker.start()
for worker in workers:
    worker.join()
print(json.dumps({
    "errors": errors, "tokens": len(tokens), "distinct": len(set(tokens)), "uploads": len(counted)
}))
"""


@pytest.fixture
def portal_env(tmp_path: Path) -> dict[str, str]:
    """A fresh, migrated SQLite file of its own (whatever database the suite runs on)."""
    env = {
        **os.environ,
        "DATABASE_URL": "",
        "PORTAL_VAR_DIR": str(tmp_path),
        "PORTAL_RATE_LIMIT": "100000",
        "PYTHONPATH": str(REPO),
    }
    migrate = [sys.executable, "manage.py", "migrate", "--noinput"]
    subprocess.run(migrate, cwd=REPO, env=env, check=True, capture_output=True)
    return env


def test_worker_processes_writing_one_sqlite_file_at_once_never_find_it_locked(portal_env):
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(n), str(THREADS), str(FILES_PER_THREAD)],
            cwd=REPO,
            env=portal_env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for n in range(PROCESSES)
    ]
    for worker in workers:
        assert worker.stdout.readline().strip() == "ready"
    for worker in workers:  # both at once
        worker.stdin.write("go\n")
        worker.stdin.flush()
    reports = [json.loads(worker.communicate(timeout=300)[0]) for worker in workers]

    files = THREADS * FILES_PER_THREAD
    assert [report["errors"] for report in reports] == [[]] * PROCESSES
    assert [report["tokens"] for report in reports] == [2 * files] * PROCESSES
    assert [report["distinct"] for report in reports] == [files] * PROCESSES
    assert _rate_limit_hits(portal_env) == sum(report["uploads"] for report in reports)


def _rate_limit_hits(env: dict[str, str]) -> int:
    """Every upload counted once by the rate limit, across both processes: none lost."""
    total = (
        "from django.db.models import Sum; "
        "from portal.operations.models import RateLimitCounter; "
        "print(RateLimitCounter.objects.aggregate(total=Sum('hits'))['total'])"
    )
    shell = [sys.executable, "manage.py", "shell", "-c", total]
    done = subprocess.run(shell, cwd=REPO, env=env, check=True, capture_output=True, text=True)
    return int(done.stdout.split()[-1])
