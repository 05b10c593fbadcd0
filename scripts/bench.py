"""`make bench`: the portal under its production server configuration, measured.

Runs the portal with gunicorn and the repo's gunicorn.conf.py on a fresh SQLite database, with
the default tenant's License API faked on loopback (scripts/fake_license_api.py: a fixed
answer after a set latency), and drives concurrent uploads through both front doors: half the
virtual users post to `POST /api/v1/requests`, half use the HTML form with its CSRF token
(one `GET /` each for the cookie and token, then multipart posts; the 303 counts, unfollowed).
Every upload is a distinct request file, because the portal answers a repeated file from its
stored result without an upstream call: the real vector `py_activate_key.req` with a new
hardware id and request id, signed again.

Scenarios (`scripts/bench.py [SCENARIO ...]`, default all; BENCH_SECONDS sets the length):
  relay64   64 concurrent uploads, 200 ms upstream latency, BENCH_SECONDS (default 60 s)
  relay4    4 concurrent uploads, 200 ms upstream latency, a third as long
  sandbox   4 concurrent uploads to the built-in sandbox (RSA signing included), a third as
            long; the form's users also download the license: upload to license
  idle      what a pause between uploads costs: 2 users, the fake API answering at once,
            uploads back to back and then 50 ms apart (about as the portal pauses at 4
            concurrent), twice each way, a third as long in all; the CPU per upload each way.
            No target: the work is the same, so it tells how much of relay4's CPU per upload
            is the machine taking work up again after a pause

A benchmark, not a test: it prints figures with the targets beside them. The load generator
(this process, asyncio) and the fake API share the machine's cores with the portal; the
figures say how much CPU each took, how much other processes took meanwhile and, on a virtual
machine, how much the host took (stolen time): rerun when that is more than a few percent.

`--runs N` (BENCH_RUNS) runs each scenario N times and sums them up: each figure's range, and
the run the host disturbed least (least stolen time), whose figures are the ones to compare.
When the host took 5% or more in some second, a run also prints its p50 and p99 over the
uploads that ran wholly in the other seconds ("in quiet s"): not a verdict, the targets are for
the whole run, but what the portal's own tail is when the host leaves it alone.

Also read from the environment: BENCH_LATENCY_MS (200), BENCH_DATABASE_URL (another database
than the fresh SQLite file, e.g. a PostgreSQL one), BENCH_KEEP_DIR (keep databases and logs
there), and gunicorn's own WEB_CONCURRENCY and GUNICORN_THREADS.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import re
import runpy
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench_load import SHARED_KEY, Run, Sample, Scenario, drive

REPO = Path(__file__).resolve().parent.parent
API_KEY = "3f0b1b7e-5c1a-4d2e-9a77-0c1d2e3f4a5b"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
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


class Server:
    """A child process (portal or fake API) whose CPU and memory we read from /proc."""

    def __init__(self, command: list[str], env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        with log_path.open("wb") as log_file:
            self.process = subprocess.Popen(
                command, cwd=REPO, env=env, stdout=log_file, stderr=subprocess.STDOUT
            )

    def pids(self) -> list[int]:
        """The process and its children (gunicorn's workers)."""
        children = [
            int(entry.name)
            for entry in Path("/proc").iterdir()
            if entry.name.isdigit() and _stat_fields(int(entry.name))[1:2] == [self.process.pid]
        ]
        return [self.process.pid, *children]

    def cpu_seconds(self) -> float:
        return sum(sum(_stat_fields(pid)[11:13]) for pid in self.pids()) / CLOCK_TICKS

    def system_cpu_seconds(self) -> float:
        """The kernel's share (sockets, files) of cpu_seconds."""
        return sum(_stat_fields(pid)[12:13][0] for pid in self.pids()) / CLOCK_TICKS

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def _stat_fields(pid: int) -> list[int]:
    """/proc/PID/stat after the command name: [state, ppid, ...]; utime, stime at 11 and 12."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return []
    fields = text.rsplit(")", 1)[1].split()
    return [0, *(int(value) for value in fields[1:])]


def _peak_rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024


# --- servers -----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_answering(server: Server, url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited\n{server.log_tail()}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url}: no answer within {timeout:g} s\n{server.log_tail()}")


def _portal_env(workdir: Path, port: int, *, api_url: str, sandbox: bool) -> dict[str, str]:
    return {
        **os.environ,
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "DJANGO_SECRET_KEY": "bench-secret-key-not-for-production",
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
    port = _free_port()
    api_url = (
        f"http://127.0.0.1:{port}/sandbox/api/v4"
        if scenario.sandbox
        else f"http://127.0.0.1:{upstream_port}/api/v4"
    )
    env = _portal_env(workdir, port, api_url=api_url, sandbox=scenario.sandbox)
    _manage(env, "migrate", "--noinput")
    if scenario.sandbox:
        seed = workdir / "bench_seed.json"
        seed.write_text(json.dumps(SANDBOX_SEED))
        _manage(env, "sandbox_seed", str(seed))
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "offline_portal.wsgi"]
    portal = Server(command, env, workdir / "gunicorn.log")
    _wait_until_answering(portal, f"http://127.0.0.1:{port}/healthz")
    return portal, port


# --- scenarios and figures -------------------------------------------------------------------


def _start_fake_api(workdir: Path, latency_ms: float) -> tuple[Server, int]:
    port = _free_port()
    command = [
        sys.executable,
        str(REPO / "scripts" / "fake_license_api.py"),
        f"--port={port}",
        f"--latency-ms={latency_ms}",
    ]
    return Server(command, dict(os.environ), workdir / "fake_license_api.log"), port


def run_scenario(scenario: Scenario, workdir: Path) -> dict[str, float]:
    workdir.mkdir()
    upstream, upstream_port = None, 0
    if not scenario.sandbox:
        upstream, upstream_port = _start_fake_api(workdir, scenario.latency_ms)
    try:
        if upstream:
            _wait_until_port(upstream, upstream_port)
        portal, port = _start_portal(workdir, scenario, upstream_port)
        try:
            readers = {"portal": portal.cpu_seconds, "portal_system": portal.system_cpu_seconds}
            readers["upstream"] = upstream.cpu_seconds if upstream else lambda: 0.0
            run = asyncio.run(drive(scenario, port, readers))
            peak_rss = [_peak_rss_mb(pid) for pid in portal.pids()[1:]]
        finally:
            portal.stop()
    finally:
        if upstream:
            upstream.stop()
    figures = summarize(scenario, run, peak_rss)
    if upstream:
        late = re.search(r"late: p50 ([\d.]+) ms, p99 ([\d.]+) ms", upstream.log_path.read_text())
        figures["fake_late_p50_ms"] = float(late.group(1)) if late else float("nan")
        figures["fake_late_p99_ms"] = float(late.group(2)) if late else float("nan")
    report(scenario, figures, portal)
    return figures


def _wait_until_port(server: Server, port: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if server.process.poll() is not None:
                raise RuntimeError(f"fake License API exited\n{server.log_tail()}") from None
            time.sleep(0.05)
    raise RuntimeError(f"fake License API not listening\n{server.log_tail()}")


def summarize(scenario: Scenario, run: Run, peak_rss: list[float]) -> dict[str, float]:
    window = [s for s in run.samples if s.started >= run.window_start]
    ok = [s for s in window if s.ok]
    done_in_window = [s for s in ok if s.finished <= run.window_end]
    done_after_start = [s for s in run.samples if s.finished >= run.window_start]
    throughput = len(done_in_window) / scenario.seconds
    figures = {
        "uploads": len(ok),
        "errors": sum(not s.ok for s in run.samples),
        "throughput": throughput,
        "p50_ms": _percentile([s.finished - s.started for s in ok], 50) * 1000,
        "p99_ms": _percentile([s.finished - s.started for s in ok], 99) * 1000,
        "cpu_ms": _per_upload(run.cpu["portal"], done_after_start),
        "system_cpu_ms": _per_upload(run.cpu["portal_system"], done_after_start),
        "upstream_cpu_ms": _per_upload(run.cpu["upstream"], done_after_start),
        "loadgen_cpu_ms": _per_upload(run.cpu["loadgen"], done_after_start),
        "machine_busy": run.cpu["machine_busy"] / max(run.cpu["machine_total"], 1),
        "machine_steal": run.cpu["machine_steal"] / max(run.cpu["machine_total"], 1),
        "worst_second_steal": max(run.steal_by_second, default=0.0),
        # Whatever else ran meanwhile (the machine may be shared), in cores.
        "other_cores": (
            run.cpu["machine_busy"] / CLOCK_TICKS
            - run.cpu["portal"]
            - run.cpu["upstream"]
            - run.cpu["loadgen"]
        )
        / run.cpu["wall"],
        "peak_rss_mb": max(peak_rss, default=0.0),
        "workers": len(peak_rss),
    }
    for door in ("api", "form"):
        latencies = [s.finished - s.started for s in ok if s.door == door]
        figures[f"{door}_p50_ms"] = _percentile(latencies, 50) * 1000
        figures[f"{door}_p99_ms"] = _percentile(latencies, 99) * 1000
    if scenario.latency_ms:
        figures["efficiency"] = throughput / (scenario.concurrency / (scenario.latency_ms / 1000))
    quiet = _in_quiet_seconds(ok, run)
    figures["quiet_p50_ms"] = _percentile([s.finished - s.started for s in quiet], 50) * 1000
    figures["quiet_p99_ms"] = _percentile([s.finished - s.started for s in quiet], 99) * 1000
    figures["quiet_share"] = len(quiet) / len(ok) if ok else 0.0
    errors = sorted({s.error for s in run.samples if not s.ok})
    figures["error_kinds"] = ", ".join(errors)  # type: ignore[assignment]
    return figures


# A second in which the host took this much of the CPUs is left out of the "quiet" latencies.
QUIET_STEAL = 0.05


def _in_quiet_seconds(samples: list[Sample], run: Run) -> list[Sample]:
    """The uploads that ran wholly within watched seconds in which the host took less than
    QUIET_STEAL of the CPUs: what the portal's latencies are when the host leaves it alone."""
    steal = run.steal_by_second
    quiet = []
    for sample in samples:
        first = int(sample.started - run.window_start)
        last = int(sample.finished - run.window_start)
        if first >= 0 and last < len(steal) and max(steal[first : last + 1]) < QUIET_STEAL:
            quiet.append(sample)
    return quiet


def _percentile(values: list[float], percent: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(percent / 100 * len(ordered)) - 1))]


