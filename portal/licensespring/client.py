"""The License API client: relays a request file, signed per the protocol spec (signing.py),
and reads the answer.

One `httpx.Client` per process, whose kept-alive connections a worker's threads share, built
from explicit settings (portal/relay/upstream.py builds it from Django's). The same path serves
a License API reached directly, one behind the proxy the environment names, and the tests
(which give it an `httpx.MockTransport`). No redirect is followed (it would replay an
activation somewhere we were not told to) and no cookie is kept (every tenant shares the
client: one tenant's upstream cookie must never ride along on another's request).

Each relay has one deadline covering connecting, sending and the whole answer (transport.py).
An answer is read up to a size limit, and an activation answer must be a license for the
file that asked for it (answers.py); a refused answer's connection is closed, never pooled.

Nothing here logs: this module handles secrets (the shared key, the signed Authorization
header, request bodies that may hold an end user's password).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Literal

import httpx

from portal.licensespring import oauth
from portal.licensespring.answers import (
    check_activation_answer,
    check_plain,
    drop_connection,
    read_answer,
)
from portal.licensespring.errors import (
    LicenseApiError,
    error_code,
    error_from_exception,
    error_from_response,
)
from portal.licensespring.request_files import RequestFile
from portal.licensespring.signing import request_headers
from portal.licensespring.transport import DeadlineTransport, proxy_mounts, relay_deadline

Endpoint = Literal[
    "activate_offline",
    "deactivate_offline",
    "activate_bundle_offline",
    "deactivate_bundle_offline",
]

USER_AGENT = "OfflinePortal/0.1"
LIMITS = httpx.Limits(
    max_connections=None,  # a worker's threads bound them
    # As many idle connections as a worker's threads (64 by default) may have used at once.
    max_keepalive_connections=64,
    # An idle connection is not used again after this long. Servers close theirs after 5 s
    # (gunicorn, uvicorn) to 60 s or more (load balancers), and a request sent as the server
    # closes fails without a retry (it may have arrived): stay below the shortest.
    keepalive_expiry=4.0,
)
# What a client may be given in place of its own transport (tests: httpx.MockTransport), named
# here so that code outside this package need not import httpx.
Transport = httpx.BaseTransport

__all__ = [
    "Credentials",
    "Endpoint",
    "LicenseApiClient",
    "LicenseApiError",
    "Transport",
    "UpstreamResponse",
]


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
    body: bytes  # exact bytes of the 2xx body: the license file is base64 of these
    elapsed_ms: float
    token_ms: float | None = None  # time spent fetching an OAuth token, when one was fetched


class LicenseApiClient:
    """Relays request files to License APIs (every tenant's), on pooled connections."""

    def __init__(
        self,
        *,
        connect_timeout: float,
        read_timeout: float,
        deadline: float,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.deadline = deadline  # seconds a relay may take in all
        # The body is at most 64 KiB, so sending it or waiting for a pooled connection
        # deserves no more patience than connecting does.
        self.timeout = httpx.Timeout(
            connect=connect_timeout, read=read_timeout, write=connect_timeout, pool=connect_timeout
        )
        self._http = httpx.Client(
            transport=transport or DeadlineTransport(limits=LIMITS),
            mounts=None if transport else proxy_mounts(LIMITS),
            timeout=self.timeout,
            follow_redirects=False,
            cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),  # refuses all
            trust_env=False,  # the proxies are read above; nothing else from the environment
            headers={
                "Accept": "application/json",
                "Accept-Encoding": "identity",  # the license file is the body as sent
                "User-Agent": USER_AGENT,
            },
        )

    def post(
        self,
        *,
        credentials: Credentials,
        endpoint: Endpoint,
        request_file: RequestFile,
        deadline: float | None = None,
    ) -> UpstreamResponse:
        """POST the file's text to `{api_url}/{endpoint}`; return the 2xx answer, or raise
        LicenseApiError. `deadline` (a time.monotonic() value) ends the call; by default, the
        client's deadline from now."""
        started = time.perf_counter()
        at = time.monotonic() + self.deadline if deadline is None else deadline
        tokens = _TokenTime()
        try:
            with relay_deadline(at):
                status, body = self._exchange(credentials, endpoint, request_file, tokens)
        except LicenseApiError as error:
            error.elapsed_ms, error.token_ms = _since(started), tokens.ms
            raise
        except oauth.TokenError as exc:
            raise LicenseApiError(
                status=exc.status,
                code=exc.code,
                message=exc.message,
                elapsed_ms=_since(started),
                token_ms=tokens.add(exc.fetch_ms),
            ) from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            error = error_from_exception(exc, timed_out=self._describe_timeout(exc, at))
            error.elapsed_ms = _since(started)
            # `from None`: the httpx exception holds the signed request, and error reports
            # print a chained exception's frames and their variables.
            raise error from None
        return UpstreamResponse(
            status=status, body=body, elapsed_ms=_since(started), token_ms=tokens.ms
        )

    def close(self) -> None:
        """Close every connection (call it when no request is in flight)."""
        self._http.close()

    @property
    def is_closed(self) -> bool:
        return self._http.is_closed

    def _exchange(
        self,
        credentials: Credentials,
        endpoint: Endpoint,
        request_file: RequestFile,
        tokens: _TokenTime,
    ) -> tuple[int, bytes]:
        url = f"{credentials.api_url}/{endpoint}"
        content = request_file.text.encode("utf-8")
        token = self._bearer_token(credentials, tokens)
        response = self._send_once_more_if_refused(url, content, credentials, token)
        if token is not None and response.status_code in (400, 401, 403):
            # A token the API calls expired or malformed: it refused the call before acting on
            # it, so the call is sent once more with a new token.
            error_body = read_answer(response)
            response.close()
            if error_code(error_body) not in _TOKEN_REFUSED:
                raise error_from_response(response.status_code, response.headers, error_body)
            oauth.tokens.drop(token)
            token = self._bearer_token(credentials, tokens)
            response = self._send_once_more_if_refused(url, content, credentials, token)
        try:
            body = read_answer(response)
            if response.is_success and endpoint.startswith("activate"):
                check_plain(response)
                check_activation_answer(request_file, body)
        except LicenseApiError:
            drop_connection(response)
            raise
        finally:
            response.close()
        if not response.is_success:
            raise error_from_response(response.status_code, response.headers, body)
        return response.status_code, body

    def _send_once_more_if_refused(
        self, url: str, content: bytes, credentials: Credentials, token: oauth.Token | None
    ) -> httpx.Response:
        try:
            return self._send(url, content, credentials, token)
        except httpx.ConnectError:
            # The request never reached the server, so one more try cannot activate twice.
            # Anything that fails later may have been acted on upstream and is never retried.
            return self._send(url, content, credentials, token)

    def _bearer_token(self, credentials: Credentials, tokens: _TokenTime) -> oauth.Token | None:
        """The process's OAuth token for these credentials (None for API-key credentials),
        fetched through this client when none is kept."""
        if not credentials.uses_oauth:
            return None
        token = oauth.tokens.bearer_token(
            self._http,
            api_url=credentials.api_url,
            client_id=credentials.client_id,
            client_secret=credentials.client_secret,
            token_url=credentials.token_url,
        )
        tokens.add(token.fetch_ms)
        return token

    def _send(
        self, url: str, content: bytes, credentials: Credentials, token: oauth.Token | None
    ) -> httpx.Response:
        try:
            request = self._http.build_request(
                "POST", url, content=content, headers=request_headers(credentials, token)
            )
        except UnicodeEncodeError:  # a key a header cannot carry; not quoted: it may be secret
            raise httpx.LocalProtocolError("Illegal header value") from None
        return self._http.send(request, stream=True)

    def _describe_timeout(self, exc: Exception, at: float) -> str:
        if time.monotonic() >= at:
            return f"No complete answer within {self.deadline:g} s"
        if isinstance(exc, httpx.ConnectTimeout):
            return f"No connection within {self.timeout.connect:g} s"
        if isinstance(exc, httpx.ReadTimeout):
            return f"No answer within {self.timeout.read:g} s"
        if isinstance(exc, httpx.WriteTimeout):
            return f"Could not send the request within {self.timeout.write:g} s"
        return f"No free connection within {self.timeout.pool:g} s"


_TOKEN_REFUSED = frozenset({"oauth_token_expired", "oauth_token_malformed"})


class _TokenTime:
    """Milliseconds one relay spent fetching OAuth tokens; None when it fetched none."""

    def __init__(self) -> None:
        self.ms: float | None = None

    def add(self, ms: float | None) -> float | None:
        if ms is not None:
            self.ms = (self.ms or 0.0) + ms
        return self.ms


def _since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
