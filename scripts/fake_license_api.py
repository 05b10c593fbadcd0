"""A fake License API, for `make bench` and for the tests' faults.

`python scripts/fake_license_api.py --port PORT --latency-ms MS` serves, on 127.0.0.1, the
four offline endpoints (any path ending in one of them): a license for an activation (its
`hardware_id` and `request_id` copied from the request file, as the License API does),
`"license_deactivated"` for a deactivation. A minimal HTTP/1.1 server with keep-alive, one
thread per connection (the portal keeps its connections open, so threads are few and cheap),
that answers each request its latency after the request arrived. It checks no signature: the
portal's signing is covered by the tests.

It answers a little late (its thread must wake up, and on a virtual machine whose CPUs halt
when idle that takes longer): on SIGTERM it prints how late, as `late: p50 X ms, p99 Y ms`,
which `make bench` reports beside the latencies it counted that lateness in.

The tests start it in a thread (`FakeLicenseApi(...).start()`, the `faulty_upstream` fixture)
and inject faults: each request takes the next injected fault, if any, and is answered as
usual once none is left. The faults are in FAULTS, each a way a License API or the network in
between has been seen to misbehave.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import itertools
import json
import signal
import socket
import socketserver
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import BinaryIO, NamedTuple

LICENSE_OBJECT = {
    "id": 1001,
    "license_key": "FUH3-4E7A-LZJL-7JTP",
    "license_type": "perpetual",
    "is_trial": False,
    "max_activations": 1000000,
    "times_activated": 1,
    "product_details": {"product_id": 7, "product_name": "Test Product", "short_code": "TP"},
    "product_features": [{"code": "export", "name": "Export"}],
    "license_signature": "c2ln",
}
NOT_FOUND = b'{"status": 404, "code": "not_found", "message": "Not found"}'


class Request(NamedTuple):
    connection: int  # which of the server's connections it came on, counted from 1
    path: str
    hardware_id: str | None


def _response(status: str, body: bytes) -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def _request_fields(body: bytes) -> dict[str, object]:
    """The request file's fields (flat or wrapped), or {} when the body is not one."""
    try:
        document = json.loads(base64.b64decode(body.strip(), validate=True))
    except (binascii.Error, ValueError):
        return {}
    if not isinstance(document, dict):
        return {}
    inner = document.get("request")
    return inner if isinstance(inner, dict) else document


def _license(fields: dict[str, object]) -> dict[str, object]:
    echoed = {name: fields[name] for name in ("hardware_id", "request_id") if name in fields}
    return {**LICENSE_OBJECT, **echoed}


def _answer(path: str, fields: dict[str, object]) -> bytes:
    if path.endswith("/activate_offline"):
        return _response("200 OK", json.dumps(_license(fields), indent=1).encode())
    if path.endswith("/activate_bundle_offline"):
        return _response("200 OK", json.dumps({"licenses": [_license(fields)]}).encode())
    if path.endswith(("/deactivate_offline", "/deactivate_bundle_offline")):
        return _response("200 OK", b'"license_deactivated"')
    return _response("404 Not Found", NOT_FOUND)


# Each fault gets the connection's socket, the usual answer and the server's stop event; it
# returns whether the connection stays open for the next request.
Fault = Callable[[socket.socket, bytes, threading.Event], bool]


def _hang(sock: socket.socket, answer: bytes, stopping: threading.Event) -> bool:
    stopping.wait()
    return False


def _drip(sock: socket.socket, answer: bytes, stopping: threading.Event) -> bool:
    for index in range(len(answer)):  # from the status line on: head and body alike
        if stopping.wait(1.0):
            return False
        sock.sendall(answer[index : index + 1])
    return True


def _interim_forever(sock: socket.socket, answer: bytes, stopping: threading.Event) -> bool:
    while not stopping.wait(1.0):
        sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
    return False


