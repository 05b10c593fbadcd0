"""The load generator of `make bench`: virtual users posting distinct request files.

Light on purpose, because it shares the machine's cores with the portal: asyncio streams and a
minimal HTTP/1.1 client on keep-alive connections. Even-numbered users post to
`POST /api/v1/requests` (a 200 is a success), odd-numbered ones use the HTML form like a
browser without JavaScript: one `GET /` for the CSRF cookie and token, then multipart posts of
the form (the 303 is a success and is not followed, except in the sandbox scenario, where the
license download that follows it is part of "upload to license").
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

VECTORS = Path(__file__).resolve().parents[1] / "sandbox" / "fixtures" / "requests"
SHARED_KEY = "demo-shared-key-0123456789abcdef"  # what the vectors were signed with
WARMUP_SECONDS = 3.0
REQUEST_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Scenario:
    name: str
    concurrency: int
    seconds: float
    latency_ms: float  # the fake License API's; 0 when the sandbox answers
    sandbox: bool = False
    # A pause after each of a user's uploads, the portal idle meanwhile (bench.py's idle runs).
    pause_ms: float = 0.0


@dataclass
class Sample:
    door: str
    started: float
    finished: float
    ok: bool
    error: str = ""


@dataclass
class Run:
    samples: list[Sample] = field(default_factory=list)
    window_start: float = 0.0
    window_end: float = 0.0
    # What each CPU reader counted from the window's start until the last upload finished.
    cpu: dict[str, float] = field(default_factory=dict)
    # The share of the machine's CPU time the host took, second by second over the window:
    # it comes in bursts, and a burst of a second or two shows in p99 before it shows in a mean.
    steal_by_second: list[float] = field(default_factory=list)


def make_request_files(count: int) -> list[str]:
    """`count` distinct, validly signed variants of the real vector py_activate_key.req.

    A new hardware id and request id each, both signatures made again as the Python SDK makes
    them (the logic of tests/factories.py): the portal answers a file it has seen within 30
    minutes from its stored result, without an upstream call, so repeats would flatter it.
    """
    fields = json.loads(base64.b64decode((VECTORS / "py_activate_key.req").read_text()))["request"]
    files = []
    for _ in range(count):
        fields["hardware_id"] = hashlib.sha256(uuid.uuid4().bytes).hexdigest()
        fields["request_id"] = str(uuid.uuid4())
        who, client = fields["license_key"], fields["api_key"]
        inner = f"licenseSpring\ndate: {fields['date']}\n{who}\n{fields['hardware_id']}\n{client}"
        fields["signature"] = _hmac_b64(inner)
        document = {"request": fields, "signature": _hmac_b64(json.dumps(fields))}
        files.append(base64.b64encode(json.dumps(document).encode()).decode() + "\n")
    return files


def _hmac_b64(message: str) -> str:
    digest = hmac.new(SHARED_KEY.encode(), message.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class Connection:
    """One keep-alive connection to the portal, reopened after an error or `Connection: close`."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def exchange(self, request: bytes) -> tuple[int, dict[str, str], bytes]:
        """Send one request; return the status, the headers (lower-case names) and the body."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            self.writer.write(request)
            status, headers = _parse_head(await self.reader.readuntil(b"\r\n\r\n"))
            if headers.get("transfer-encoding", "").lower() == "chunked":
                body = await self._read_chunked()
            else:
                body = await self.reader.readexactly(int(headers.get("content-length", 0)))
        except BaseException:
            self.close()
            raise
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, headers, body

    async def _read_chunked(self) -> bytes:
        chunks = []
        while size := int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16):
            chunks.append((await self.reader.readexactly(size + 2))[:-2])
        await self.reader.readuntil(b"\r\n")
        return b"".join(chunks)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def _parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, separator, value = line.partition(":")
        if separator:
            name, value = name.strip().lower(), value.strip()
            # Set-Cookie may come several times: keep them all, one a line.
            headers[name] = f"{headers[name]}\n{value}" if name in headers else value
    return int(lines[0].split(" ", 2)[1]), headers


def http_request(
    method: str, port: int, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _form_post(port: int, text: str, token: str, cookie: str) -> bytes:
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
    return http_request("POST", port, "/", body, headers)


async def _open_form(connection: Connection, port: int) -> tuple[str, str]:
    """GET / once: the page's CSRF token and the cookies that go with it."""
    status, headers, page = await connection.exchange(http_request("GET", port, "/"))
    match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if status != 200 or match is None:
        raise RuntimeError(f"GET / answered {status} without a CSRF token")
    cookies = [line.split(";", 1)[0].strip() for line in headers["set-cookie"].splitlines()]
    return match.group(1).decode(), "; ".join(cookies)


