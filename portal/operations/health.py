"""Probes and scrapes: /healthz (the process serves), /readyz (the database answers), /metrics."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from portal.operations.metrics import bearer_token_matches, render_metrics

logger = logging.getLogger("portal.health")


@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


@never_cache
def readyz(request: HttpRequest) -> HttpResponse:
    """Ready when the database answers a query (a kept connection may have died since)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as error:
        logger.warning("readyz: database unreachable (%s)", type(error).__name__)
        return HttpResponse("database unreachable", status=503, content_type="text/plain")
    return HttpResponse("ok", content_type="text/plain")


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus metrics: 404 unless PORTAL_METRICS_ENABLED; a bearer token when one is set."""
    if not settings.PORTAL_METRICS_ENABLED:
        raise Http404("Metrics are off.")
    token = settings.PORTAL_METRICS_TOKEN
    if token and not bearer_token_matches(request.headers.get("Authorization", ""), token):
        response = HttpResponse("unauthorized", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body, content_type = render_metrics()
    return HttpResponse(body, content_type=content_type)
