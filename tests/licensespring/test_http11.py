"""HTTP/1.1 framing of the License API's answers (portal/http11.py), on scripted sockets."""

from __future__ import annotations

import pytest

from portal.licensespring import http11


class _Socket:
    """Hands out the scripted pieces one recv at a time, then the end of the connection."""

    def __init__(self, *pieces: bytes) -> None:
        self.pieces = list(pieces)

    def recv(self, size: int) -> bytes:
        piece = self.pieces.pop(0) if self.pieces else b""
        if len(piece) > size:
            self.pieces.insert(0, piece[size:])
        return piece[:size]


def read(*pieces: bytes) -> http11.Answer:
    return http11.read_answer(_Socket(*pieces))


def refused(*pieces: bytes) -> str:
    with pytest.raises(http11.ProtocolError) as caught:
        read(*pieces)
    return str(caught.value)


def test_a_content_length_answer_is_read_whole_and_keeps_the_connection() -> None:
    answer = read(
        b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{"a":1}'
    )

    assert (answer.status, answer.reason, answer.body, answer.keep_alive) == (
        200,
        b"OK",
        b'{"a":1}',
        True,
    )
    assert answer.headers == [(b"Content-Type", b"application/json"), (b"Content-Length", b"7")]


def test_an_answer_split_across_reads_is_put_back_together() -> None:
    whole = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789"
    answer = read(*(whole[i : i + 1] for i in range(len(whole))))

    assert answer.body == b"0123456789"
    assert answer.keep_alive


def test_a_chunked_answer_is_decoded_extensions_and_trailers_ignored() -> None:
    answer = read(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"4;note=x\r\nWiki\r\n5\r\npedia\r\n",
        b"0\r\nX-Trailer: yes\r\n\r\n",
    )

    assert (answer.body, answer.keep_alive) == (b"Wikipedia", True)


def test_an_answer_without_a_length_runs_to_the_close_and_ends_the_connection() -> None:
    answer = read(b"HTTP/1.1 200 OK\r\n\r\nall of ", b"it")

    assert (answer.body, answer.keep_alive) == (b"all of it", False)


@pytest.mark.parametrize(
    "head",
    [
        pytest.param(b"HTTP/1.1 200 OK\r\nConnection: close", id="Connection: close"),
        pytest.param(b"HTTP/1.1 200 OK\r\nConnection: upgrade, Close", id="close in a list"),
        pytest.param(b"HTTP/1.0 200 OK", id="HTTP/1.0"),
    ],
)
def test_an_answer_that_ends_its_connection_says_so(head: bytes) -> None:
    answer = read(head + b"\r\nContent-Length: 2\r\n\r\n{}")

    assert (answer.body, answer.keep_alive) == (b"{}", False)


def test_bytes_beyond_the_answer_end_the_connection() -> None:
    answer = read(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}HTTP/1.1 200 OK\r\n")

    assert (answer.body, answer.keep_alive) == (b"{}", False)


def test_interim_answers_are_skipped() -> None:
    answer = read(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n",
        b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
    )

    assert (answer.status, answer.body, answer.keep_alive) == (201, b"", True)


def test_a_no_content_answer_has_no_body() -> None:
    answer = read(b"HTTP/1.1 204 No Content\r\n\r\n")

    assert (answer.status, answer.body, answer.keep_alive) == (204, b"", True)


def test_bare_line_feeds_and_a_missing_reason_are_accepted() -> None:
    answer = read(b"HTTP/1.1 200\nContent-Length: 2\n\n{}")

    assert (answer.status, answer.reason, answer.body) == (200, b"", b"{}")


def test_header_bytes_are_kept_as_received() -> None:
    answer = read(b"HTTP/1.1 429 Slow Down\r\nX-Note:  caf\xe9 \r\nContent-Length: 0\r\n\r\n")

    assert (answer.reason, answer.headers[0]) == (b"Slow Down", (b"X-Note", b"caf\xe9"))


