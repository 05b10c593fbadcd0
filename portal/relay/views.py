"""The pages: upload a request file, see the result, download the license file.

Every relay goes through services.relay_request; the machine endpoint (api.py) is the other
front door to it.
"""

from __future__ import annotations

import os

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import push_url

from portal.batches.views import start_batch
from portal.operations.rate_limits import enforce_check_rate_limit, enforce_rate_limit
from portal.relay.errors import RelayError
from portal.relay.inspection import PASTED_TEXT, inspect_upload, nothing_chosen
from portal.relay.models import RelayResult
from portal.relay.pending import drop_pending, find_pending, forget_sent, keep_pending
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
    if not data and not filename:
        return render_error(request, nothing_chosen(), filename)
    try:
        enforce_rate_limit(request, tenant_slug=tenant.slug)
        result = relay_request(tenant=tenant, data=data, filename=filename)
    except RelayError as error:
        return render_error(request, error, filename)
    return _respond_with_result(request, result)


@require_POST
def check_upload(request: HttpRequest) -> HttpResponse:
    """Show what a file holds, sending nothing upstream; keep it (encrypted) for the confirm
    step when it can be sent, so that the user does not choose it again. Several files (the
    form without JavaScript) make a batch instead."""
    if len(request.FILES.getlist("file")) > 1:
        return start_batch(request, request.FILES.getlist("file"))
    data, filename = _uploaded_request(request)
    tenant = get_tenant(request)
    try:
        enforce_check_rate_limit(request, tenant_slug=tenant.slug)
    except RelayError as error:
        return render_error(request, error, filename)
    inspection = inspect_upload(tenant=tenant, data=data, filename=filename)
    if inspection.error is not None:
        return render_error(request, inspection.error, filename)
    token = ""
    if inspection.can_send and inspection.request_file is not None:
        text = inspection.request_file.text
        token = keep_pending(tenant_slug=tenant.slug, filename=filename, text=text)
    context = {"inspection": inspection, "pending_token": token}
    template = "portal/_inspection.html" if request.htmx else "portal/upload.html"
    return render(request, template, context)


@require_POST
def send_checked(request: HttpRequest) -> HttpResponse:
    """Relay a checked file exactly as an upload would (rate limit, dedupe, results)."""
    tenant = get_tenant(request)
    token = request.POST.get("pending", "")
    pending = find_pending(tenant_slug=tenant.slug, token=token)
    if pending is None:
        return render_error(request, _check_expired(), "")
    try:
        enforce_rate_limit(request, tenant_slug=tenant.slug)
        result = relay_request(tenant=tenant, data=pending.text, filename=pending.filename)
    except RelayError as error:
        retry_token = token if error.retryable else ""
        return render_error(request, error, pending.filename, pending_token=retry_token)
    # Only now: a double submit meanwhile finds the row and joins the same relay (store.claim).
    forget_sent(pending)
    return _respond_with_result(request, result)


@require_POST
def cancel_checked(request: HttpRequest) -> HttpResponse:
    """Forget a checked file; nothing is sent upstream."""
    drop_pending(tenant_slug=get_tenant(request).slug, token=request.POST.get("pending", ""))
    if request.htmx:
        return HttpResponse("")  # an empty outcome: the upload form is ready again
    response = redirect("portal:upload")
    response.status_code = 303
    return response


def _respond_with_result(request: HttpRequest, result: RelayResult) -> HttpResponse:
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


def _check_expired() -> RelayError:
    return RelayError(
        410,
        "check_expired",
        gettext(
            "This checked file is no longer kept here (after 30 minutes, or on another "
            "address of the portal). Choose your request file again."
        ),
    )


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
        return text, PASTED_TEXT
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
