"""A fake License API for `make bench`: answers every request after a fixed latency.

`python scripts/fake_license_api.py --port PORT --latency-ms MS` serves, on 127.0.0.1, the
four offline endpoints (any path ending in one of them) with a fixed answer: one license for
an activation, `{}` for a deactivation. A raw asyncio HTTP/1.1 server with keep-alive, so that
hundreds of concurrent connections cost little CPU on the machine under test. It checks
nothing: the portal's signing is covered by the tests.
"""

from __future__ import annotations

import argparse
import asyncio
import json

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


async def _serve_connection(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, latency: float
) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, _, header_block = head.partition(b"\r\n")
            length = 0
            for line in header_block.split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if length:
                await reader.readexactly(length)
            path = request_line.split(b" ")[1].split(b"?")[0]
            await asyncio.sleep(latency)
            if path.endswith((b"/activate_offline", b"/activate_bundle_offline")):
                writer.write(ACTIVATED)
            elif path.endswith((b"/deactivate_offline", b"/deactivate_bundle_offline")):
                writer.write(DEACTIVATED)
            else:
                writer.write(NOT_FOUND)
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        pass
    finally:
        writer.close()


async def serve(port: int, latency_ms: float) -> None:
    latency = latency_ms / 1000

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _serve_connection(reader, writer, latency)

    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
    print(f"fake License API on 127.0.0.1:{port}, latency {latency_ms:g} ms", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency-ms", type=float, default=200.0)
    arguments = parser.parse_args()
    asyncio.run(serve(arguments.port, arguments.latency_ms))


if __name__ == "__main__":
    main()