def _per_upload(cpu_seconds: float, samples: list[Sample]) -> float:
    return cpu_seconds * 1000 / len(samples) if samples else float("nan")


def _verdict(value: float, limit: float, *, at_least: bool = False) -> str:
    met = value >= limit if at_least else value <= limit
    return f"(target {'>=' if at_least else '<='} {limit:g}: {'met' if met else 'MISSED'})"


def report(scenario: Scenario, f: dict[str, float], portal: Server) -> None:
    upstream = scenario.latency_ms
    what = f"upstream latency {upstream:g} ms" if upstream else "the built-in sandbox"
    print(
        f"\n== {scenario.name}: {scenario.concurrency} concurrent, {what}, {scenario.seconds:g} s"
    )
    errors = f"{f['errors']} errors" + (f" ({f['error_kinds']})" if f["errors"] else "")
    print(f"  uploads          {f['uploads']} ok, {errors}")
    line = f"  throughput       {f['throughput']:.1f} uploads/s"
    if "efficiency" in f:
        line += f", efficiency {f['efficiency']:.3f}"
        if scenario.concurrency >= 64:
            line += " " + _verdict(f["efficiency"], 0.9, at_least=True)
    print(line)
    print(f"  latency          p50 {f['p50_ms']:.1f} ms, p99 {f['p99_ms']:.1f} ms")
    print(
        f"    by door        API p50 {f['api_p50_ms']:.1f} / p99 {f['api_p99_ms']:.1f} ms, "
        f"form p50 {f['form_p50_ms']:.1f} / p99 {f['form_p99_ms']:.1f} ms"
    )
    what, value, limit, percentile = _latency_target(scenario, f)
    print(f"    {what} {value:.1f} ms {_verdict(value, limit)}")
    if upstream:
        late = f[f"fake_late_p{percentile}_ms"]
        print(f"      of which     {late:.2f} ms the fake API answering late (its p{percentile})")
    cpu = f"  CPU per upload   {f['cpu_ms']:.2f} ms in the portal"
    cpu += f" ({f['system_cpu_ms']:.2f} of them in the kernel)"
    if upstream:
        cpu += f" {_verdict(f['cpu_ms'], 3)}"
    print(cpu)
    print(
        f"    beside it      load generator {f['loadgen_cpu_ms']:.2f} ms, "
        f"fake License API {f['upstream_cpu_ms']:.2f} ms; "
        f"all {os.cpu_count()} CPUs {f['machine_busy']:.0%} busy "
        f"(others than these three: {f['other_cores']:.2f} cores)"
    )
    if f["worst_second_steal"] >= 0.005:  # a virtual machine whose host ran something else
        print(
            f"    stolen         {f['machine_steal']:.0%} of the CPUs' time went to the host "
            f"({f['worst_second_steal']:.0%} in the worst second)"
        )
    if f["worst_second_steal"] >= QUIET_STEAL:
        # Not a verdict: the targets hold for the whole run. A diagnosis of the tail.
        if f["quiet_share"]:
            print(
                f"    in quiet s     p50 {f['quiet_p50_ms']:.1f} ms, p99 {f['quiet_p99_ms']:.1f} "
                f"ms over the {f['quiet_share']:.0%} of uploads that ran in seconds when the "
                f"host took under {QUIET_STEAL:.0%}"
            )
        else:
            print(f"    in quiet s     none: the host took {QUIET_STEAL:.0%} or more every second")
    rss = f"  peak RSS         {f['peak_rss_mb']:.1f} MB per worker ({f['workers']} workers)"
    print(f"{rss} {_verdict(f['peak_rss_mb'], 120)}")
    problems = [
        line
        for line in portal.log_tail(100000).splitlines()
        if any(mark in line for mark in ("Traceback", '"level": "ERROR"', "[ERROR]"))
    ]
    if problems:
        print(f"  portal log: {len(problems)} error lines, last: {problems[-1][:200]}")
    if f["other_cores"] > 0.25:
        print(f"  NOTE: other processes took {f['other_cores']:.2f} cores meanwhile: rerun")
    if f["machine_steal"] >= 0.05:
        print(f"  NOTE: the host took {f['machine_steal']:.0%} of the CPUs' time: rerun")


