"""The pages: upload a request file, see the result, download the license file.

Every relay goes through services.relay_request; the machine endpoint (api.py) is the other
front door to it.
"""

from __future__ import annotations

import os

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import push_url

from portal.operations.rate_limits import enforce_rate_limit
from portal.relay.errors import RelayError
from portal.relay.models import RelayResult
from portal.relay.responses import LICENSE_FILENAME, license_file_response, render_error
from portal.relay.services import find_result, relay_request
from portal.tenants.resolution import get_tenant


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
        return render_error(request, error, filename)
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
    return license_file_response(bytes(result.license_file))


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form post refused by the CSRF check: the portal's own 403 page, in the tenant's brand
    (Django's built-in one styles itself inline, which the CSP blocks)."""
    return render(request, "403.html", status=403)


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


def _result_context(result: RelayResult, *, auto_download: bool) -> dict[str, object]:
    return {
        "result": result,
        "summary": result.summary,
        "result_url": reverse("portal:result", kwargs={"token": result.token}),
        "download_url": reverse("portal:download", kwargs={"token": result.token}),
        "license_filename": LICENSE_FILENAME,
        "auto_download": auto_download,
    }
