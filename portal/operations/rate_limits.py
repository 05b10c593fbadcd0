"""The rate limit on uploads and the API: PORTAL_RATE_LIMIT requests per client address and
tenant in each window of PORTAL_RATE_LIMIT_WINDOW seconds.

The counters live in the database, the one store every worker and instance already shares:
fixed windows, one row per tenant, client and window. A hit is one UPDATE of `hits + 1` where
that stays within the limit, decided in the database, so that concurrent requests neither lose
a count nor pass the limit together, in one statement a request; the window's first hit
creates the row instead. (Django's cache API was the other way: its database cache's incr()
reads, then writes, and loses counts under load.)
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from datetime import UTC, datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from portal.operations import metrics
from portal.operations.models import RateLimitCounter
from portal.relay.errors import RelayError

logger = logging.getLogger("portal.rate_limits")

MESSAGE = _(
    "Too many requests from your network in a short time. Please wait a moment, then try again."
)


def enforce_rate_limit(request: HttpRequest, *, tenant_slug: str) -> None:
    """Count this request; raise a 429 RelayError (with retry_after) when over the limit."""
    enforce_client_rate_limit(client_address(request), tenant_slug=tenant_slug)


def enforce_client_rate_limit(client: str, *, tenant_slug: str) -> None:
    """The same for one upload of `client` made outside a request (a batch's files)."""
    _enforce(settings.PORTAL_RATE_LIMIT, f"{tenant_slug}|{client}", tenant_slug=tenant_slug)


def enforce_check_rate_limit(request: HttpRequest, *, tenant_slug: str, files: int = 1) -> None:
    """Count `files` request files checked and kept (encrypted) for their confirmation: at most
    PORTAL_CHECK_RATE_LIMIT a window, so that nobody fills the database with files never sent."""
    bucket = f"check|{tenant_slug}|{client_address(request)}"
    _enforce(settings.PORTAL_CHECK_RATE_LIMIT, bucket, tenant_slug=tenant_slug, hits=files)


def _enforce(limit: int, key: str, *, tenant_slug: str, hits: int = 1) -> None:
    if not limit:
        return
    window = settings.PORTAL_RATE_LIMIT_WINDOW
    now = time.time()
    window_start = int(now // window * window)
    window_end = window_start + window
    expires_at = datetime.fromtimestamp(window_end, UTC)
    counted = _count_within(f"{key}|{window_start}", limit, hits=hits, expires_at=expires_at)
    if counted is None:  # a new window for this client: a good moment to drop finished ones
        # Those that ended a window ago or more: a request counted at the end of the window
        # just ended may still be counting on its row (_count_within).
        finished = datetime.fromtimestamp(now - window, UTC)
        RateLimitCounter.objects.filter(expires_at__lte=finished).delete()
    elif not counted:
        retry_after = max(1, math.ceil(window_end - now))
        logger.info(
            "rate limited",
            extra={
                "event": "rate_limited",
                "tenant": tenant_slug,
                "client": key.rsplit("|", 1)[-1],
                "limit": limit,
                "retry_after": retry_after,
            },
        )
        metrics.record_rate_limited(tenant=tenant_slug)
        raise RelayError(429, "rate_limited", str(MESSAGE), retry_after=retry_after)


def client_address(request: HttpRequest) -> str:
    """The client's address: the peer's, or with PORTAL_TRUSTED_PROXY_COUNT = n proxies in
    front, the X-Forwarded-For entry the outermost of them added (the n-th from the right;
    entries further left come from the client and prove nothing). An IPv6 client counts as
    its /64 network, which one user can fill with addresses at will."""
    address = request.META.get("REMOTE_ADDR", "")
    proxies = settings.PORTAL_TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        entries = [entry.strip() for entry in forwarded.split(",")]
        if len(entries) >= proxies and _parse_address(entries[-proxies]) is not None:
            address = entries[-proxies]
    parsed = _parse_address(address)
    if parsed is None:
        return "unknown"
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{parsed}/64", strict=False))
    return str(parsed)


def _parse_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _count_within(bucket: str, limit: int, *, hits: int, expires_at: datetime) -> bool | None:
    """Add `hits` to the bucket if its count stays within `limit`: True when counted, False
    when over the limit (nothing counted), None when these hits made the bucket's row."""
    if hits > limit:  # more at once (a batch) than the whole window allows
        return False
    within = RateLimitCounter.objects.filter(bucket=bucket, hits__lte=limit - hits)
    if within.update(hits=F("hits") + hits):
        return True
    if RateLimitCounter.objects.filter(bucket=bucket).exists():
        # Full, or made by another request since the UPDATE above: ask the database again.
        return bool(within.update(hits=F("hits") + hits))
    try:
        with transaction.atomic():
            RateLimitCounter.objects.create(bucket=bucket, hits=hits, expires_at=expires_at)
        return None
    except IntegrityError:  # another request made it first: count on it
        return bool(within.update(hits=F("hits") + hits))