async def _virtual_user(
    index: int, scenario: Scenario, port: int, files: list[str], run: Run
) -> None:
    door = "api" if index % 2 == 0 else "form"
    # Users start one after another over one upstream latency (within the warm-up), as
    # independent users arrive: started in the same instant against an API that always takes
    # the same time, they would stay in lockstep and arrive in bursts of `concurrency`.
    await asyncio.sleep(index / scenario.concurrency * max(scenario.latency_ms, 20) / 1000)
    connection = Connection(port)
    token, cookie = await _open_form(connection, port) if door == "form" else ("", "")
    while time.perf_counter() < run.window_end:
        text = files.pop() if files else make_request_files(1)[0]
        if door == "api":
            headers = {"Content-Type": "text/plain"}
            request = http_request("POST", port, "/api/v1/requests", text.encode(), headers)
        else:
            request = _form_post(port, text, token, cookie)
        started = time.perf_counter()
        try:
            # asyncio.timeout, not wait_for: wait_for runs the upload in a task of its own,
            # which costs the load generator a loop turn and a task on every upload.
            async with asyncio.timeout(REQUEST_TIMEOUT_S):
                ok, error = await _upload(connection, door, request, scenario, port, cookie)
        except (OSError, EOFError, asyncio.IncompleteReadError, TimeoutError) as exc:
            connection.close()
            ok, error = False, type(exc).__name__
        run.samples.append(Sample(door, started, time.perf_counter(), ok, error))
        if scenario.pause_ms:
            await asyncio.sleep(scenario.pause_ms / 1000)
    connection.close()


async def _upload(
    connection: Connection, door: str, request: bytes, scenario: Scenario, port: int, cookie: str
) -> tuple[bool, str]:
    status, headers, _ = await connection.exchange(request)
    if status != (200 if door == "api" else 303):
        return False, f"HTTP {status}"
    if door == "form" and scenario.sandbox:
        path = headers["location"] + "ls_activation.lic"
        request = http_request("GET", port, path, headers={"Cookie": cookie})
        status, _, _ = await connection.exchange(request)
        if status != 200:
            return False, f"download HTTP {status}"
    return True, ""


async def drive(scenario: Scenario, port: int, cpu_readers: dict[str, Callable[[], float]]) -> Run:
    """Run the scenario's virtual users through a warm-up and the measured window."""
    # Uploads a user makes a second: one per upstream latency and pause, or as fast as the
    # portal answers (about 4 ms an upload) when the fake API answers at once.
    per_upload_s = (scenario.latency_ms + scenario.pause_ms) / 1000
    expected = scenario.concurrency / (per_upload_s or (0.02 if scenario.sandbox else 0.004))
    files = make_request_files(int(expected * (WARMUP_SECONDS + scenario.seconds) * 1.2) + 100)
    run = Run()
    run.window_start = time.perf_counter() + WARMUP_SECONDS
    run.window_end = run.window_start + scenario.seconds
    readers = {**cpu_readers, "loadgen": time.process_time, "wall": time.perf_counter}
    readers["machine_busy"] = lambda: _machine_jiffies()[0]
    readers["machine_steal"] = lambda: _machine_jiffies()[1]
    readers["machine_total"] = lambda: _machine_jiffies()[2]

    async def read_at_window_start() -> dict[str, float]:
        await asyncio.sleep(run.window_start - time.perf_counter())
        return {name: read() for name, read in readers.items()}

    async def watch_steal() -> None:
        await asyncio.sleep(run.window_start - time.perf_counter())
        _, steal, total = _machine_jiffies()
        while time.perf_counter() < run.window_end:
            await asyncio.sleep(1)
            _, now_steal, now_total = _machine_jiffies()
            run.steal_by_second.append((now_steal - steal) / max(now_total - total, 1))
            steal, total = now_steal, now_total

    at_start = asyncio.ensure_future(read_at_window_start())
    watcher = asyncio.ensure_future(watch_steal())
    users = range(scenario.concurrency)
    await asyncio.gather(*(_virtual_user(index, scenario, port, files, run) for index in users))
    before = await at_start
    run.cpu = {name: read() - before[name] for name, read in readers.items()}
    watcher.cancel()
    return run


def _machine_jiffies() -> tuple[int, int, int]:
    """Busy, stolen and total CPU time of the whole machine, in clock ticks, from /proc/stat.

    Stolen: time a virtual CPU wanted to run while the hypervisor ran something else.
    """
    values = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    total = sum(values[:8])  # user nice system idle iowait irq softirq steal (guest is in user)
    steal = values[7] if len(values) > 7 else 0
    return total - values[3] - values[4] - steal, steal, total
