"""Prometheus metrics: relays by outcome, upstream and total latency, OAuth token fetches,
rate-limit refusals.

Recorded and served at /metrics only when PORTAL_METRICS_ENABLED: off, they cost an upload
nothing (recording one relay takes 15 us). gunicorn's workers are separate processes:
with PROMETHEUS_MULTIPROC_DIR set (gunicorn.conf.py sets it when metrics are on) each worker
writes its samples to files there, and a scrape adds up every worker's files.
"""

from __future__ import annotations

import hmac
import os
import re

from django.conf import settings
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 2, 5, 10, 30, 60)
# Error codes become label values: only code-shaped ones, so no upstream text can blow up the
# number of series.
_CODE = re.compile(r"[a-z0-9_]{1,48}")

RELAYS = Counter(
    "portal_relays",
    "Request files relayed, by tenant, kind, outcome (ok, reused, refused before any upstream "
    "call, error from upstream) and error code.",
    ["tenant", "kind", "outcome", "code"],
)
UPSTREAM_SECONDS = Histogram(
    "portal_relay_upstream_seconds",
    "License API call time of a relay, by endpoint.",
    ["endpoint"],
    buckets=_SECONDS,
)
TOTAL_SECONDS = Histogram(
    "portal_relay_seconds",
    "Time from a request file's arrival to its result or error, by kind and outcome.",
    ["kind", "outcome"],
    buckets=_SECONDS,
)
TOKEN_FETCHES = Counter(
    "portal_oauth_token_fetches",
    "OAuth tokens fetched from the token service (vendors on OAuth), by tenant.",
    ["tenant"],
)
TOKEN_SECONDS = Histogram(
    "portal_oauth_token_fetch_seconds",
    "Time to fetch an OAuth token, or to fail to.",
    buckets=_SECONDS,
)
RATE_LIMITED = Counter(
    "portal_rate_limited",
    "Uploads and API calls refused by the rate limit, by tenant.",
    ["tenant"],
)


def record_relay(
    *,
    tenant: str,
    kind: str | None,
    outcome: str,
    code: str | None,
    endpoint: str | None,
    upstream_ms: float | None,
    total_ms: float,
    token_ms: float | None = None,
) -> None:
    if not settings.PORTAL_METRICS_ENABLED:
        return
    kind = kind or "unknown"
    code = code if code and _CODE.fullmatch(code) else ("other" if code else "")
    RELAYS.labels(tenant=tenant, kind=kind, outcome=outcome, code=code).inc()
    TOTAL_SECONDS.labels(kind=kind, outcome=outcome).observe(total_ms / 1000)
    if endpoint and upstream_ms is not None:
        UPSTREAM_SECONDS.labels(endpoint=endpoint).observe(upstream_ms / 1000)
    if token_ms is not None:
        TOKEN_FETCHES.labels(tenant=tenant).inc()
        TOKEN_SECONDS.observe(token_ms / 1000)


def record_rate_limited(*, tenant: str) -> None:
    if not settings.PORTAL_METRICS_ENABLED:
        return
    RATE_LIMITED.labels(tenant=tenant).inc()


def render_metrics() -> tuple[bytes, str]:
    """The exposition text of every worker's samples, and its content type."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=directory)
    else:
        registry = REGISTRY
    return generate_latest(registry), CONTENT_TYPE_LATEST


def bearer_token_matches(authorization: str, token: str) -> bool:
    scheme, _, given = authorization.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode()
    )
