"""HTTP in and out. Every relay goes through services.relay_request: two front doors, one path."""

from __future__ import annotations

import base64
import logging
import os

from django.conf import settings
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import push_url

from portal.errors import RelayError
from portal.metrics import bearer_token_matches, render_metrics
from portal.models import RelayResult, TenantSettings
from portal.rate_limits import enforce_rate_limit
from portal.services import find_result, relay_request
from portal.tenancy import get_tenant

LICENSE_FILENAME = "ls_activation.lic"

logger = logging.getLogger("portal.views")


@require_http_methods(["GET", "POST"])
def upload(request: HttpRequest) -> HttpResponse:
    """The upload page; a POST relays the file, then redirects to (or swaps in) the result."""
    if request.method == "GET":
        return render(request, "portal/upload.html")
    data, filename = _uploaded_request(request)
    tenant = get_tenant(request)
    try:
        enforce_rate_limit(request, tenant_slug=tenant.slug)
        result = relay_request(tenant=tenant, data=data, filename=filename)
    except RelayError as error:
        return _render_error(request, error, filename)
    if request.htmx:
        context = _result_context(result, auto_download=True)
        response = render(request, "portal/result.html#result-panel", context)
        return push_url(response, context["result_url"])
    response = redirect("portal:result", token=result.token)
    response.status_code = 303  # See Other: the result is fetched with GET (post/redirect/get)
    return response


@never_cache
@require_GET
def show_result(request: HttpRequest, token: str) -> HttpResponse:
    result = find_result(tenant=get_tenant(request), token=token)
    if result is None:
        return render(request, "portal/result_gone.html", status=404)
    return render(request, "portal/result.html", _result_context(result, auto_download=False))


@never_cache
@require_GET
def download_license(request: HttpRequest, token: str) -> HttpResponse:
    result = find_result(tenant=get_tenant(request), token=token)
    if result is None or result.kind != RelayResult.Kind.ACTIVATION:
        raise Http404("This license file is no longer available.")
    return _license_file_response(bytes(result.license_file))


@csrf_exempt
@require_POST
def api_relay(request: HttpRequest) -> HttpResponse:
    """POST /api/v1/requests: the .req text in, the .lic file (or a JSON outcome) out."""
    tenant = get_tenant(request)
    try:
        enforce_rate_limit(request, tenant_slug=tenant.slug)
        upload_file = request.FILES.get("file")
        data = upload_file.read() if upload_file else request.body
        result = relay_request(tenant=tenant, data=data, filename="")
    except RelayError as error:
        return _json_error(error)
    if result.kind == RelayResult.Kind.ACTIVATION:
        return _license_file_response(bytes(result.license_file))
    return JsonResponse({"result": "deactivated", **_public_summary(result.summary)})


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


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form post refused by the CSRF check: the portal's own 403 page, in the tenant's brand
    (Django's built-in one styles itself inline, which the CSP blocks)."""
    return render(request, "403.html", status=403)


def respond_body_too_large(request: HttpRequest) -> HttpResponse:
    """Used by BodySizeLimitMiddleware, before the body is read."""
    error = RelayError(
        413,
        "too_large",
        "This file is too large to be a request file (they are at most 64 KB). Choose the "
        "ls_activation.req file your software saved.",
    )
    if request.path.startswith("/api/"):
        return _json_error(error)
    return _render_error(request, error, "")


def _uploaded_request(request: HttpRequest) -> tuple[bytes | str, str]:
    upload_file = request.FILES.get("file")
    if upload_file is not None and upload_file.size:
        return upload_file.read(), os.path.basename(upload_file.name or "")[:255]
    text = request.POST.get("request_text", "")
    if text.strip():
        return text, "pasted text"
    if upload_file is not None:
        return b"", os.path.basename(upload_file.name or "")[:255]
    return b"", ""


def _render_error(request: HttpRequest, error: RelayError, filename: str) -> HttpResponse:
    context = {"error": error, "filename": filename}
    template = "portal/upload.html#error-panel" if request.htmx else "portal/upload.html"
    response = render(request, template, context, status=error.status)
    if error.retry_after:
        response["Retry-After"] = str(error.retry_after)
    return response


def _json_error(error: RelayError) -> JsonResponse:
    payload = {"status": error.status, "code": error.code, "message": error.message}
    if error.detail:
        payload["detail"] = error.detail
    if error.reference:
        payload["reference"] = error.reference
    response = JsonResponse(payload, status=error.status)
    if error.retry_after:
        response["Retry-After"] = str(error.retry_after)
    return response


def _license_file_response(body: bytes) -> HttpResponse:
    response = HttpResponse(base64.b64encode(body), content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="{LICENSE_FILENAME}"'
    response["Cache-Control"] = "no-store"
    return response


def _result_context(result: RelayResult, *, auto_download: bool) -> dict[str, object]:
    return {
        "result": result,
        "summary": result.summary,
        "result_url": reverse("portal:result", kwargs={"token": result.token}),
        "download_url": reverse("portal:download", kwargs={"token": result.token}),
        "license_filename": LICENSE_FILENAME,
        "auto_download": auto_download,
    }


def _public_summary(summary: dict[str, object]) -> dict[str, object]:
    return {key: value for key, value in summary.items() if key != "kind"}


@require_GET
def brand_css(request: HttpRequest) -> HttpResponse:
    """The tenant's colours as CSS custom properties: branding without inline styles."""
    response = render(request, "portal/brand.css", content_type="text/css")
    return _cache_brand_asset(response)


@require_GET
def brand_image(request: HttpRequest, kind: str) -> HttpResponse:
    """The tenant's logo or favicon, kept in the database (no volume needed)."""
    tenant = get_tenant(request)
    row = (
        TenantSettings.objects.filter(pk=tenant.pk).only(kind, f"{kind}_type").first()
        if tenant.pk
        else None
    )
    if row is None or not getattr(row, f"{kind}_type"):
        raise Http404("No such image.")
    response = HttpResponse(bytes(getattr(row, kind)), content_type=getattr(row, f"{kind}_type"))
    response["Content-Security-Policy"] = "default-src 'none'"
    return _cache_brand_asset(response)


def _cache_brand_asset(response: HttpResponse) -> HttpResponse:
    # Pages link these with ?v=<brand version>, so a changed brand is a new URL.
    response["Cache-Control"] = "public, max-age=86400"
    return response
