"""OAuth 2.0 client credentials for the License API: Bearer tokens, fetched and kept per process.

A vendor can make OAuth mandatory for its company; the API then refuses API keys and wants
`Authorization: Bearer <token>` (protocol spec, section 2). A token is fetched with the
client id and secret (form-encoded, `grant_type=client_credentials`) from the token URL, which
is either configured or found through `GET {api_url}/oauth_url?login_type=client_credentials`.

Tokens are kept per (token URL, client id), shared by every thread of the process and fetched
again shortly before they expire. However many threads need a token at once, one fetches it
and the others wait for that fetch (a lock per key). Nothing here puts a token or a secret
into an exception's text; the one log line (a refused client, for the operator) names the
client id and the token URL only.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Protocol
from urllib.parse import urlencode

import httpx

logger = logging.getLogger("portal.licensespring.oauth")

# A token is fetched again this long before it expires (at most a quarter of its life), so a
# call sent with it is not refused on the way.
REFRESH_MARGIN_S = 60.0
MAX_DETAIL_CHARS = 300


class HttpClient(Protocol):
    """What is needed of the process's httpx client (httpx.Client has both)."""

    def post(self, url: str, *, content: bytes, headers: dict[str, str]) -> httpx.Response: ...

    def get(self, url: str, *, headers: dict[str, str]) -> httpx.Response: ...


class TokenError(Exception):
    """No token: the client was refused (`invalid_client`, status 401) or the token service
    could not be reached or answered nonsense (`service_unreachable`, status 502)."""

    def __init__(self, *, status: int, code: str, message: str, fetch_ms: float = 0.0) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.fetch_ms = fetch_ms

    def copy(self) -> TokenError:
        return TokenError(
            status=self.status, code=self.code, message=self.message, fetch_ms=self.fetch_ms
        )


@dataclass(frozen=True)
class Token:
    key: tuple[str, str] = field(repr=False)  # (token URL, client id)
    value: str = field(repr=False)
    refresh_at: float = field(repr=False)  # time.monotonic()
    # How long this caller spent fetching it; None when it came from the cache or another
    # thread's fetch.
    fetch_ms: float | None = None


@dataclass
class _Slot:
    lock: threading.Lock = field(default_factory=threading.Lock)
    token: Token | None = None
    fetches: int = 0
    failure: TokenError | None = None


class TokenCache:
    """The process's tokens and discovered token URLs."""

    def __init__(self) -> None:
        self._slots: dict[tuple[str, str], _Slot] = {}
        self._token_urls: dict[str, str] = {}  # by API URL
        self._discovery_locks: dict[str, threading.Lock] = {}  # by API URL
        self._lock = threading.Lock()

    def bearer_token(
        self,
        http: HttpClient,
        *,
        api_url: str,
        client_id: str,
        client_secret: str,
        token_url: str = "",
    ) -> Token:
        """A token that is not about to expire: the kept one, or one fetched now."""
        key = (token_url or self._token_url(http, api_url), client_id)
        slot = self._slot(key)
        token = slot.token
        if token is not None and time.monotonic() < token.refresh_at:
            return token
        fetches_seen = slot.fetches
        with slot.lock:
            token = slot.token
            if token is not None and time.monotonic() < token.refresh_at:
                return token
            if slot.fetches != fetches_seen and slot.failure is not None:
                # The fetch this thread waited for failed: its answer stands for everyone
                # who waited, rather than each asking again in turn.
                raise slot.failure.copy()
            slot.fetches += 1
            try:
                token = _fetch_token(http, key, client_secret)
            except TokenError as error:
                slot.token, slot.failure = None, error
                raise
            slot.token, slot.failure = replace(token, fetch_ms=None), None
            return token

    def drop(self, token: Token) -> None:
        """Forget `token` (the API called it expired or malformed), unless already replaced."""
        slot = self._slot(token.key)
        with slot.lock:
            if slot.token is not None and slot.token.value == token.value:
                slot.token = None

    def clear(self) -> None:
        with self._lock:
            self._slots.clear()
            self._token_urls.clear()
            self._discovery_locks.clear()

    def _slot(self, key: tuple[str, str]) -> _Slot:
        slot = self._slots.get(key)
        if slot is None:
            with self._lock:
                slot = self._slots.setdefault(key, _Slot())
        return slot

    def _token_url(self, http: HttpClient, api_url: str) -> str:
        url = self._token_urls.get(api_url)
        if url is None:
            with self._lock:
                lock = self._discovery_locks.setdefault(api_url, threading.Lock())
            with lock:  # one question at a time per API, like the token fetches
                url = self._token_urls.get(api_url)
                if url is None:
                    url = self._token_urls[api_url] = discover_token_url(http, api_url)
        return url


def discover_token_url(http: HttpClient, api_url: str) -> str:
    """The token URL the License API names: `GET {api_url}/oauth_url`."""
    started = time.perf_counter()
    try:
        response = http.get(
            f"{api_url}/oauth_url?login_type=client_credentials",
            headers={"Accept": "application/json"},
        )
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise _unreachable(f"oauth_url: {type(exc).__name__}", started) from None
    url = (_json_object(response.content) or {}).get("url")
    if response.status_code != 200 or not isinstance(url, str) or "://" not in url:
        raise _unreachable(f"oauth_url: HTTP {response.status_code}", started)
    return url


def _fetch_token(http: HttpClient, key: tuple[str, str], client_secret: str) -> Token:
    token_url, client_id = key
    form = {"grant_type": "client_credentials", "client_id": client_id}
    form["client_secret"] = client_secret
    started = time.perf_counter()
    try:
        response = http.post(
            token_url,
            content=urlencode(form).encode("ascii"),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            },
        )
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        # Only the kind: an httpx error's text may quote the request, which holds the secret.
        raise _unreachable(f"token: {type(exc).__name__}", started) from None
    payload = _json_object(response.content) or {}
    if 400 <= response.status_code < 500 and response.status_code != 429:
        # Wrong credentials (`invalid_client`), a client not allowed this grant, a wrong token
        # URL: the operator's to fix, and asking again will not help.
        refusal = _detail(payload.get("error")) or f"HTTP {response.status_code}"
        logger.error(
            "OAuth token refused for client %s at %s: %s",
            client_id,
            token_url,
            refusal,
            extra={"event": "oauth_token_refused", "client_id": client_id},
        )
        raise TokenError(
            status=401,
            code="invalid_client",
            message=_detail(payload.get("error_description")) or refusal,
            fetch_ms=_since(started),
        )
    value, lifetime = payload.get("access_token"), payload.get("expires_in")
    if response.status_code != 200 or not isinstance(value, str) or not value:
        raise _unreachable(f"token: HTTP {response.status_code}", started)
    seconds = float(lifetime) if isinstance(lifetime, int | float) and lifetime > 0 else 60.0
    # Counted from before the request went out, so the token is never older than believed.
    refresh_at = time.monotonic() - _since(started) / 1000 + seconds
    refresh_at -= min(REFRESH_MARGIN_S, seconds / 4)
    return Token(key=key, value=value, refresh_at=refresh_at, fetch_ms=_since(started))


def _unreachable(message: str, started: float) -> TokenError:
    return TokenError(
        status=502, code="service_unreachable", message=message, fetch_ms=_since(started)
    )


def _json_object(content: bytes) -> dict[str, object] | None:
    try:
        value = json.loads(content)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _detail(value: object) -> str:
    return value.strip()[:MAX_DETAIL_CHARS] if isinstance(value, str) else ""


def _since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


tokens = TokenCache()
