"""The harness of `make container-test` (scripts/container_test.py holds the checks): build the
image, run and stop the container, read its state and logs, remove it, and send it requests.
CONTAINER_ENGINE picks docker or podman, CONTAINER_IMAGE the image's name."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ENGINE = os.environ.get("CONTAINER_ENGINE", "docker")
IMAGE = os.environ.get("CONTAINER_IMAGE", "offline-portal")
CONTAINER = f"offline-portal-test-{os.getpid()}"
VECTORS = Path(os.environ.get("VECTORS_DIR", REPO / "sandbox" / "fixtures" / "requests"))


class CheckFailed(Exception):
    pass


def build_image() -> None:
    # Podman: --format docker keeps the HEALTHCHECK (the OCI format has none); --pull=never
    # uses the local base image where no registry is reachable (shared/tools/container).
    flags = ["--pull=never", "--format", "docker"] if Path(ENGINE).name == "podman" else []
    flags += os.environ.get("CONTAINER_BUILD_FLAGS", "").split()
    started = time.monotonic()
    subprocess.run([ENGINE, "build", *flags, "-t", IMAGE, str(REPO)], check=True)
    passed(f"image {IMAGE} built with {ENGINE} in {time.monotonic() - started:.0f} s")


def find_free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_container(port: int) -> None:
    """Hardened as an operator may run it: a read-only root filesystem (podman would mount a
    tmpfs on /tmp by itself; docker does not), with metrics on."""
    flags = ["--read-only", "-e", "PORTAL_METRICS_ENABLED=true"]
    if Path(ENGINE).name == "podman":
        flags.append("--read-only-tmpfs=false")
    publish = f"127.0.0.1:{port}:8000"
    subprocess.run(
        [ENGINE, "run", "-d", "--name", CONTAINER, *flags, "-p", publish, IMAGE],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def stop_container() -> None:
    started = time.monotonic()
    subprocess.run([ENGINE, "stop", "-t", "20", CONTAINER], check=True, stdout=subprocess.DEVNULL)
    elapsed = time.monotonic() - started
    # Far under the stop timeout means the server got SIGTERM as PID 1 and shut down on it.
    if elapsed > 15:
        raise CheckFailed(f"the container ignored SIGTERM (stopped after {elapsed:.0f} s)")
    passed(f"the container stopped on SIGTERM in {elapsed:.1f} s")


def container_is_running() -> bool:
    state = engine_output("inspect", "--format", "{{.State.Running}}", CONTAINER, check=False)
    return state == "true"


def engine_output(*args: str, check: bool = True) -> str:
    completed = subprocess.run(
        [ENGINE, *args], check=check, capture_output=True, text=True, timeout=60
    )
    return completed.stdout.strip()


def container_logs(name: str) -> str:
    """Both of the container's streams: the server logs to stderr, the access log to stdout."""
    shown = subprocess.run([ENGINE, "logs", name], capture_output=True, text=True, timeout=60)
    return shown.stdout + shown.stderr


def print_logs() -> None:
    print(f"--- logs of {CONTAINER} ---", flush=True)
    subprocess.run([ENGINE, "logs", "--tail", "80", CONTAINER], check=False)
    print("--- end of logs ---", flush=True)


def remove_container() -> None:
    subprocess.run(
        [ENGINE, "rm", "-f", "-v", CONTAINER],
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def passed(message: str) -> None:
    print(f"PASS: {message}", flush=True)


def post_vector(
    base_url: str, name: str, host: str | None = None
) -> tuple[int, dict[str, str], bytes]:
    data = (VECTORS / name).read_bytes()
    return http("POST", f"{base_url}/api/v1/requests", data, host=host)


def http(
    method: str, url: str, data: bytes | None = None, host: str | None = None
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "text/plain")
    if host:
        request.add_header("Host", host)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()
