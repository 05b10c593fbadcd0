"""`make container-test`: build the image, run it, relay vectors through it, stop it.

The container's own sandbox License API answers: an activation must come back as a license
file, the matching deactivation as `{"result": "deactivated"}`. An operator's command run
with `docker exec ... manage` (a tenant made with upsert_tenant) must take effect in the
server, its shared key sealed with the secrets key the container generated; a /data the
portal's user cannot write must stop the start with a plain message. The container runs with a
read-only root filesystem and metrics on, and must log no error; it must also start as an
arbitrary uid in group 0, as OpenShift runs images. The container is removed
whatever happens. Standard library only; CONTAINER_ENGINE picks docker or podman.
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from container_harness import (
    CONTAINER,
    ENGINE,
    IMAGE,
    CheckFailed,
    build_image,
    container_is_running,
    container_logs,
    engine_output,
    find_free_port,
    http,
    passed,
    post_vector,
    print_logs,
    remove_container,
    start_container,
    stop_container,
)

HEALTH_TIMEOUT_S = 90
# The sandbox's demo credentials (sandbox/fixtures/demo.json), which the vectors are signed with.
DEMO_API_KEY = "3f0b1b7e-5c1a-4d2e-9a77-0c1d2e3f4a5b"
DEMO_SHARED_KEY = "demo-shared-key-0123456789abcdef"
TENANT_HOST = "offline.acme.test"


def main() -> int:
    # `docker stop` or a CI timeout sends SIGTERM: unwind through the cleanup too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        build_image()
        port = find_free_port()
        start_container(port)
        try:
            run_checks(f"http://127.0.0.1:{port}")
            stop_container()
        except BaseException:
            print_logs()
            raise
        finally:
            remove_container()
    except Exception as error:
        reason = error if isinstance(error, CheckFailed) else f"{type(error).__name__}: {error}"
        print(f"FAIL: {reason}", flush=True)
        print("container-test: FAIL", flush=True)
        return 1
    print("container-test: PASS", flush=True)
    return 0


def run_checks(base_url: str) -> None:
    wait_until_healthy(base_url)
    check_runs_as_non_root()
    check_image_healthcheck()
    check_activation(base_url)
    check_deactivation(base_url)
    check_operator_command(base_url)
    check_metrics(base_url)
    check_slow_clients(base_url)
    check_unwritable_volume()
    check_arbitrary_user()
    check_no_errors_logged()


def wait_until_healthy(base_url: str) -> None:
    started = time.monotonic()
    while time.monotonic() - started < HEALTH_TIMEOUT_S:
        if not container_is_running():
            raise CheckFailed("the container exited before /healthz answered")
        try:
            status, _, _ = http("GET", f"{base_url}/healthz")
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            status = 0
        if status == 200:
            passed(f"/healthz answered 200 after {time.monotonic() - started:.1f} s")
            return
        time.sleep(0.5)
    raise CheckFailed(f"/healthz did not answer 200 within {HEALTH_TIMEOUT_S} s")


def check_runs_as_non_root() -> None:
    uid = engine_output("exec", CONTAINER, "id", "-u")
    if uid == "0":
        raise CheckFailed("the server runs as root")
    # Kubernetes' runAsNonRoot refuses an image whose user is a name: it cannot tell.
    user = engine_output("image", "inspect", "--format", "{{.Config.User}}", IMAGE)
    if not re.fullmatch(r"[1-9]\d*(:\d+)?", user):
        raise CheckFailed(f"the image's USER is {user!r}, not a numeric non-root uid")
    passed(f"the server runs as uid {uid} (the image's USER {user})")


def check_arbitrary_user() -> None:
    """Platforms such as OpenShift run an image as an arbitrary uid in group 0."""
    port = find_free_port()
    name = f"{CONTAINER}-anyuid"
    flags = ["--user", "54321:0", "-p", f"127.0.0.1:{port}:8000"]
    subprocess.run(
        [ENGINE, "run", "-d", "--rm", "--name", name, *flags, IMAGE],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + HEALTH_TIMEOUT_S
        while True:
            try:
                status, _, _ = post_vector(f"http://127.0.0.1:{port}", "py_activate_key.req")
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                status = 0
            if status == 200:
                break
            if time.monotonic() > deadline:
                logs = container_logs(name)
                raise CheckFailed(f"as uid 54321 in group 0, no activation: {logs[-500:]}")
            time.sleep(0.5)
    finally:
        subprocess.run([ENGINE, "rm", "-f", name], capture_output=True, check=False)
    passed("as an arbitrary uid in group 0, the container starts and activates")


def check_image_healthcheck() -> None:
    """Run the image's HEALTHCHECK command in the container, as the engine would."""
    config = json.loads(
        engine_output("image", "inspect", "--format", "{{json .Config.Healthcheck}}", IMAGE)
    )
    test = (config or {}).get("Test") or []
    if test[:1] == ["CMD"]:
        command = test[1:]
    elif test[:1] == ["CMD-SHELL"]:
        command = ["sh", "-c", test[1]]
    else:
        raise CheckFailed(f"the image has no HEALTHCHECK command: {test}")
    probe = subprocess.run([ENGINE, "exec", CONTAINER, *command], capture_output=True, text=True)
    if probe.returncode != 0:
        raise CheckFailed(f"the image's HEALTHCHECK fails: {probe.stderr.strip()[-300:]}")
    passed("the image's HEALTHCHECK passes")