def test_a_repeated_equal_content_length_is_one_length() -> None:
    answer = read(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2, 2\r\n\r\n{}")

    assert answer.body == b"{}"


def test_a_server_that_closes_without_a_word_is_told_apart() -> None:
    with pytest.raises(http11.Disconnected):
        read()


@pytest.mark.parametrize(
    ("pieces", "message"),
    [
        pytest.param([b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n{}"], "cut short", id="short"),
        pytest.param([b"HTTP/1.1 200 OK\r\nContent-"], "cut short", id="head cut short"),
        pytest.param([b"SSH-2.0-OpenSSH_9.6\r\n\r\n"], "status line", id="not HTTP"),
        pytest.param([b"HTTP/2 200 OK\r\n\r\n"], "status line", id="HTTP/2"),
        pytest.param([b"HTTP/1.1 20 OK\r\n\r\n"], "status line", id="two-digit status"),
        pytest.param([b"HTTP/1.1 101 Switching\r\n\r\n"], "101", id="upgrade"),
        pytest.param([b"HTTP/1.1 200 OK\r\nX-A: 1\r\n  folded\r\n\r\n"], "header", id="fold"),
        pytest.param([b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n"], "header", id="no colon"),
        pytest.param([b"HTTP/1.1 200 OK\r\nBad Name: 1\r\n\r\n"], "header", id="space in name"),
        pytest.param([b"HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n"], "header", id="NUL in value"),
        pytest.param(
            [b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}"],
            "conflicting",
            id="two lengths",
        ),
        pytest.param([b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"], "Content-Length", id="-1"),
        pytest.param(
            [b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n"], "large", id="huge"
        ),
        pytest.param(
            [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"],
            "chunk",
            id="chunk size",
        ),
        pytest.param(
            [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n"],
            "line",
            id="chunk longer than said",
        ),
        pytest.param(
            [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n"],
            "cut short",
            id="no last chunk",
        ),
        pytest.param(
            [b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 101 + b"\r\n"], "too many", id="101 headers"
        ),
        pytest.param([b"HTTP/1.1 200 OK\r\nX: " + b"y" * 70000], "too large", id="endless head"),
    ],
)
def test_a_malformed_answer_is_refused_not_guessed_at(pieces: list[bytes], message: str) -> None:
    assert message in refused(*pieces)


def test_an_answer_read_to_the_close_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http11, "MAX_BODY_BYTES", 10)

    assert "too large" in refused(b"HTTP/1.1 200 OK\r\n\r\n", b"0123456789", b"x")
    assert "too large" in refused(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n012345\r\n6\r\n"
    )


def test_a_request_is_one_piece_with_its_headers_in_order() -> None:
    data = http11.encode_request(
        b"POST", b"/api/v4/activate_offline", [(b"Host", b"api"), (b"X-A", b"1 2")], b"body"
    )

    assert data == b"POST /api/v4/activate_offline HTTP/1.1\r\nHost: api\r\nX-A: 1 2\r\n\r\nbody"


@pytest.mark.parametrize(
    ("target", "header"),
    [
        pytest.param(b"/a", (b"X-A", b"1\r\nX-Evil: 2"), id="CRLF in value"),
        pytest.param(b"/a", (b"X-A", b"1\n 2"), id="folded value"),
        pytest.param(b"/a", (b"X-A", b"1\x002"), id="NUL in value"),
        pytest.param(b"/a", (b"X A", b"1"), id="space in name"),
        pytest.param(b"/a", (b"X-A:", b"1"), id="colon in name"),
        pytest.param(b"/a b", (b"X-A", b"1"), id="space in target"),
        pytest.param(b"/a\r\n", (b"X-A", b"1"), id="CRLF in target"),
    ],
)
def test_a_request_that_would_change_its_own_framing_is_refused_unquoted(
    target: bytes, header: tuple[bytes, bytes]
) -> None:
    with pytest.raises(ValueError) as caught:
        http11.encode_request(b"POST", target, [header], b"")

    assert header[1].decode("latin-1") not in str(caught.value)
