"""The License API client's transport: httpcore's connection pool, on a network backend that
ends every connect, write and read at the relay's deadline.

httpx's timeouts bound each read, not a whole answer: a License API that drips its answer a
byte a second, or sends `100 Continue` every second, would hold a relay for ever. httpcore
lets a pool take its own network backend (a public hook), and the backend here gives every
socket operation of a relay at most the time left before that relay's deadline, so connecting,
sending, the answer's head (however many interim answers) and its body all end by then. A
relay cut short by its deadline raises a timeout inside httpcore, which closes the connection
rather than pool it. httpx's own `HTTPTransport` takes no network backend, so this module is
that transport's few lines over the same pool: the request and answer handed across as they
are, httpcore's exceptions raised as httpx's.

The deadline of the relay a thread is making lives in a context variable (each thread has its
own): the pool's connections are shared by a worker's threads, one relay at a time each.
"""

from __future__ import annotations

import contextlib
import ipaddress
import time
import urllib.request
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

import httpcore
import httpx

_deadline: ContextVar[float | None] = ContextVar("license_api_deadline", default=None)

# httpcore's exceptions and the httpx ones they stand for, the most specific first.
_AS_HTTPX_ERROR: list[tuple[type[Exception], type[httpx.HTTPError]]] = [
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.ProxyError, httpx.ProxyError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
]


@contextlib.contextmanager
def relay_deadline(at: float) -> Iterator[None]:
    """Within this block, this thread's License API calls end by `at` (time.monotonic())."""
    token = _deadline.set(at)
    try:
        yield
    finally:
        _deadline.reset(token)


def _bounded(timeout: float | None, error: type[Exception]) -> float | None:
    """`timeout`, shortened to the time left before the deadline; `error` once none is left."""
    at = _deadline.get()
    if at is None:
        return timeout
    left = at - time.monotonic()
    if left <= 0:
        raise error("the relay's deadline passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    # A write gives the whole request (at most 64 KiB) to the kernel at once, whose send
    # buffer takes it, so bounding each write call, not each byte, is exact enough.
    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        timeout = _bounded(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self._backend = httpcore.SyncBackend()

    # Inexact in one place: looking the host name up (getaddrinfo) takes no timeout, so a
    # resolver that hangs holds a relay for as long as the system's resolver lets it.
    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        timeout = _bounded(timeout, httpcore.ConnectTimeout)
        stream = self._backend.connect_tcp(host, port, timeout, local_address, socket_options)
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:
        timeout = _bounded(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._backend.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class DeadlineTransport(httpx.BaseTransport):
    """httpx's transport over httpcore's pool (direct, or through an HTTP proxy), every socket
    operation bounded by the relay's deadline."""

    def __init__(self, *, limits: httpx.Limits, proxy: str | None = None) -> None:
        options: dict[str, Any] = {
            "ssl_context": httpx.create_ssl_context(),  # honours SSL_CERT_FILE, SSL_CERT_DIR
            "max_connections": limits.max_connections,
            "max_keepalive_connections": limits.max_keepalive_connections,
            "keepalive_expiry": limits.keepalive_expiry,
            "network_backend": _DeadlineBackend(),
        }
        if proxy is None:
            self._pool: httpcore.ConnectionPool = httpcore.ConnectionPool(**options)
        else:
            via = httpx.Proxy(proxy)
            self._pool = httpcore.HTTPProxy(
                proxy_url=str(via.url), proxy_auth=via.raw_auth, **options
            )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.SyncByteStream)
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _as_httpx_errors():
            response = self._pool.handle_request(core_request)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_AnswerStream(response.stream),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self._pool.close()


class _AnswerStream(httpx.SyncByteStream):
    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        with _as_httpx_errors():
            yield from self._stream

    def close(self) -> None:
        self._stream.close()


@contextlib.contextmanager
def _as_httpx_errors() -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        for core_error, httpx_error in _AS_HTTPX_ERROR:
            if isinstance(exc, core_error):
                raise httpx_error(str(exc)) from None
        raise


def proxy_mounts(limits: httpx.Limits) -> dict[str, httpx.BaseTransport | None]:
    """httpx mounts for the proxies the environment names (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY,
    NO_PROXY), as httpx.Client sets them up for its own transport; None means direct."""
    proxies = urllib.request.getproxies_environment()
    bypass = [host.strip() for host in proxies.get("no", "").split(",") if host.strip()]
    if "*" in bypass:
        return {}
    mounts: dict[str, httpx.BaseTransport | None] = {}
    by_proxy: dict[str, DeadlineTransport] = {}  # one pool per proxy, whichever schemes use it
    for scheme in ("http", "https", "all"):
        if proxy := proxies.get(scheme):
            url = proxy if "://" in proxy else f"http://{proxy}"
            if url not in by_proxy:
                by_proxy[url] = DeadlineTransport(limits=limits, proxy=url)
            mounts[f"{scheme}://"] = by_proxy[url]
    for host in bypass:
        mounts[_bypass_pattern(host)] = None
    return mounts


def _bypass_pattern(host: str) -> str:
    """The httpx mount pattern for one NO_PROXY entry (curl's rules, as httpx reads them)."""
    if "://" in host:
        return host
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return f"all://{host}" if host.lower() == "localhost" else f"all://*{host}"
    return f"all://[{host}]" if address.version == 6 else f"all://{host}"
