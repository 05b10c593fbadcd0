"""`make bench`: the portal under its production server configuration, measured.

Runs the portal with gunicorn and the repo's gunicorn.conf.py on a fresh SQLite database, with
the default tenant's License API faked on loopback (scripts/fake_license_api.py, the fake the
tests use too: a fixed answer after a set latency), and drives it with locust
(scripts/bench_locustfile.py): half the users post to `POST /api/v1/requests`, half use the
HTML form with its CSRF token. Every upload is a distinct, validly signed request file.

Scenarios (`scripts/bench.py [SCENARIO ...]`, default all):
  relay64   64 concurrent uploads, 200 ms upstream latency, BENCH_SECONDS (default 60 s)
  relay4    4 concurrent uploads, 200 ms upstream latency, a third as long
  sandbox   4 concurrent uploads to the built-in sandbox (RSA signing included), a third as
            long; the form's users also download the license: upload to license
  floor     (only when named) relay64's load, API users only, on scripts/bench_floor_app.py
            in place of the portal, served the same way: what the server, one httpx client and
            the machine cost without the portal, to read the portal's figures against

A benchmark, not a test: it prints figures with the targets beside them (bench_figures.py).
Locust and the fake API share the machine's cores with the portal: the report says how much CPU
each took, how much other processes took meanwhile and, on a virtual machine, how much the host
took (stolen time): rerun when the report says so.

Also read from the environment: BENCH_LATENCY_MS (200), BENCH_DATABASE_URL (another database
than the fresh SQLite file, e.g. a PostgreSQL one, emptied before each scenario),
BENCH_KEEP_DIR (keep databases, logs and locust's CSV files there), BENCH_DOORS (`ApiUser` or
`FormUser`: one door only, to see what each costs), and gunicorn's own WEB_CONCURRENCY,
GUNICORN_THREADS and GUNICORN_CMD_ARGS.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

from bench_figures import Sampler, Scenario, describe_machine, report, summarize
from bench_processes import (
    REPO,
    Server,
    free_port,
    peak_rss_mb,
    process_cpu_seconds,
    wait_until_answering,
)

API_KEY = "3f0b1b7e-5c1a-4d2e-9a77-0c1d2e3f4a5b"
SHARED_KEY = "demo-shared-key-0123456789abcdef"  # the vectors' (sandbox/fixtures/requests/README)
WARMUP_SECONDS = 3.0
# The sandbox scenario's seed: the vector's license, with a seat for every upload.
SANDBOX_SEED = {
    "credentials": [{"api_key": API_KEY, "shared_key": SHARED_KEY}],
    "products": [{"short_code": "TP", "name": "Test Product"}],
    "licenses": [
        {
            "product": "TP",
            "license_key": "FUH3-4E7A-LZJL-7JTP",
            "license_type": "perpetual",
            "max_activations": 1000000000,
        }
    ],
}


def _portal_env(workdir: Path, port: int, *, api_url: str, sandbox: bool) -> dict[str, str]:
    return {
        **os.environ,
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "DJANGO_SECRET_KEY": "bench-secret-key-not-for-production",
        "PORTAL_SECRETS_KEY": "bench-secrets-key-not-for-production",
        "DJANGO_DEBUG": "false",
        "PORTAL_DEV_DEFAULTS": "false",
        "PORTAL_VAR_DIR": str(workdir),
        # A fresh SQLite database in the work folder, unless BENCH_DATABASE_URL names another.
        "DATABASE_URL": os.environ.get("BENCH_DATABASE_URL", ""),
        "LICENSE_API_URL": api_url,
        "LICENSE_API_KEY": API_KEY,
        "LICENSE_SHARED_KEY": SHARED_KEY,
        "LICENSE_API_BUNDLE_PRODUCTS": "",
        "SANDBOX_ENABLED": "true" if sandbox else "false",
        # Every upload comes from one address: a limit nothing reaches, still counted per upload.
        "PORTAL_RATE_LIMIT": "1000000000",
    }


def _manage(env: dict[str, str], *arguments: str) -> None:
    command = [sys.executable, "manage.py", *arguments]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {arguments[0]} failed:\n{done.stdout}{done.stderr}")


def _start_portal(workdir: Path, scenario: Scenario, upstream_port: int) -> tuple[Server, int]:
    port = free_port()
    api_url = (
        f"http://127.0.0.1:{port}/sandbox/api/v4"
        if scenario.sandbox
        else f"http://127.0.0.1:{upstream_port}/api/v4"
    )
    env = _portal_env(workdir, port, api_url=api_url, sandbox=scenario.sandbox)
    app = "scripts.bench_floor_app:application" if scenario.floor else "offline_portal.wsgi"
    _manage(env, "migrate", "--noinput")
    if os.environ.get("BENCH_DATABASE_URL"):
        # Every scenario starts from an empty database, as on SQLite: the portal slows by a few
        # percent a run as the results of earlier runs pile up (measured on PostgreSQL).
        _manage(env, "flush", "--noinput")
    # Served as a tenant (not the environment's default), so each relay records its activity.
    _manage(env, "upsert_tenant", "127.0.0.1", "--name", "Bench", "--api-url", api_url,
            "--api-key", API_KEY, "--shared-key", SHARED_KEY)  # fmt: skip
    if scenario.sandbox:
        seed = workdir / "bench_seed.json"
        seed.write_text(json.dumps(SANDBOX_SEED))
        _manage(env, "sandbox_seed", str(seed))
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", app]
    portal = Server(command, env, workdir / "gunicorn.log")
    try:
        wait_until_answering(portal, f"http://127.0.0.1:{port}/healthz")
    except BaseException:
        portal.stop()  # a portal that never answered must not outlive the bench
        raise
    return portal, port


def _start_fake_api(workdir: Path, latency_ms: float) -> tuple[Server, int]:
    port = free_port()
    script = str(REPO / "scripts" / "fake_license_api.py")
    command = [sys.executable, script, f"--port={port}", f"--latency-ms={latency_ms}"]
    server = Server(command, dict(os.environ), workdir / "fake_license_api.log")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server, port
        if server.process.poll() is not None:
            break
        time.sleep(0.05)
    raise RuntimeError(f"fake License API not listening\n{server.log_tail()}")


def _start_locust(scenario: Scenario, port: int, workdir: Path) -> Server:
    """Locust, headless, for warm-up and window and a little more; users start one after another
    over one upstream latency, as independent users arrive (started in the same instant against
    an API that always takes the same time, they would arrive in bursts of `concurrency`)."""
    spawn_rate = scenario.concurrency / max(scenario.latency_ms, 20) * 1000
    command = [
        *(sys.executable, "-m", "locust", "-f", str(REPO / "scripts" / "bench_locustfile.py")),
        *("--headless", "--only-summary", "--host", f"http://127.0.0.1:{port}"),
        *("--users", str(scenario.concurrency), "--spawn-rate", f"{spawn_rate:g}"),
        *("--run-time", f"{math.ceil(WARMUP_SECONDS + scenario.seconds + 2)}s"),
        *("--stop-timeout", "60", "--csv", str(workdir / "locust"), "--loglevel", "WARNING"),
        # locust's user classes; default both. The floor has no form.
        *(["ApiUser"] if scenario.floor else os.environ.get("BENCH_DOORS", "").split()),
    ]
    env = {
        **os.environ,
        "BENCH_SAMPLES": str(workdir / "samples.jsonl"),
        "BENCH_SANDBOX": "true" if scenario.sandbox else "false",
    }
    return Server(command, env, workdir / "locust.log")


def run_scenario(scenario: Scenario, workdir: Path) -> None:
    workdir.mkdir()
    upstream, upstream_port = None, 0
    if not scenario.sandbox:
        upstream, upstream_port = _start_fake_api(workdir, scenario.latency_ms)
    try:
        portal, port = _start_portal(workdir, scenario, upstream_port)
        try:
            figures, problems = _drive(scenario, portal, upstream, port, workdir)
        finally:
            portal.stop()
    finally:
        if upstream:
            upstream.stop()
    if upstream:
        found = re.search(r"late: p50 ([\d.]+) ms, p99 ([\d.]+) ms", upstream.log_path.read_text())
        figures["fake_late_p50_ms"] = float(found.group(1)) if found else float("nan")
        figures["fake_late_p99_ms"] = float(found.group(2)) if found else float("nan")
    report(scenario, figures, problems)


def _drive(
    scenario: Scenario, portal: Server, upstream: Server | None, port: int, workdir: Path
) -> tuple[dict[str, Any], list[str]]:
    locust = _start_locust(scenario, port, workdir)
    workers = portal.workers()
    readers = {
        "portal": portal.cpu_seconds,
        "portal_system": portal.system_cpu_seconds,
        "upstream": upstream.cpu_seconds if upstream else lambda: 0.0,
        "loadgen": locust.cpu_seconds,
        # Each worker's own, to see how evenly the load spreads over them.
        **{f"worker {pid}": partial(process_cpu_seconds, pid) for pid in workers},
    }
    sampler = Sampler(readers)
    sampler.start()
    try:
        locust.process.wait(timeout=WARMUP_SECONDS + scenario.seconds + 180)
    finally:
        sampler.stop()
        locust.stop()
    written = workdir / "samples.jsonl"
    lines = written.read_text().splitlines() if written.exists() else []
    if not lines or json.loads(lines[0])["spawned"] is None:
        raise RuntimeError(f"locust ended without samples\n{locust.log_tail()}")
    samples = [json.loads(line) for line in lines[1:]]
    start = json.loads(lines[0])["spawned"] + WARMUP_SECONDS
    figures = summarize(scenario, samples, start, sampler)
    figures["peak_rss_mb"] = max((peak_rss_mb(pid) for pid in workers), default=0.0)
    figures["workers"] = len(workers)
    marks = ("Traceback", '"level": "ERROR"', "[ERROR]")
    log = portal.log_path.read_text(errors="replace").splitlines()
    return figures, [line for line in log if any(mark in line for mark in marks)]


SCENARIOS = ("relay64", "relay4", "sandbox")  # the default; "floor" only when named
NAMED = (*SCENARIOS, "floor")


def main() -> int:
    parser = argparse.ArgumentParser(description="Measure the portal (see the module doc).")
    parser.add_argument("scenarios", nargs="*", metavar="SCENARIO", help=", ".join(NAMED))
    seconds = float(os.environ.get("BENCH_SECONDS", "60"))
    parser.add_argument("--seconds", type=float, default=seconds)
    latency = float(os.environ.get("BENCH_LATENCY_MS", "200"))
    parser.add_argument("--latency-ms", type=float, default=latency)
    arguments = parser.parse_args()
    unknown = set(arguments.scenarios) - set(NAMED)
    if unknown:
        parser.error(
            f"unknown scenario {', '.join(sorted(unknown))}; choose from {', '.join(NAMED)}"
        )
    short = max(5.0, arguments.seconds / 3)
    chosen = {
        "relay64": Scenario("relay64", 64, arguments.seconds, arguments.latency_ms),
        "relay4": Scenario("relay4", 4, short, arguments.latency_ms),
        "sandbox": Scenario("sandbox", 4, short, 0, sandbox=True),
        "floor": Scenario("floor", 64, arguments.seconds, arguments.latency_ms, floor=True),
    }
    keep = os.environ.get("BENCH_KEEP_DIR")  # keep the databases and logs there, to look into
    if keep and Path(keep).exists() and any(Path(keep).iterdir()):
        # Each run starts from a fresh database, and its logs must not mix with another's.
        parser.error(f"BENCH_KEEP_DIR {keep} is not empty: name a new or empty folder")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
    print(describe_machine(), flush=True)
    with contextlib.nullcontext(keep) if keep else tempfile.TemporaryDirectory() as workdir:
        # Production settings serve static files from the manifest that collectstatic writes.
        env = _portal_env(Path(workdir), 0, api_url="http://127.0.0.1:1/api/v4", sandbox=False)
        _manage(env, "collectstatic", "--noinput", "--verbosity", "0")
        for name in arguments.scenarios or SCENARIOS:
            run_scenario(chosen[name], Path(workdir) / name)
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