def _latency_target(scenario: Scenario, f: dict[str, float]) -> tuple[str, float, float, int]:
    """The scenario's latency target: what is measured, its value and limit (ms), percentile."""
    if not scenario.latency_ms:
        return "upload to license p50", f["p50_ms"], 100, 50
    percentile = 99 if scenario.concurrency >= 64 else 50
    over = f[f"p{percentile}_ms"] - scenario.latency_ms
    return f"p{percentile} - upstream", over, 50 if percentile == 99 else 5, percentile


def least_disturbed(runs: list[dict[str, float]]) -> tuple[int, dict[str, float]]:
    """The run (numbered from 1) in which the host took least of the CPUs."""
    return min(
        enumerate(runs, 1),
        key=lambda item: (item[1]["machine_steal"], item[1].get("worst_second_steal", 0.0)),
    )


def report_runs(scenario: Scenario, runs: list[dict[str, float]]) -> None:
    """Each figure's range over the runs, and the run the host disturbed least: the figures
    follow stolen time more than anything else, so that run is the one to compare."""

    def spread(key: str, form: str) -> str:
        values = [run[key] for run in runs if not math.isnan(run[key])]  # nan: none to count
        return f"{min(values):{form}}-{max(values):{form}}" if values else "n/a"

    upstream = scenario.latency_ms
    print(f"\n== {scenario.name} over {len(runs)} runs")
    print(f"  errors           {sum(run['errors'] for run in runs):g}")
    line = f"  throughput       {spread('throughput', '.1f')} uploads/s"
    if "efficiency" in runs[0]:
        line += f", efficiency {spread('efficiency', '.3f')}"
    print(line)
    print(f"  latency          p50 {spread('p50_ms', '.1f')} ms, p99 {spread('p99_ms', '.1f')} ms")
    print(f"  CPU per upload   {spread('cpu_ms', '.2f')} ms in the portal")
    print(f"  stolen           {spread('machine_steal', '.0%')} of the CPUs' time")
    print(
        f"  in quiet s       p50 {spread('quiet_p50_ms', '.1f')} ms, "
        f"p99 {spread('quiet_p99_ms', '.1f')} ms (uploads in seconds when the host took "
        f"under {QUIET_STEAL:.0%})"
    )
    best_index, best = least_disturbed(runs)
    print(
        f"  least disturbed  run {best_index} ({best['machine_steal']:.0%} stolen, "
        f"{best['worst_second_steal']:.0%} in its worst second):"
    )
    verdicts = []
    if "efficiency" in best and scenario.concurrency >= 64:
        efficiency = best["efficiency"]
        verdicts.append(f"efficiency {efficiency:.3f} {_verdict(efficiency, 0.9, at_least=True)}")
    what, value, limit, _ = _latency_target(scenario, best)
    verdicts.append(f"{what} {value:.1f} ms {_verdict(value, limit)}")
    if upstream:
        verdicts.append(f"CPU per upload {best['cpu_ms']:.2f} ms {_verdict(best['cpu_ms'], 3)}")
    for verdict in verdicts:
        print(f"    {verdict}")


