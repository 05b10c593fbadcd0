"""A fake License API for `make bench`: answers every request after a fixed latency.

`python scripts/fake_license_api.py --port PORT --latency-ms MS` serves, on 127.0.0.1, the
four offline endpoints (any path ending in one of them) with a fixed answer: one license for
an activation, `{}` for a deactivation: a minimal HTTP/1.1 server with keep-alive, one thread
per connection (the portal keeps its connections open, so threads are few and cheap), that
answers each request its latency after the request arrived. It checks nothing: the portal's
signing is covered by the tests.

It answers a little late (its thread must wake up, and on a virtual machine whose CPUs halt
when idle that takes longer): on SIGTERM it prints how late, as `late: p50 X ms, p99 Y ms`,
which `make bench` reports beside the latencies it counted that lateness in.
"""

from __future__ import annotations

import argparse
import json
import signal
import socketserver
import sys
import time
from typing import BinaryIO

LICENSE_BODY = json.dumps(
    {
        "id": 1001,
        "license_key": "FUH3-4E7A-LZJL-7JTP",
        "license_type": "perpetual",
        "is_trial": False,
        "max_activations": 1000000,
        "times_activated": 1,
        "product_details": {"product_id": 7, "product_name": "Test Product", "short_code": "TP"},
        "product_features": [{"code": "export", "name": "Export"}],
        "license_signature": "c2ln",
    },
    indent=1,
).encode()


def _response(status: str, body: bytes) -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


ACTIVATED = _response("200 OK", LICENSE_BODY)
DEACTIVATED = _response("200 OK", b"{}")
NOT_FOUND = _response("404 Not Found", b'{"status": 404, "code": "not_found"}')


LATE: list[float] = []  # seconds past its latency, each answer (list.append is thread-safe)


class _Connection(socketserver.BaseRequestHandler):
    """One keep-alive connection: each request answered `latency` seconds after it arrived."""

    latency = 0.2

    def handle(self) -> None:
        stream = self.request.makefile("rb")
        try:
            while head := _read_head(stream):
                request_line, _, header_block = head.partition(b"\r\n")
                length = 0
                for line in header_block.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                arrived = time.perf_counter()
                if length and len(stream.read(length)) < length:
                    return
                path = request_line.split(b" ")[1].split(b"?")[0]
                # time.sleep, not an asyncio timer: those round up to the next millisecond, and
                # the bench counted about 1 ms of the fake's lateness against the portal.
                time.sleep(max(0.0, self.latency - (time.perf_counter() - arrived)))
                LATE.append(time.perf_counter() - arrived - self.latency)
                if path.endswith((b"/activate_offline", b"/activate_bundle_offline")):
                    self.request.sendall(ACTIVATED)
                elif path.endswith((b"/deactivate_offline", b"/deactivate_bundle_offline")):
                    self.request.sendall(DEACTIVATED)
                else:
                    self.request.sendall(NOT_FOUND)
        except (ConnectionError, ValueError, IndexError):  # a client gone, or not HTTP
            pass
        finally:
            stream.close()


def _read_head(stream: BinaryIO) -> bytes:
    """The request line and headers, or b"" when the client closed the connection."""
    lines = []
    while (line := stream.readline(65537)) not in (b"\r\n", b"\n"):
        if not line:
            return b""
        lines.append(line.rstrip(b"\r\n"))
    return b"\r\n".join(lines)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024


def serve(port: int, latency_ms: float) -> None:
    handler = type("Handler", (_Connection,), {"latency": latency_ms / 1000})
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with _Server(("127.0.0.1", port), handler) as server:
        print(f"fake License API on 127.0.0.1:{port}, latency {latency_ms:g} ms", flush=True)
        try:
            server.serve_forever()
        finally:
            print(_lateness(sorted(LATE)), flush=True)


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
