"""HTTP/1.1 on one connected socket, for the License API client (portal/license_api.py).

A request goes out in one write; its answer is read and framed per RFC 9112: interim answers
(1xx) skipped, the body by Content-Length, chunked transfer coding or the end of the
connection, and whether the connection may carry another request. No socket is opened here,
and nothing here knows httpx: the client maps these errors to its own.

Why not http.client: the portal sends one small request and reads one small answer at a
time, and http.client reads an answer's head through a buffered file object and the email
package's header parser, which made a License API call cost 0.43 ms of CPU against 0.26 ms
this way (one thread, loopback, README's Performance section). What http.client checked, this
checks too, a little more strictly: a malformed status line, header line or length is an
error, never a guess; a folded header line is refused; so is an answer larger than a License
API ever sends.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass

MAX_HEAD_BYTES = 64 * 1024  # status line and header lines of one answer
MAX_HEADERS = 100
MAX_BODY_BYTES = 16 * 1024 * 1024  # a license file is a few KiB
_RECV_BYTES = 64 * 1024

_STATUS_LINE = re.compile(rb"HTTP/1\.([01]) ([0-9]{3})(?: ([^\x00-\x08\x0a-\x1f\x7f]*))?")
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_UNSAFE_IN_VALUE = re.compile(rb"[\r\n\0]").search
_UNSAFE_IN_TARGET = re.compile(rb"[\x00-\x20\x7f]").search
_HEAD_END = re.compile(rb"\r?\n\r?\n")
_LINE_END = re.compile(rb"\r?\n")
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")


class ProtocolError(Exception):
    """The answer broke HTTP/1.1, was cut short, or was too large."""


class Disconnected(ProtocolError):
    """The server closed the connection without a byte of an answer."""


@dataclass(slots=True)
class Answer:
    status: int
    reason: bytes
    headers: list[tuple[bytes, bytes]]  # as received, in order
    body: bytes  # the message body with the transfer coding removed
    keep_alive: bool  # whether the connection may carry another request


def encode_request(
    method: bytes, target: bytes, headers: Iterable[tuple[bytes, bytes]], body: bytes
) -> bytes:
    """The request's bytes. ValueError, quoting nothing (a value may be a signature), when a
    header or the target would change the message's framing: a new line, a NUL, a space."""
    if _UNSAFE_IN_TARGET(target) or not _TOKEN.fullmatch(method):
        raise ValueError("illegal request line")
    lines = [b"%s %s HTTP/1.1" % (method, target)]
    for name, value in headers:
        if not _TOKEN.fullmatch(name) or _UNSAFE_IN_VALUE(value):
            raise ValueError("illegal header")
        lines.append(b"%s: %s" % (name, value))
    lines.append(b"")
    lines.append(body)
    return b"\r\n".join(lines)


def read_answer(sock: socket.socket) -> Answer:
    """Read the final answer to the request just sent. Socket errors and timeouts pass
    through; a malformed, short or oversized answer raises ProtocolError."""
    reader = _Reader(sock)
    while True:
        version, status, reason, headers = _parse_head(reader.head())
        if status == 101:  # never asked for: what follows is not HTTP
            raise ProtocolError("unexpected 101 Switching Protocols")
        if status >= 200:
            break
        # 1xx: interim (100 Continue, 102 Processing, 103 Early Hints); the answer follows.
    fields: dict[bytes, list[bytes]] = {}
    for name, value in headers:
        fields.setdefault(name.lower(), []).append(value)
    connection = _tokens(fields.get(b"connection", []))
    keep_alive = version == 1 and b"close" not in connection
    if status in (204, 304):
        body = b""
    elif b"transfer-encoding" in fields:
        codings = _tokens(fields[b"transfer-encoding"])
        if codings and codings[-1] == b"chunked":
            body = reader.chunked()
        else:
            body, keep_alive = reader.until_closed(), False
        keep_alive = keep_alive and b"content-length" not in fields  # RFC 9112, 6.3
    elif b"content-length" in fields:
        body = reader.exactly(_content_length(fields[b"content-length"]))
    else:
        body, keep_alive = reader.until_closed(), False
    if reader.buffer:  # more than one answer's worth: the connection is out of step
        keep_alive = False
    return Answer(status, reason, headers, body, keep_alive)


