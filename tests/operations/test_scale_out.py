"""Two portal instances on one PostgreSQL database, as behind a load balancer.

Each instance is a real gunicorn (the repo's gunicorn.conf.py) in its own process, sharing
nothing but the database: a result made on one must download from the other, and a tenant
edited through one must show on the other. Runs only when the suite runs on PostgreSQL
(`make test-postgres`), in a database of its own on the same server.
"""

from __future__ import annotations

import http.client
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

from tests.factories import API_KEY, SHARED_KEY, read_vector

pytestmark = pytest.mark.skipif(
    "postgresql" not in settings.DATABASES["default"]["ENGINE"],
    reason="needs PostgreSQL: make test-postgres",
)

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 30
# Each process rereads the tenants when the shared generation counter has moved, checked at
# most every PORTAL_TENANT_CACHE_SECONDS (2 s by default).
TENANT_CHANGE_TIMEOUT_S = 15


@dataclass
class Instance:
    name: str
    port: int
    process: subprocess.Popen
    log_path: Path

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict | None = None
    ) -> tuple[int, dict[str, str], bytes, list[str]]:
        """One HTTP request; returns status, headers, body and every Set-Cookie value."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return (
                response.status,
                {key.lower(): value for key, value in response.getheaders()},
                response.read(),
                response.headers.get_all("Set-Cookie") or [],
            )
        finally:
            connection.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture(scope="module")
def shared_database_url() -> Iterator[str]:
    """A database of its own on the suite's PostgreSQL server, dropped afterwards."""
    database = settings.DATABASES["default"]
    server = {
        "host": database["HOST"] or "127.0.0.1",
        "port": database["PORT"] or 5432,
        "user": database["USER"],
        "password": database["PASSWORD"] or None,
    }
    name = f"scaleout_{secrets.token_hex(4)}"
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    credentials = server["user"] + (f":{server['password']}" if server["password"] else "")
    yield f"postgres://{credentials}@{server['host']}:{server['port']}/{name}"
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def portal_env(
    shared_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """The environment of both instances (and of manage.py run beside them)."""
    port_a = _free_port()
    return {
        **os.environ,
        "DATABASE_URL": shared_database_url,
        "PORTAL_VAR_DIR": str(tmp_path_factory.mktemp("scale_out")),
        "DJANGO_SECRET_KEY": "scale-out-test-secret-key",
        "DJANGO_DEBUG": "false",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SANDBOX_ENABLED": "true",
        # The default tenant of both instances relays to instance A's sandbox.
        "LICENSE_API_URL": f"http://127.0.0.1:{port_a}/sandbox/api/v4",
        "LICENSE_API_KEY": API_KEY,
        "LICENSE_SHARED_KEY": SHARED_KEY,
        "HOST": "127.0.0.1",
        "PORT": str(port_a),
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": "4",
        "PYTHONPATH": str(REPO),
    }


@pytest.fixture(scope="module")
def instances(portal_env: dict[str, str]) -> Iterator[tuple[Instance, Instance]]:
    """Instances A and B, started on the migrated and seeded shared database."""
    # Migrate and seed the sandbox once, as the container does before its server starts.
    _run([sys.executable, "docker/prepare_database.py"], portal_env)
    # Production settings serve hashed static files from the manifest collectstatic writes.
    _manage(portal_env, "collectstatic", "--noinput", "--verbosity", "0")
    var_dir = Path(portal_env["PORTAL_VAR_DIR"])
    started = [
        _start_instance("A", int(portal_env["PORT"]), portal_env, var_dir),
        _start_instance("B", _free_port(), portal_env, var_dir),
    ]
    try:
        for instance in started:
            _wait_until_healthy(instance)
        yield started[0], started[1]
    finally:
        for instance in started:
            _stop_instance(instance)


def test_scale_out_result_made_on_one_instance_downloads_from_the_other(instances):
    instance_a, instance_b = instances

    result_path = _upload_through_form(instance_a, read_vector("py_activate_key.req"))

    status_a, _, license_a, _ = instance_a.request("GET", f"{result_path}ls_activation.lic")
    status_b, headers_b, license_b, _ = instance_b.request("GET", f"{result_path}ls_activation.lic")
    assert (status_a, status_b) == (200, 200), instance_b.log()
    assert headers_b["content-disposition"] == 'attachment; filename="ls_activation.lic"'
    assert license_b == license_a
    assert license_b


def test_scale_out_result_page_shows_on_the_other_instance(instances):
    instance_a, instance_b = instances

    result_path = _upload_through_form(instance_a, read_vector("py_activate_key.req"))

    status, _, page, _ = instance_b.request("GET", result_path)
    assert status == 200, instance_b.log()
    assert "FUH3-4E7A-LZJL-7JTP" in page.decode()


def test_scale_out_tenant_edited_through_one_instance_is_seen_by_the_other(instances, portal_env):
    instance_a, instance_b = instances
    _manage(portal_env, "upsert_tenant", "acme.test", "--name", "Acme One", "--api-key", "K")
    assert _page_shows(instance_b, "acme.test", "Acme One")

    # An operator's command in instance A's container: the same code and database as A.
    _manage(portal_env, "upsert_tenant", "acme.test", "--name", "Acme Two")

    assert _page_shows(instance_b, "acme.test", "Acme Two")
    assert _page_shows(instance_a, "acme.test", "Acme Two")


def _page_shows(instance: Instance, host: str, text: str) -> bool:
    """Whether GET / on `host` shows `text` within a few tenant-cache periods."""
    deadline = time.monotonic() + TENANT_CHANGE_TIMEOUT_S
    while True:
        status, _, page, _ = instance.request("GET", "/", headers={"Host": host})
        if status == 200 and text in page.decode():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)


def _upload_through_form(instance: Instance, text: str) -> str:
    """The no-JavaScript form: GET / for the CSRF cookie and token, POST the file; the path."""
    status, _, page, cookies = instance.request("GET", "/")
    assert status == 200, instance.log()
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()
    cookie = "; ".join(value.split(";", 1)[0].strip() for value in cookies)
    boundary = uuid.uuid4().hex
    body = (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="csrfmiddlewaretoken"\r\n\r\n{token}\r\n'
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="ls_activation.req"\r\n'
        f"Content-Type: application/octet-stream\r\n\r\n{text}\r\n"
        f"--{boundary}--\r\n"
    ).encode()
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}", "Cookie": cookie}
    status, headers, _, _ = instance.request("POST", "/", body, headers)
    assert status == 303, instance.log()
    return headers["location"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def _manage(env: dict[str, str], *arguments: str) -> None:
    _run([sys.executable, "manage.py", *arguments], env)


def _start_instance(name: str, port: int, env: dict[str, str], var_dir: Path) -> Instance:
    (var_dir / name).mkdir()
    log_path = var_dir / f"gunicorn_{name}.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "offline_portal.wsgi"],
            cwd=REPO,
            env={**env, "PORT": str(port), "PORTAL_VAR_DIR": str(var_dir / name)},
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    return Instance(name, port, process, log_path)


def _wait_until_healthy(instance: Instance) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if instance.process.poll() is not None:
            pytest.fail(f"instance {instance.name} exited:\n{instance.log()}")
        try:
            if instance.request("GET", "/healthz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    pytest.fail(f"instance {instance.name} not healthy in {START_TIMEOUT_S} s:\n{instance.log()}")


def _stop_instance(instance: Instance) -> None:
    instance.process.terminate()
    try:
        instance.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        instance.process.kill()
        instance.process.wait()
