"""`make bench`'s figures: CPU read from /proc while the load runs, and the report beside targets.

The targets (issue 19): at 64 concurrent uploads and 200 ms upstream latency, efficiency >= 0.9,
no errors, p99 no more than 50 ms over the upstream latency and at most 3 ms of the portal's CPU
an upload; at 4 concurrent, p50 no more than 5 ms over; peak RSS per worker <= 120 MB; the
sandbox end to end, p50 upload to license <= 100 ms.
"""

from __future__ import annotations

import itertools
import operator
import os
import platform
import runpy
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Scenario:
    name: str
    concurrency: int
    seconds: float
    latency_ms: float  # the fake License API's; 0 when the built-in sandbox answers
    sandbox: bool = False
    floor: bool = False  # scripts/bench_floor_app.py served in place of the portal


class Sampler(threading.Thread):
    """Reads CPU counters once a second while the load runs, so that the measured window's
    share can be taken afterwards from the load's own clock (the first seconds are warm-up),
    and so that a second in which the host took the CPUs (stolen time) shows on its own."""

    def __init__(self, readers: dict[str, Callable[[], float]]) -> None:
        super().__init__(daemon=True)
        self.readers = {**readers, **_machine_readers()}
        self.readings: list[tuple[float, dict[str, float]]] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        while True:
            self.readings.append((time.time(), {k: read() for k, read in self.readers.items()}))
            if self.stopping.wait(1.0):
                break
        self.readings.append((time.time(), {k: read() for k, read in self.readers.items()}))

    def stop(self) -> None:
        self.stopping.set()
        self.join()

    def between(self, start: float, end: float) -> dict[str, float]:
        """Each counter's growth from `start` to `end` (epoch seconds), interpolated."""
        first, last = self.at(start), self.at(end)
        return {name: last[name] - first[name] for name in first}

    def at(self, moment: float) -> dict[str, float]:
        when = operator.itemgetter(0)
        before = max((r for r in self.readings if r[0] <= moment), key=when, default=None)
        after = min((r for r in self.readings if r[0] >= moment), key=when, default=None)
        before, after = before or self.readings[0], after or self.readings[-1]
        share = (moment - before[0]) / (after[0] - before[0]) if after[0] > before[0] else 0.0
        return {k: v + (after[1][k] - v) * share for k, v in before[1].items()}

    def worst_second_steal(self, start: float, end: float) -> float:
        pairs = itertools.pairwise(self.readings)
        shares = [
            (b["machine_steal"] - a["machine_steal"])
            / max(b["machine_total"] - a["machine_total"], 1)
            for (started, a), (ended, b) in pairs
            if started >= start and ended <= end
        ]
        return max(shares, default=0.0)


def _machine_readers() -> dict[str, Callable[[], float]]:
    return {
        "machine_busy": lambda: _machine_jiffies()[0],
        "machine_steal": lambda: _machine_jiffies()[1],
        "machine_total": lambda: _machine_jiffies()[2],
    }


def _machine_jiffies() -> tuple[int, int, int]:
    """Busy, stolen and total CPU time of the whole machine, in clock ticks, from /proc/stat.

    Stolen: time a virtual CPU wanted to run while the hypervisor ran something else.
    """
    values = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    total = sum(values[:8])  # user nice system idle iowait irq softirq steal (guest is in user)
    steal = values[7] if len(values) > 7 else 0
    return total - values[3] - values[4] - steal, steal, total


def summarize(
    scenario: Scenario, samples: list[dict[str, Any]], start: float, sampler: Sampler
) -> dict[str, Any]:
    """The figures of one run, over the window [start, start + seconds) of the load's clock.

    Latencies: the uploads that started in the window and succeeded. Throughput: those that
    finished in it. CPU per upload: the CPU the window took over the uploads that finished in
    it. Errors: every failed upload of the run, warm-up included.
    """
    end = start + scenario.seconds
    timed = [s for s in samples if start <= s["at"] < end and not s["error"]]
    finished = [s for s in samples if start <= s["at"] + s["s"] < end]
    cpu = sampler.between(start, end)
    done = max(len(finished), 1)
    busy_cores = cpu["machine_busy"] / CLOCK_TICKS / scenario.seconds
    figures: dict[str, Any] = {
        "uploads": len(timed),
        "errors": sum(bool(s["error"]) for s in samples),
        "error_kinds": ", ".join(sorted({s["error"] for s in samples if s["error"]})),
        "throughput": sum(not s["error"] for s in finished) / scenario.seconds,
        "p50_ms": _percentile([s["s"] for s in timed], 50) * 1000,
        "p99_ms": _percentile([s["s"] for s in timed], 99) * 1000,
        "cpu_ms": cpu["portal"] * 1000 / done,
        "system_cpu_ms": cpu["portal_system"] * 1000 / done,
        "upstream_cpu_ms": cpu["upstream"] * 1000 / done,
        "loadgen_cpu_ms": cpu["loadgen"] * 1000 / done,
        "worker_cpu_s": sorted(v for k, v in cpu.items() if k.startswith("worker ")),
        "machine_busy": cpu["machine_busy"] / max(cpu["machine_total"], 1),
        "machine_steal": cpu["machine_steal"] / max(cpu["machine_total"], 1),
        "worst_second_steal": sampler.worst_second_steal(start, end),
        # Whatever else ran meanwhile (other helpers' tests, say), in cores.
        "other_cores": busy_cores
        - (cpu["portal"] + cpu["upstream"] + cpu["loadgen"]) / scenario.seconds,
    }
    for door in ("api", "form"):
        latencies = [s["s"] for s in timed if s["door"] == door]
        figures[f"{door}_p50_ms"] = _percentile(latencies, 50) * 1000
        figures[f"{door}_p99_ms"] = _percentile(latencies, 99) * 1000
    if scenario.latency_ms:
        ideal = scenario.concurrency / (scenario.latency_ms / 1000)
        figures["efficiency"] = figures["throughput"] / ideal
    return figures