def _close_mid_answer(sock: socket.socket, answer: bytes, stopping: threading.Event) -> bool:
    body_starts = answer.index(b"\r\n\r\n") + 4
    sock.sendall(answer[: body_starts + (len(answer) - body_starts) // 2])
    return False


def _malformed_framing(sock: socket.socket, answer: bytes, stopping: threading.Event) -> bool:
    sock.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nnot a chunk size\r\n\r\n")
    return True  # left open: the client must see the framing is wrong, not wait for more


def _late_answer(sock: socket.socket, answer: bytes, stopping: threading.Event) -> bool:
    # The answer, then the same answer again, unasked: the next request sent on this
    # connection reads it as its own. One write, so the client has both before it reuses it.
    sock.sendall(answer + answer)
    return True


def _deep_json(sock: socket.socket, answer: bytes, stopping: threading.Event) -> bool:
    sock.sendall(_response("200 OK", b"[" * 100_000 + b"]" * 100_000))
    return True


def _wrong_types(sock: socket.socket, answer: bytes, stopping: threading.Event) -> bool:
    document = json.loads(answer.partition(b"\r\n\r\n")[2])
    if isinstance(document, dict):  # an activation's license
        document["product_features"] = 5
    sock.sendall(_response("200 OK", json.dumps(document).encode()))
    return True


def _huge_body(sock: socket.socket, answer: bytes, stopping: threading.Event) -> bool:
    # 50 MiB in chunks, no length announced: the client must stop reading on its own.
    sock.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"10000\r\n" + b" " * 0x10000 + b"\r\n"
    for _ in range(800):
        if stopping.is_set():
            return False
        sock.sendall(chunk)
    sock.sendall(b"0\r\n\r\n")
    return True


FAULTS: dict[str, Fault] = {
    "hang": _hang,
    "drip": _drip,
    "interim_forever": _interim_forever,
    "close_mid_answer": _close_mid_answer,
    "malformed_framing": _malformed_framing,
    "late_answer": _late_answer,
    "deep_json": _deep_json,
    "wrong_types": _wrong_types,
    "huge_body": _huge_body,
}


class FakeLicenseApi(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024

    def __init__(self, port: int = 0, latency: float = 0.0) -> None:
        super().__init__(("127.0.0.1", port), _Connection)
        self.latency = latency  # seconds
        self.late: list[float] = []  # seconds past its latency, each answer
        self.requests: list[Request] = []
        self.stopping = threading.Event()
        self._faults: deque[str] = deque()
        self._connections = itertools.count(1)
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """The License API base URL to give the portal."""
        return f"http://127.0.0.1:{self.server_address[1]}/api/v4"

    def inject(self, *faults: str) -> None:
        """The next requests get these faults, one each, in order."""
        unknown = set(faults) - set(FAULTS)
        if unknown:
            raise ValueError(f"unknown faults: {sorted(unknown)}")
        self._faults.extend(faults)

    def start(self) -> FakeLicenseApi:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.stopping.set()  # ends the faults that wait
        self.shutdown()
        self.server_close()

    def take_fault(self) -> Fault | None:
        try:
            return FAULTS[self._faults.popleft()]
        except IndexError:
            return None

    def next_connection(self) -> int:
        with self._lock:
            return next(self._connections)


class _Connection(socketserver.BaseRequestHandler):
    """One keep-alive connection: each request answered `latency` seconds after it arrived."""

    server: FakeLicenseApi

    def handle(self) -> None:
        server, number = self.server, self.server.next_connection()
        stream = self.request.makefile("rb")
        try:
            while request := _read_request(stream):
                arrived, path, body = time.perf_counter(), *request
                fields = _request_fields(body)
                hardware_id = fields.get("hardware_id")
                server.requests.append(
                    Request(number, path, hardware_id if isinstance(hardware_id, str) else None)
                )
                answer, fault = _answer(path, fields), server.take_fault()
                # time.sleep, not an asyncio timer: those round up to the next millisecond, and
                # the bench counted about 1 ms of the fake's lateness against the portal.
                time.sleep(max(0.0, server.latency - (time.perf_counter() - arrived)))
                server.late.append(time.perf_counter() - arrived - server.latency)
                if fault is None:
                    self.request.sendall(answer)
                elif not fault(self.request, answer, server.stopping):
                    return
        except (ConnectionError, ValueError, IndexError, OSError):  # a client gone, or not HTTP
            pass
        finally:
            stream.close()


def _read_request(stream: BinaryIO) -> tuple[str, bytes] | None:
    """The next request's path and body, or None when the client closed the connection."""
    head = _read_head(stream)
    if not head:
        return None
    request_line, _, header_block = head.partition(b"\r\n")
    length = 0
    for line in header_block.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    body = stream.read(length) if length else b""
    if len(body) < length:
        return None
    return request_line.split(b" ")[1].split(b"?")[0].decode("latin-1"), body


def _read_head(stream: BinaryIO) -> bytes:
    """The request line and headers, or b"" when the client closed the connection."""
    lines = []
    while (line := stream.readline(65537)) not in (b"\r\n", b"\n"):
        if not line:
            return b""
        lines.append(line.rstrip(b"\r\n"))
    return b"\r\n".join(lines)


def serve(port: int, latency_ms: float) -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with FakeLicenseApi(port, latency_ms / 1000) as server:
        print(f"fake License API on 127.0.0.1:{port}, latency {latency_ms:g} ms", flush=True)
        try:
            server.serve_forever()
        finally:
            print(_lateness(sorted(server.late)), flush=True)


def _lateness(late: list[float]) -> str:
    if not late:
        return "late: no requests"
    p50, p99 = (late[min(len(late) - 1, int(len(late) * share))] for share in (0.5, 0.99))
    return f"late: p50 {p50 * 1000:.2f} ms, p99 {p99 * 1000:.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency-ms", type=float, default=200.0)
    arguments = parser.parse_args()
    serve(arguments.port, arguments.latency_ms)


if __name__ == "__main__":
    main()