# --- what a pause between uploads costs -----------------------------------------------------

# The idle runs' pause between a user's uploads: about how long each worker pauses between
# uploads at 4 concurrent with 200 ms upstream (20 uploads a second over two workers).
IDLE_PAUSE_MS = 50.0


def run_idle(seconds: float, workdir: Path) -> dict[str, float]:
    """The same uploads, one user at each door and the fake API answering at once, sent back
    to back and then IDLE_PAUSE_MS apart, twice each way, on one warm portal: the portal's CPU
    per upload each way. The portal does the same work either way; where the second is
    higher, the difference is what the machine charges for taking that work up again after a
    pause (caches, translation buffers and branch predictors gone cold, CPUs woken)."""
    workdir.mkdir()
    upstream, upstream_port = _start_fake_api(workdir, 0)
    back_to_back = Scenario("idle", 2, seconds / 4, 0)
    spaced = Scenario("idle", 2, seconds / 4, 0, pause_ms=IDLE_PAUSE_MS)
    totals = {pause: {"cpu": 0.0, "uploads": 0, "errors": 0, "wall": 0.0} for pause in (0, 1)}
    steal = []
    try:
        _wait_until_port(upstream, upstream_port)
        portal, port = _start_portal(workdir, back_to_back, upstream_port)
        try:
            readers = {"portal": portal.cpu_seconds}
            for scenario in (back_to_back, spaced, back_to_back, spaced):
                run = asyncio.run(drive(scenario, port, readers))
                total = totals[1 if scenario.pause_ms else 0]
                total["cpu"] += run.cpu["portal"]
                total["uploads"] += sum(s.finished >= run.window_start for s in run.samples)
                total["errors"] += sum(not s.ok for s in run.samples)
                total["wall"] += scenario.seconds
                steal.append(run.cpu["machine_steal"] / max(run.cpu["machine_total"], 1))
        finally:
            portal.stop()
    finally:
        upstream.stop()
    figures = {
        "back_to_back_cpu_ms": totals[0]["cpu"] * 1000 / max(totals[0]["uploads"], 1),
        "spaced_cpu_ms": totals[1]["cpu"] * 1000 / max(totals[1]["uploads"], 1),
        "back_to_back_rate": totals[0]["uploads"] / totals[0]["wall"],
        "spaced_rate": totals[1]["uploads"] / totals[1]["wall"],
        "errors": totals[0]["errors"] + totals[1]["errors"],
        "machine_steal": max(steal),
    }
    figures["ratio"] = figures["spaced_cpu_ms"] / figures["back_to_back_cpu_ms"]
    report_idle(seconds, figures)
    return figures