def _percentile(values: list[float], percent: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(percent / 100 * len(ordered)) - 1))]


def _verdict(value: float, limit: float, *, at_least: bool = False) -> str:
    met = value >= limit if at_least else value <= limit
    return f"(target {'>=' if at_least else '<='} {limit:g}: {'met' if met else 'MISSED'})"


def report(scenario: Scenario, f: dict[str, Any], problems: list[str]) -> None:
    upstream, judged = scenario.latency_ms, scenario.concurrency >= 64
    what = f"upstream latency {upstream:g} ms" if upstream else "the built-in sandbox"
    print(
        f"\n== {scenario.name}: {scenario.concurrency} concurrent, {what}, {scenario.seconds:g} s"
    )
    if scenario.floor:
        print("  (not the portal: a WSGI app of a few lines, served as the portal is)")
    errors = f"{f['errors']} errors" + (f" ({f['error_kinds']})" if f["errors"] else "")
    print(f"  uploads          {f['uploads']} ok, {errors}" + (" (target 0)" if judged else ""))
    line = f"  throughput       {f['throughput']:.1f} uploads/s"
    if "efficiency" in f:
        line += f", efficiency {f['efficiency']:.3f}"
        line += f" {_verdict(f['efficiency'], 0.9, at_least=True)}" if judged else ""
    print(line)
    print(f"  latency          p50 {f['p50_ms']:.1f} ms, p99 {f['p99_ms']:.1f} ms")
    print(
        f"    by door        API p50 {f['api_p50_ms']:.1f} / p99 {f['api_p99_ms']:.1f} ms, "
        f"form p50 {f['form_p50_ms']:.1f} / p99 {f['form_p99_ms']:.1f} ms"
    )
    if not upstream:
        print(f"    upload to license p50 {f['p50_ms']:.1f} ms {_verdict(f['p50_ms'], 100)}")
    else:
        percentile = 99 if judged else 50
        over = f[f"p{percentile}_ms"] - upstream
        print(f"    p{percentile} - upstream {over:.1f} ms {_verdict(over, 50 if judged else 5)}")
        late = f.get(f"fake_late_p{percentile}_ms", float("nan"))
        print(f"      of which     {late:.2f} ms the fake API answering late (its p{percentile})")
    cpu = f"  CPU per upload   {f['cpu_ms']:.2f} ms in the portal"
    cpu += f" ({f['system_cpu_ms']:.2f} of them in the kernel)"
    print(cpu + (f" {_verdict(f['cpu_ms'], 3)}" if upstream and judged else ""))
    print(
        f"    beside it      locust {f['loadgen_cpu_ms']:.2f} ms, "
        f"fake License API {f['upstream_cpu_ms']:.2f} ms; "
        f"all {os.cpu_count()} CPUs {f['machine_busy']:.0%} busy "
        f"(others than these three: {f['other_cores']:.2f} cores)"
    )
    if f["worst_second_steal"] >= 0.005:  # a virtual machine whose host ran something else
        print(
            f"    stolen         {f['machine_steal']:.0%} of the CPUs' time went to the host "
            f"({f['worst_second_steal']:.0%} in the worst second)"
        )
    shares = ", ".join(f"{seconds:.1f}" for seconds in f["worker_cpu_s"])
    print(f"    by worker      {shares} s of CPU in the {scenario.seconds:g} s window")
    rss = f"  peak RSS         {f['peak_rss_mb']:.1f} MB per worker ({f['workers']} workers)"
    print(f"{rss} {_verdict(f['peak_rss_mb'], 120)}")
    if problems:
        print(f"  portal log: {len(problems)} error lines, last: {problems[-1][:200]}")
    if f["other_cores"] > 0.25:
        print(f"  NOTE: other processes took {f['other_cores']:.2f} cores meanwhile: rerun")
    if f["machine_steal"] >= 0.05:
        print(f"  NOTE: the host took {f['machine_steal']:.0%} of the CPUs' time: rerun")


def describe_machine() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    config = runpy.run_path(str(Path(__file__).resolve().parents[1] / "gunicorn.conf.py"))
    return (
        f"machine: {os.cpu_count()} CPUs ({model}), Python {platform.python_version()}, "
        f"gunicorn {config['worker_class']} x {config['workers']} workers "
        f"x {config['threads']} threads, behind nginx\n"
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