def check_activation(base_url: str) -> None:
    status, headers, body = post_vector(base_url, "py_activate_key.req")
    if status != 200:
        raise CheckFailed(f"activation answered {status}: {body[:300]!r}")
    disposition = headers.get("Content-Disposition", "")
    if "ls_activation.lic" not in disposition:
        raise CheckFailed(f"activation came without the license filename: {disposition!r}")
    try:
        license_data = json.loads(base64.b64decode(body, validate=True))
    except ValueError as error:
        raise CheckFailed(f"the license file is not base64 JSON: {error}") from None
    if not license_data.get("license_key"):
        raise CheckFailed(f"the license file has no license_key: {sorted(license_data)}")
    passed(f"activation returned a license file for {license_data['license_key']}")


def check_deactivation(base_url: str) -> None:
    status, _, body = post_vector(base_url, "py_deactivate_key_consumption.req")
    if status != 200:
        raise CheckFailed(f"deactivation answered {status}: {body[:300]!r}")
    outcome = json.loads(body)
    if outcome.get("result") != "deactivated":
        raise CheckFailed(f"deactivation answered {outcome}")
    passed("deactivation answered result=deactivated")


def check_operator_command(base_url: str) -> None:
    """A tenant made with `docker exec CONTAINER manage upsert_tenant` serves its host, and
    relays with its own credentials, which the server reads with the generated secrets key."""
    command = [
        *("exec", "-i", CONTAINER, "manage", "upsert_tenant", TENANT_HOST),
        *("--name", "Acme Offline", "--api-url", "http://127.0.0.1:8000/sandbox/api/v4"),
        *("--api-key", DEMO_API_KEY, "--shared-key", "-"),
    ]
    made = subprocess.run(
        [ENGINE, *command], input=DEMO_SHARED_KEY, capture_output=True, text=True, timeout=60
    )
    if made.returncode != 0:
        raise CheckFailed(f"`manage upsert_tenant` failed: {made.stderr.strip()[-500:]}")
    # Every worker sees a tenant edit within PORTAL_TENANT_CACHE_SECONDS (2 s), as promised.
    time.sleep(3)
    status, _, body = post_vector(base_url, "py_activate_key.req", host=TENANT_HOST)
    if status != 200:
        raise CheckFailed(f"activation on {TENANT_HOST} answered {status}: {body[:300]!r}")
    status, _, page = http("GET", f"{base_url}/", host=TENANT_HOST)
    if status != 200 or b"Acme Offline" not in page:
        raise CheckFailed(f"{TENANT_HOST} answered {status} without the tenant's name")
    passed(f"a tenant made with `{ENGINE} exec ... manage upsert_tenant` relays on its host")


def check_metrics(base_url: str) -> None:
    status, _, body = http("GET", f"{base_url}/metrics")
    if status != 200 or b'outcome="ok"' not in body:
        raise CheckFailed(f"/metrics answered {status} without the relays: {body[:300]!r}")
    passed("/metrics counts the relays (across the workers, on a read-only root filesystem)")


def check_slow_clients(base_url: str) -> None:
    """200 uploads that send their bodies a byte a second, more than gunicorn has threads: the
    health probe and an activation must still answer at once (nginx holds the slow ones)."""
    port = int(base_url.rsplit(":", 1)[1])
    head = (
        b"POST /api/v1/requests HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\n"
        b"Content-Length: 10000\r\n\r\n-"
    )
    sockets = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(200)]
    try:
        for connection in sockets:
            connection.sendall(head)
        for _ in range(3):  # a byte a second: every slow upload is sending its body by now
            time.sleep(1)
            for connection in sockets:
                connection.send(b"-")
        started = time.monotonic()
        health, _, _ = http("GET", f"{base_url}/healthz")
        health_s = time.monotonic() - started
        started = time.monotonic()
        status, _, body = post_vector(base_url, "py_activate_key.req")
        upload_s = time.monotonic() - started
    finally:
        for connection in sockets:
            connection.close()
    if (health, status) != (200, 200) or max(health_s, upload_s) > 2:
        raise CheckFailed(
            f"with 200 slow uploads open, /healthz answered {health} in {health_s:.1f} s and "
            f"an activation {status} in {upload_s:.1f} s: {body[:200]!r}"
        )
    passed(
        f"with 200 slow uploads open, /healthz answered in {health_s:.2f} s and an activation "
        f"in {upload_s:.2f} s"
    )


def check_no_errors_logged() -> None:
    logs = container_logs(CONTAINER)
    # gunicorn's "[ERROR]", the portal's JSON "ERROR", nginx's "[error]" and worse.
    marks = ("[ERROR]", '"ERROR"', "[error]", "[crit]", "[alert]", "[emerg]")
    errors = [line for line in logs.splitlines() if any(mark in line for mark in marks)]
    if errors:
        raise CheckFailed(f"the server logged errors: {errors[:3]}")
    passed("the server logged no errors")


def check_unwritable_volume() -> None:
    """A host folder the portal's user cannot write, mounted at /data: a plain message."""
    with tempfile.TemporaryDirectory() as folder:
        os.chmod(folder, 0o755)
        started = subprocess.run(
            [ENGINE, "run", "--rm", "-v", f"{folder}:/data", IMAGE, "true"],
            capture_output=True,
            text=True,
            timeout=120,
        )
    if started.returncode == 0 or "/data is not writable by uid" not in started.stderr:
        raise CheckFailed(f"an unwritable /data was not explained: {started.stderr[-500:]!r}")
    passed("an unwritable /data stops the start with a plain message")


if __name__ == "__main__":
    sys.exit(main())
