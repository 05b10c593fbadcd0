"""The processes of `make bench` (scripts/bench.py): started as children, their CPU and memory
read from /proc, and the small waits for them to listen."""

from __future__ import annotations

import re
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

from bench_figures import CLOCK_TICKS

REPO = Path(__file__).resolve().parent.parent


class Server:
    """A child process (portal, fake API, locust) whose CPU and memory we read from /proc."""

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

    def workers(self) -> list[int]:
        """gunicorn's workers: the children started by the same command line as gunicorn, not
        nginx nor the webhook delivery loop, which gunicorn.conf.py starts beside them."""
        master, *children = self.pids()
        return [pid for pid in children if _command_line(pid) == _command_line(master)]

    def cpu_seconds(self) -> float:
        return sum(process_cpu_seconds(pid) for pid in self.pids())

    def system_cpu_seconds(self) -> float:
        """The kernel's share (sockets, files) of cpu_seconds."""
        return sum(_stat_fields(pid)[12:13][0] for pid in self.pids()) / CLOCK_TICKS

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def process_cpu_seconds(pid: int) -> float:
    """User and kernel CPU of one process (all its threads), 0 once it has gone."""
    return sum(_stat_fields(pid)[11:13]) / CLOCK_TICKS


def _command_line(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _stat_fields(pid: int) -> list[int]:
    """/proc/PID/stat after the command name: [state, ppid, ...]; utime, stime at 11 and 12."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return [0] * 13
    fields = text.rsplit(")", 1)[1].split()
    return [0, *(int(value) for value in fields[1:])]


def peak_rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_answering(server: Server, url: str, timeout: float = 60) -> None:
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