def _parse_head(head: bytes) -> tuple[int, int, bytes, list[tuple[bytes, bytes]]]:
    lines = _LINE_END.split(head)
    status_line = _STATUS_LINE.fullmatch(lines[0])
    if status_line is None:
        raise ProtocolError("malformed status line")
    if len(lines) - 1 > MAX_HEADERS:
        raise ProtocolError("too many header lines")
    headers = []
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        # A folded line (starting with a space) is refused, as is any line without a name.
        if not colon or not _TOKEN.fullmatch(name) or _UNSAFE_IN_VALUE(value):
            raise ProtocolError("malformed header line")
        headers.append((name, value.strip(b" \t")))
    version, status, reason = status_line.groups()
    return int(version), int(status), reason or b"", headers


def _tokens(values: list[bytes]) -> list[bytes]:
    return [token.strip(b" \t").lower() for value in values for token in value.split(b",")]


def _content_length(values: list[bytes]) -> int:
    # Repeated, or a list of the same number, is one length (RFC 9110, 8.6); anything else
    # would leave the body's end to a guess.
    lengths = {value.strip(b" \t") for text in values for value in text.split(b",")}
    if len(lengths) != 1:
        raise ProtocolError("conflicting Content-Length")
    length = lengths.pop()
    if not length.isdigit():
        raise ProtocolError("malformed Content-Length")
    if int(length) > MAX_BODY_BYTES:
        raise ProtocolError("answer too large")
    return int(length)


class _Reader:
    """An answer's bytes as they arrive, read in large pieces."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()
        self.received = False

    def head(self) -> bytes:
        """The status line and header lines, up to the empty line that ends them."""
        searched = 0
        while True:
            end = _HEAD_END.search(self.buffer, max(0, searched - 3))
            if end is not None:
                head = bytes(self.buffer[: end.start()])
                del self.buffer[: end.end()]
                return head
            if len(self.buffer) > MAX_HEAD_BYTES:
                raise ProtocolError("header section too large")
            searched = len(self.buffer)
            self._more()

    def exactly(self, length: int) -> bytes:
        while len(self.buffer) < length:
            self._more()
        data = bytes(self.buffer[:length])
        del self.buffer[:length]
        return data

    def line(self, limit: int) -> bytes:
        """One line, without its end; limit: the longest line taken."""
        searched = 0
        while True:
            end = _LINE_END.search(self.buffer, max(0, searched - 1))
            if end is not None and end.start() <= limit:
                line = bytes(self.buffer[: end.start()])
                del self.buffer[: end.end()]
                return line
            if len(self.buffer) > limit + 2:
                raise ProtocolError("line too long")
            searched = len(self.buffer)
            self._more()

    def chunked(self) -> bytes:
        parts, total = [], 0
        while True:
            size_text = self.line(limit=1024).split(b";", 1)[0].strip(b" \t")
            if not _CHUNK_SIZE.fullmatch(size_text):
                raise ProtocolError("malformed chunk size")
            size = int(size_text, 16)
            if size == 0:
                break
            total += size
            if total > MAX_BODY_BYTES:
                raise ProtocolError("answer too large")
            parts.append(self.exactly(size))
            if self.line(limit=0):
                raise ProtocolError("malformed chunk")
        trailers = 0
        while self.line(limit=MAX_HEAD_BYTES):  # trailer fields, ignored, up to an empty line
            trailers += 1
            if trailers > MAX_HEADERS:
                raise ProtocolError("too many trailer lines")
        return b"".join(parts)

    def until_closed(self) -> bytes:
        while self._more(eof_ends=True):
            if len(self.buffer) > MAX_BODY_BYTES:
                raise ProtocolError("answer too large")
        data = bytes(self.buffer)
        self.buffer.clear()
        return data

    def _more(self, *, eof_ends: bool = False) -> bool:
        data = self.sock.recv(_RECV_BYTES)
        if data:
            self.buffer += data
            self.received = True
            return True
        if eof_ends:
            return False
        if not self.received:
            raise Disconnected("Server disconnected without sending a response.")
        raise ProtocolError("the answer was cut short")
