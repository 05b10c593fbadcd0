"""The License API client: the one module that imports httpx.

One client per process (`UpstreamClient`), whose kept-alive connections a gthread worker's
threads share: to a License API it reaches directly, on sockets carrying HTTP/1.1
(portal/http11.py) behind httpx's transport interface (`DirectTransport`); through a proxy, on
httpx's transport (the serving model is chosen here and in gunicorn.conf.py; nothing else
depends on it). Requests are signed per the protocol spec, section 2; the body is relayed byte
for byte. Failures become `LicenseApiError`, carrying a status, a code and the upstream
message.

Nothing here logs: the service layer does, and this module handles secrets (the shared key,
the signed Authorization header, request bodies that may hold an end user's password).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import math
import re
import select
import socket
import ssl
import threading
import time
import urllib.request
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import formatdate, parsedate_to_datetime
from typing import Literal

import httpx
from django.conf import settings
from django.views.decorators.debug import sensitive_variables

from portal.licensespring import http11, oauth

Endpoint = Literal[
    "activate_offline",
    "deactivate_offline",
    "activate_bundle_offline",
    "deactivate_bundle_offline",
]

USER_AGENT = "OfflinePortal/0.1"
# An idle connection is not used again after this long. Servers close theirs after 5 s (gunicorn,
# uvicorn) to 60 s or more (load balancers), and a request sent as the server closes fails
# without a retry (it may have arrived): stay below the shortest.
KEEPALIVE_EXPIRY_S = 4.0
# At most this many idle connections are kept to one License API: as many as a worker's threads
# (64 by default) may have used at once.
MAX_IDLE_PER_ORIGIN = 64
MAX_DETAIL_CHARS = 500

_ERRNO_PREFIX = re.compile(r"^\[Errno -?\d+\]\s*")
_READABLE = select.POLLIN | select.POLLPRI | select.POLLERR | select.POLLHUP

_client: UpstreamClient | None = None
_client_lock = threading.Lock()


@dataclass(frozen=True)
class Credentials:
    """API-key credentials (api_key, shared_key), or OAuth client credentials (client_id,
    client_secret, and the token URL when it is not the one the API names)."""

    api_url: str  # base URL, e.g. https://api.licensespring.com/api/v4 (no trailing slash)
    api_key: str = ""
    shared_key: str = ""
    client_id: str = ""
    client_secret: str = ""
    token_url: str = ""

    @property
    def uses_oauth(self) -> bool:
        return bool(self.client_id)

    def __repr__(self) -> str:
        if self.uses_oauth:
            return f"Credentials(api_url={self.api_url!r}, client_id={self.client_id!r}, ***)"
        return f"Credentials(api_url={self.api_url!r}, api_key={self.api_key!r}, shared_key=***)"


@dataclass(frozen=True)
class UpstreamResponse:
    status: int
    body: bytes  # exact bytes of the 200 body: the license file is base64 of these
    elapsed_ms: float
    token_ms: float | None = None  # time spent fetching an OAuth token, when one was fetched


class LicenseApiError(Exception):
    """The License API refused the request, or could not be reached.

    `status` is the upstream HTTP status (502 for unreachable, 504 for a timeout);
    `code` the upstream error code (`license_activated_max_times`, ...) or
    `service_unreachable` / `service_timeout`; `message` the upstream message (detail to show
    in small print); `retry_after` seconds from a 429's Retry-After.
    """

    def __init__(
        self,
        *,
        status: int,
        code: str,
        message: str,
        retry_after: int | None = None,
        elapsed_ms: float = 0.0,
        token_ms: float | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after
        self.elapsed_ms = elapsed_ms
        self.token_ms = token_ms

    @property
    def unreachable(self) -> bool:
        return self.code in {"service_unreachable", "service_timeout"}


class UpstreamClient:
    """The process's connections to License APIs (every tenant's), pooled, with timeouts.

    httpx's transport interface, without `httpx.Client` on top: the Client's work on each
    request (merging a base URL, default headers and cookies, auth and redirect steps, keeping
    the cookies a response sets) serves nothing here and cost about a quarter of a millisecond
    of CPU an upload. Here no redirect is followed (it would replay an activation somewhere we
    were not told to), no cookie is kept (every tenant shares the client: one tenant's upstream
    cookie must never ride along on another's request), and proxies come from the environment
    as they do for httpx.Client and urllib (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY), read
    when the client is built (a worker's first upload).

    The process's threads share its connections: one transport per proxy (None: direct), all
    on one TLS context. They must not keep connections of their own: gunicorn's thread pool
    hands work to its idle threads in turn, so after a busy spell has started 64 of them, a
    quiet one gives each thread an upload only every 64th time, and a thread's own connection
    would have expired by then; every upload would connect (and shake hands over TLS) again.
    """

    def __init__(self, *, timeout: httpx.Timeout, transport: httpx.BaseTransport | None = None):
        self.timeout = timeout
        self._timeouts = timeout.as_dict()
        self._given = transport  # tests'
        self._proxies = urllib.request.getproxies_environment()
        self._ssl_context: ssl.SSLContext | None = None  # built with the first transport
        self._routes: dict[tuple[str, str], httpx.BaseTransport] = {}  # by scheme and host
        self._by_proxy: dict[str | None, httpx.BaseTransport] = {}
        self._lock = threading.Lock()
        self.is_closed = False

    def post(self, url: str, *, content: bytes, headers: dict[str, str]) -> httpx.Response:
        """POST and read the whole answer (it is small); the connection goes back to the pool."""
        parsed = _url(url)
        transport = self._transport_for(parsed)
        if type(transport) is DirectTransport:  # no httpx.Request to build: 20 us an upload
            try:
                raw = [
                    (name.encode("ascii"), value.encode("ascii")) for name, value in headers.items()
                ]
            except UnicodeEncodeError:  # as httpx.Request would, without quoting the value
                raise httpx.LocalProtocolError("Illegal header name or value") from None
            raw = [(b"Host", parsed.netloc), *raw, (b"Content-Length", b"%d" % len(content))]
            response = transport.send("POST", parsed, raw, content, self._timeouts)
        else:
            request = httpx.Request(
                "POST",
                parsed,
                content=content,
                headers=headers,
                extensions={"timeout": self._timeouts},
            )
            response = transport.handle_request(request)
        try:
            response.read()
        finally:
            response.close()
        return response

    def get(self, url: str, *, headers: dict[str, str]) -> httpx.Response:
        """GET and read the whole answer (oauth.py asks the API for its token URL)."""
        request = httpx.Request(
            "GET", _url(url), headers=headers, extensions={"timeout": self._timeouts}
        )
        response = self._transport_for(request.url).handle_request(request)
        try:
            response.read()
        finally:
            response.close()
        return response

    def close(self) -> None:
        """Close every connection (call it when no request is in flight)."""
        with self._lock:
            self.is_closed = True
            transports = [*self._by_proxy.values(), *([self._given] if self._given else [])]
            self._by_proxy.clear()
            self._routes.clear()
        for transport in transports:
            transport.close()

    def _transport_for(self, url: httpx.URL) -> httpx.BaseTransport:
        if self._given is not None:
            return self._given
        route = (url.scheme, url.host)
        transport = self._routes.get(route)
        if transport is None:
            with self._lock:
                transport = self._routes.get(route)
                if transport is None:
                    proxy = _proxy_for(url, self._proxies)
                    transport = self._by_proxy.get(proxy)
                    if transport is None:
                        transport = self._by_proxy[proxy] = self._new_transport(proxy)
                    self._routes[route] = transport
        return transport

    def _new_transport(self, proxy: str | None) -> httpx.BaseTransport:
        if self._ssl_context is None:  # loading the CA certificates takes milliseconds
            self._ssl_context = httpx.create_ssl_context()
        if proxy is None:
            return DirectTransport(self._ssl_context)
        return httpx.HTTPTransport(  # httpcore's pool takes the first idle connection it has
            verify=self._ssl_context,
            proxy=proxy,
            limits=httpx.Limits(
                max_connections=None,  # a worker's threads bound them
                max_keepalive_connections=MAX_IDLE_PER_ORIGIN,
                keepalive_expiry=KEEPALIVE_EXPIRY_S,
            ),
        )


_Origin = tuple[str, str, int]  # scheme, host (IDNA-encoded), port


class DirectTransport(httpx.BaseTransport):
    """The process's keep-alive connections straight to License APIs, shared by its threads:
    sockets carrying HTTP/1.1 (portal/http11.py) behind httpx's transport interface.

    A request takes an idle connection for itself, the one used last (so a quiet spell keeps
    reusing one warm connection while the others expire), and gives it back when its answer
    is read; that is all the managing they need. httpcore's pool does more (walking all its
    connections twice a request, h11's state machine), and so does http.client (a buffered
    file and the email package's parser for every answer's head): README, Performance. What
    matters is kept: the certificate and host name checked by the shared TLS context; httpx's
    timeouts for connecting, sending and reading; no request sent on a connection idle longer
    than KEEPALIVE_EXPIRY_S or one the server has closed; at most MAX_IDLE_PER_ORIGIN kept;
    and httpx's exceptions, with httpx.ConnectError only when not a byte of the request was
    sent.
    """

    def __init__(self, ssl_context: ssl.SSLContext) -> None:
        self._ssl_context = ssl_context
        # By origin, each connection with the time it went idle, oldest first.
        self._idle: dict[_Origin, deque[tuple[socket.socket, float]]] = {}
        self._lock = threading.Lock()
        self._closed = False
        self._pruned_at = time.monotonic()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.send(
            request.method,
            request.url,
            request.headers.raw,
            request.content,
            request.extensions.get("timeout", {}),
        )

    def send(
        self,
        method: str,
        url: httpx.URL,
        headers: list[tuple[bytes, bytes]],
        content: bytes,
        timeouts: dict[str, float | None],
    ) -> httpx.Response:
        """What handle_request does, from a request's parts: `headers` complete, Host and
        Content-Length included (UpstreamClient.post, which builds no httpx.Request)."""
        if url.scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(
                "Request URL is missing an 'http://' or 'https://' protocol."
            )
        port = url.port or (443 if url.scheme == "https" else 80)
        origin = (url.scheme, url.raw_host.decode("ascii"), port)
        sock = self._idle_connection(origin) or self._connect(origin, timeouts.get("connect"))
        try:
            answer = _exchange(sock, method, url.raw_path, headers, content, timeouts)
        except BaseException:
            sock.close()
            raise
        if answer.keep_alive:
            self._keep(origin, sock)
        else:
            sock.close()
        return httpx.Response(
            answer.status,
            headers=answer.headers,  # exactly the bytes received
            stream=httpx.ByteStream(answer.body),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": answer.reason},
        )

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for sock, _since in connections:
                sock.close()

    def _idle_connection(self, origin: _Origin) -> socket.socket | None:
        """The connection to `origin` used last, if one is idle and fit to carry a request.
        Connections idle too long, and one found closed by the server, are closed."""
        while True:
            with self._lock:
                idle = self._idle.get(origin)
                stale = _expired(idle, time.monotonic() - KEEPALIVE_EXPIRY_S) if idle else []
                found = idle.pop()[0] if idle else None
            for sock in stale:
                sock.close()
            if found is None or not _has_input(found):
                return found
            found.close()

    def _keep(self, origin: _Origin, sock: socket.socket) -> None:
        now = time.monotonic()
        with self._lock:
            if self._closed:
                surplus = [sock]
            else:
                idle = self._idle.setdefault(origin, deque())
                idle.append((sock, now))
                surplus = [idle.popleft()[0]] if len(idle) > MAX_IDLE_PER_ORIGIN else []
                if now - self._pruned_at >= 1.0:  # and the License APIs no longer called
                    self._pruned_at = now
                    for connections in self._idle.values():
                        surplus += _expired(connections, now - KEEPALIVE_EXPIRY_S)
        for extra in surplus:
            extra.close()

    def _connect(self, origin: _Origin, timeout: float | None) -> socket.socket:
        scheme, host, port = origin
        try:
            sock = socket.create_connection((host, port), timeout)
        except TimeoutError:
            raise httpx.ConnectTimeout("timed out") from None
        except OSError as exc:  # refused, unreachable, unknown name
            raise httpx.ConnectError(str(exc)) from None
        try:
            # The request goes out in one write: nothing to gain from waiting to fill a packet.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if scheme == "https":  # the certificate and host name are checked here
                sock = self._ssl_context.wrap_socket(sock, server_hostname=host)
        except TimeoutError:
            sock.close()
            raise httpx.ConnectTimeout("timed out") from None
        except OSError as exc:  # the TLS handshake failed, or the certificate was refused
            sock.close()
            raise httpx.ConnectError(str(exc)) from None
        return sock


def _exchange(
    sock: socket.socket,
    method: str,
    target: bytes,
    headers: list[tuple[bytes, bytes]],
    content: bytes,
    timeouts: dict[str, float | None],
) -> http11.Answer:
    """Send a request and read the whole answer, with httpx's timeouts and exceptions."""
    try:
        data = http11.encode_request(method.encode("ascii"), target, headers, content)
    except ValueError:  # quoting nothing: the header may be the signature
        raise httpx.LocalProtocolError("Illegal header name or value") from None
    try:
        # An idle connection's send buffer is empty and takes a whole request at once, so the
        # write timeout is only set when part of it has to wait (each setting is a system call).
        sent = sock.send(data)
        if sent < len(data):
            _set_timeout(sock, timeouts.get("write"))
            sock.sendall(memoryview(data)[sent:])
    except TimeoutError:
        raise httpx.WriteTimeout("timed out") from None
    except OSError as exc:
        raise httpx.WriteError(str(exc)) from None
    try:
        _set_timeout(sock, timeouts.get("read"))
        return http11.read_answer(sock)
    except TimeoutError:
        raise httpx.ReadTimeout("timed out") from None
    except http11.ProtocolError as exc:  # none, a malformed one, one cut short, one too large
        raise httpx.RemoteProtocolError(str(exc)) from None
    except OSError as exc:
        raise httpx.ReadError(str(exc)) from None


def _expired(idle: deque[tuple[socket.socket, float]], before: float) -> list[socket.socket]:
    """Take the connections idle since before `before` off the old end of `idle`."""
    stale = []
    while idle and idle[0][1] < before:
        stale.append(idle.popleft()[0])
    return stale


def _set_timeout(sock: socket.socket, seconds: float | None) -> None:
    if sock.gettimeout() != seconds:
        sock.settimeout(seconds)


def _has_input(sock: socket.socket) -> bool:
    """Whether an idle connection has something to read: the server closed it (or sent what
    nobody asked for), so it must not carry a request."""
    poller = select.poll()
    poller.register(sock, _READABLE)
    return bool(poller.poll(0))


@functools.lru_cache(maxsize=256)
def _url(text: str) -> httpx.URL:
    """Parsed once: a tenant's endpoint URLs are a handful of strings, parsed on every upload."""
    return httpx.URL(text)


def _proxy_for(url: httpx.URL, proxies: dict[str, str]) -> str | None:
    """The proxy the environment's `proxies` (urllib.request.getproxies_environment) name for
    this URL, or None."""
    proxy = proxies.get(url.scheme) or proxies.get("all")
    if not proxy or urllib.request.proxy_bypass_environment(url.host, proxies):
        return None
    return proxy if "://" in proxy else f"http://{proxy}"


def build_client(transport: httpx.BaseTransport | None = None) -> UpstreamClient:
    """A client configured from settings; tests pass a fake `transport`."""
    connect = settings.LICENSE_API_CONNECT_TIMEOUT
    # The body is at most 64 KiB, so sending it or waiting for a pooled connection deserves
    # no more patience than connecting does.
    timeout = httpx.Timeout(
        connect=connect, read=settings.LICENSE_API_READ_TIMEOUT, write=connect, pool=connect
    )
    return UpstreamClient(timeout=timeout, transport=transport)


def get_client() -> UpstreamClient:
    """The process's client, built on first use."""
    global _client
    client = _client
    if client is None:
        with _client_lock:
            if _client is None:
                _client = build_client()
            client = _client
    return client


def set_client(client: UpstreamClient | None) -> None:
    """Replace the process's client (tests); None makes the next request build a fresh one.

    The replaced client is closed, so call this only when no request is in flight.
    """
    global _client
    with _client_lock:
        previous, _client = _client, client
    if previous is not None and previous is not client:
        previous.close()


def close_client() -> None:
    set_client(None)


@sensitive_variables()
def sign(shared_key: str, date: str) -> str:
    message = f"licenseSpring\ndate: {date}"
    digest = hmac.new(shared_key.encode(), message.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


@sensitive_variables()
def auth_headers(credentials: Credentials, date: str) -> dict[str, str]:
    """The `Date` and API-key `Authorization` headers for a request sent at `date`."""
    signature = sign(credentials.shared_key, date)
    authorization = (
        f'algorithm="hmac-sha256",headers="date",signature="{signature}",'
        f'apiKey="{credentials.api_key}"'
    )
    return {"Date": date, "Authorization": authorization}


@sensitive_variables()
def post_request(*, credentials: Credentials, endpoint: Endpoint, body: str) -> UpstreamResponse:
    """POST a request file's text to `{api_url}/{endpoint}`; return the 200 response."""
    client = get_client()
    url = f"{credentials.api_url}/{endpoint}"
    content = body.encode("utf-8")
    started = time.perf_counter()
    token_ms = None
    try:
        if credentials.uses_oauth:
            response, token_ms = _send_with_token(client, url, content, credentials)
        else:
            response = _send(client, url, content, credentials)
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        # `from None`: the httpx exception holds the signed request, and error reports
        # print a chained exception's frames and their variables.
        raise _error_from_exception(exc, client.timeout, _since(started)) from None
    except oauth.TokenError as exc:
        raise LicenseApiError(
            status=exc.status,
            code=exc.code,
            message=exc.message,
            elapsed_ms=_since(started),
            token_ms=exc.fetch_ms,
        ) from None
    elapsed_ms = _since(started)
    if response.is_success:
        return UpstreamResponse(
            status=response.status_code,
            body=response.content,
            elapsed_ms=elapsed_ms,
            token_ms=token_ms,
        )
    error = _error_from_response(response, elapsed_ms)
    error.token_ms = token_ms
    raise error


@sensitive_variables()
def _send(
    client: UpstreamClient,
    url: str,
    content: bytes,
    credentials: Credentials,
    token: oauth.Token | None = None,
) -> httpx.Response:
    try:
        return client.post(url, content=content, headers=_request_headers(credentials, token))
    except httpx.ConnectError:
        # The request never reached the server, so one more try cannot activate twice.
        # Anything that fails later may have been acted on upstream and is never retried.
        return client.post(url, content=content, headers=_request_headers(credentials, token))


# --- OAuth (portal/licensespring/oauth.py): a Bearer token instead of the API-key signature.
_TOKEN_REFUSED = frozenset({"oauth_token_expired", "oauth_token_malformed"})


@sensitive_variables()
def _send_with_token(
    client: UpstreamClient, url: str, content: bytes, credentials: Credentials
) -> tuple[httpx.Response, float | None]:
    """The call with the process's token for these credentials; a token the API calls expired
    or malformed is dropped and the call sent once more with a new one (safe: the API refused
    the call before acting on it). Returns the answer and the time spent fetching tokens."""
    token = _bearer_token(client, credentials)
    token_ms = token.fetch_ms
    response = _send(client, url, content, credentials, token)
    if response.status_code in (400, 401, 403) and _error_code(response) in _TOKEN_REFUSED:
        oauth.tokens.drop(token)
        token = _bearer_token(client, credentials)
        if token.fetch_ms is not None:
            token_ms = (token_ms or 0.0) + token.fetch_ms
        response = _send(client, url, content, credentials, token)
    return response, token_ms


@sensitive_variables()
def _bearer_token(client: UpstreamClient, credentials: Credentials) -> oauth.Token:
    return oauth.tokens.bearer_token(
        client,
        api_url=credentials.api_url,
        client_id=credentials.client_id,
        client_secret=credentials.client_secret,
        token_url=credentials.token_url,
    )


def _error_code(response: httpx.Response) -> object:
    return (_json_object(response.content) or {}).get("code")


# --- end of OAuth


def _request_headers(credentials: Credentials, token: oauth.Token | None = None) -> dict[str, str]:
    # The Date has whole seconds, so within a second a tenant's headers are the same: made
    # once (its date, HMAC and strings cost 10 us, against 0.3 us to look them up).
    date = _http_date(int(time.time()))
    if token is not None:  # OAuth
        return {**_PLAIN_HEADERS, "Date": date, "Authorization": f"Bearer {token.value}"}
    return dict(_signed_headers(credentials, date))


@functools.lru_cache(maxsize=1)
def _http_date(seconds: int) -> str:
    return formatdate(seconds, usegmt=True)


_PLAIN_HEADERS = {
    "Content-Type": "text/plain",
    "Accept": "application/json",
    "User-Agent": USER_AGENT,
}


@functools.lru_cache(maxsize=64)  # a second's worth of tenants
def _signed_headers(credentials: Credentials, date: str) -> tuple[tuple[str, str], ...]:
    headers = auth_headers(credentials, date)
    headers.update(_PLAIN_HEADERS)
    return tuple(headers.items())


def _error_from_response(response: httpx.Response, elapsed_ms: float) -> LicenseApiError:
    status = response.status_code
    payload = _json_object(response.content)
    if status == 429:
        # Proxies and gateways rate-limit too, with any body: the status alone is enough.
        return LicenseApiError(
            status=status,
            code=_text((payload or {}).get("code")) or "rate_limited",
            message=_upstream_message(payload or {}, response),
            retry_after=_parse_retry_after(response.headers.get("Retry-After")),
            elapsed_ms=elapsed_ms,
        )
    if 400 <= status < 500 and payload is not None:
        return LicenseApiError(
            status=status,
            code=_text(payload.get("code")) or f"http_{status}",
            message=_upstream_message(payload, response),
            elapsed_ms=elapsed_ms,
        )
    # A 5xx, a redirect or an error page that is not JSON comes from a crash or from a proxy
    # in front of the API, not from its licensing logic: to the user, the service is down.
    return LicenseApiError(
        status=502, code="service_unreachable", message=f"HTTP {status}", elapsed_ms=elapsed_ms
    )


def _error_from_exception(
    exc: httpx.HTTPError | httpx.InvalidURL, timeout: httpx.Timeout, elapsed_ms: float
) -> LicenseApiError:
    if isinstance(exc, httpx.TimeoutException):
        status, code, message = 504, "service_timeout", _describe_timeout(exc, timeout)
    else:
        status, code, message = 502, "service_unreachable", _describe_failure(exc)
    return LicenseApiError(status=status, code=code, message=message, elapsed_ms=elapsed_ms)


def _describe_timeout(exc: httpx.TimeoutException, timeout: httpx.Timeout) -> str:
    if isinstance(exc, httpx.ConnectTimeout):
        return _within("No connection within", timeout.connect)
    if isinstance(exc, httpx.ReadTimeout):
        return _within("No answer within", timeout.read)
    if isinstance(exc, httpx.WriteTimeout):
        return _within("Could not send the request within", timeout.write)
    return _within("No free connection within", timeout.pool)


def _within(text: str, seconds: float | None) -> str:
    return "Timed out" if seconds is None else f"{text} {seconds:g} s"


def _describe_failure(exc: httpx.HTTPError | httpx.InvalidURL) -> str:
    if isinstance(exc, httpx.ConnectError):
        # Socket and TLS errors name their cause ("Connection refused", "certificate verify
        # failed") and are raised before a byte of the request is written.
        return _ERRNO_PREFIX.sub("", str(exc)).strip()[:MAX_DETAIL_CHARS] or "Could not connect"
    if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol):
        return "Invalid License API URL"
    # Only the kind of the other errors: their text can quote the request (h11 echoes an
    # illegal header value, which would be the signed Authorization header).
    return type(exc).__name__


def _json_object(content: bytes) -> dict[str, object] | None:
    try:
        value = json.loads(content)
    except ValueError:  # also covers bytes that are not UTF-8
        return None
    return value if isinstance(value, dict) else None


def _upstream_message(payload: dict[str, object], response: httpx.Response) -> str:
    # `detail` is what the API's framework says when the failure happens before its own
    # error handling (authentication, throttling).
    return (
        _text(payload.get("message"))
        or _text(payload.get("detail"))
        or response.reason_phrase
        or f"HTTP {response.status_code}"
    )


def _text(value: object) -> str:
    if value is None:
        return ""
    # A validation error's message can be a structure of field errors.
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text.strip()[:MAX_DETAIL_CHARS]


def _parse_retry_after(value: str | None) -> int | None:
    """Seconds to wait, from delay-seconds or an HTTP date (RFC 9110, section 10.2.3)."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return max(1, int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000" parses as naive, and means UTC
        when = when.replace(tzinfo=UTC)
    return max(1, math.ceil((when - datetime.now(UTC)).total_seconds()))


def _since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