def report_idle(seconds: float, f: dict[str, float]) -> None:
    print(
        f"\n== idle: 2 users (one at each door), the fake API answering at once, "
        f"back to back and {IDLE_PAUSE_MS:g} ms apart, {seconds / 2:g} s each"
    )
    print(
        f"  back to back     {f['back_to_back_cpu_ms']:.2f} ms of CPU per upload in the portal "
        f"({f['back_to_back_rate']:.0f} uploads/s)"
    )
    print(
        f"  {IDLE_PAUSE_MS:g} ms apart      {f['spaced_cpu_ms']:.2f} ms ({f['spaced_rate']:.0f} "
        f"uploads/s): {f['ratio']:.2f} times as much for the same uploads"
    )
    print(
        "    The same work both ways. At 4 concurrent and 200 ms upstream the portal pauses "
        f"between\n    uploads much as here {IDLE_PAUSE_MS:g} ms apart, and relay4's CPU per "
        "upload pays what the\n    machine charges for taking work up again after a pause."
    )
    if f["errors"]:
        print(f"  NOTE: {f['errors']:g} uploads failed: the figures above are not comparable")
    if f["machine_steal"] >= 0.05:
        print(f"  NOTE: the host took {f['machine_steal']:.0%} of the CPUs' time: rerun")


def report_idle_runs(runs: list[dict[str, float]]) -> None:
    def spread(key: str) -> str:
        return f"{min(run[key] for run in runs):.2f}-{max(run[key] for run in runs):.2f}"

    print(f"\n== idle over {len(runs)} runs")
    print(f"  back to back     {spread('back_to_back_cpu_ms')} ms of CPU per upload")
    spaced = f"{spread('spaced_cpu_ms')} ms ({spread('ratio')} times as much)"
    print(f"  {IDLE_PAUSE_MS:g} ms apart      {spaced}")


def describe_machine() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    config = runpy.run_path(str(REPO / "gunicorn.conf.py"))
    return (
        f"machine: {os.cpu_count()} CPUs ({model}), Python {platform.python_version()}, "
        f"gunicorn {config['worker_class']} x {config['workers']} workers "
        f"x {config['threads']} threads\n"
        f"speed:   {reference_ms():.0f} ms for a fixed pure-Python loop (CPU figures scale with "
        f"it: compare it before comparing runs from different machines)"
    )


def reference_ms() -> float:
    """CPU milliseconds of a fixed pure-Python workload, best of five: one virtual machine of
    the same size can be half again as fast as another, and its speed can drift."""
    best = float("inf")
    for _ in range(5):
        started = time.process_time()
        table: dict[int, str] = {}
        for number in range(300_000):
            table[number % 1000] = f"{number * number:x}"
        best = min(best, time.process_time() - started)
    return best * 1000


SCENARIOS = ("relay64", "relay4", "sandbox", "idle")


def main() -> int:
    parser = argparse.ArgumentParser(description="Measure the portal (see the module doc).")
    parser.add_argument("scenarios", nargs="*", metavar="SCENARIO", help=", ".join(SCENARIOS))
    parser.add_argument(
        "--seconds", type=float, default=float(os.environ.get("BENCH_SECONDS", "60"))
    )
    parser.add_argument(
        "--latency-ms", type=float, default=float(os.environ.get("BENCH_LATENCY_MS", "200"))
    )
    parser.add_argument(
        "--runs",
        type=int,
        default=int(os.environ.get("BENCH_RUNS", "1")),
        help="run each scenario this many times and sum them up (BENCH_RUNS)",
    )
    arguments = parser.parse_args()
    short = max(5.0, arguments.seconds / 3)
    chosen = {
        "relay64": Scenario("relay64", 64, arguments.seconds, arguments.latency_ms),
        "relay4": Scenario("relay4", 4, short, arguments.latency_ms),
        "sandbox": Scenario("sandbox", 4, short, 0, sandbox=True),
    }
    unknown = set(arguments.scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario {', '.join(sorted(unknown))}; choose from {SCENARIOS}")
    print(describe_machine(), flush=True)
    keep = os.environ.get("BENCH_KEEP_DIR")  # keep the databases and logs there, to look into
    if keep and Path(keep).exists() and any(Path(keep).iterdir()):
        # Each run starts from a fresh database, and its logs must not mix with another's.
        parser.error(f"BENCH_KEEP_DIR {keep} is not empty: name a new or empty folder")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
    with contextlib.nullcontext(keep) if keep else tempfile.TemporaryDirectory() as workdir:
        # Production settings serve static files from the manifest that collectstatic writes.
        env = _portal_env(Path(workdir), 0, api_url="http://127.0.0.1:1/api/v4", sandbox=False)
        _manage(env, "collectstatic", "--noinput", "--verbosity", "0")
        figures: dict[str, dict[str, float]] = {}
        for name in arguments.scenarios or SCENARIOS:
            if name == "idle":
                runs = [
                    run_idle(short, Path(workdir) / f"idle-{number}")
                    for number in range(1, max(arguments.runs, 1) + 1)
                ]
                if len(runs) > 1:
                    report_idle_runs(runs)
            elif arguments.runs <= 1:
                runs = [run_scenario(chosen[name], Path(workdir) / name)]
            else:
                runs = [
                    run_scenario(chosen[name], Path(workdir) / f"{name}-{number}")
                    for number in range(1, arguments.runs + 1)
                ]
                report_runs(chosen[name], runs)
            figures[name] = least_disturbed(runs)[1]
        if "relay4" in figures and "idle" in figures:
            compare_relay4_with_idle(figures["relay4"], figures["idle"])
    return 0


def compare_relay4_with_idle(relay4: dict[str, float], idle: dict[str, float]) -> None:
    """relay4's CPU per upload beside the idle scenario's: not a verdict, a reading of it."""
    pause_cost = idle["spaced_cpu_ms"] - idle["back_to_back_cpu_ms"]
    print(
        f"\n== relay4 beside idle (least disturbed runs)\n"
        f"  CPU per upload   relay4 {relay4['cpu_ms']:.2f} ms; "
        f"idle {idle['back_to_back_cpu_ms']:.2f} ms back to back, "
        f"{idle['spaced_cpu_ms']:.2f} ms {IDLE_PAUSE_MS:g} ms apart\n"
        f"    a pause costs an upload {pause_cost:.2f} ms of CPU on this machine; relay4 less "
        f"that, {relay4['cpu_ms'] - pause_cost:.2f} ms"
    )


if __name__ == "__main__":
    sys.exit(main())
