"""How a relay's license file or refusal becomes an HTTP answer, for the pages and the API."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from urllib.parse import quote, urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext

from portal.relay.errors import RelayError
from portal.tenants.resolution import get_tenant

LICENSE_FILENAME = "ls_activation.lic"


def render_error(
    request: HttpRequest, error: RelayError, filename: str, *, pending_token: str = ""
) -> HttpResponse:
    """The error panel; `pending_token` names a checked file that "Try again" sends again."""
    support_email = get_tenant(request).support_email
    context = {
        "error": error,
        "filename": filename,
        "pending_token": pending_token,
        "support_mailto": support_mailto(error, support_email, timezone.now())
        if support_email
        else "",
    }
    template = "portal/upload.html#error-panel" if request.htmx else "portal/upload.html"
    response = render(request, template, context, status=error.status)
    if error.retry_after:
        response["Retry-After"] = str(error.retry_after)
    return response


def support_mailto(error: RelayError, address: str, when: datetime) -> str:
    """A ready-made e-mail to the vendor's support: the reference, the code and the time, and
    nothing from the file (it may hold a license key or a password)."""
    facts = {
        "reference": error.reference or "-",
        "code": error.code,
        "time": when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
    subject = gettext("Offline portal: support reference %(reference)s") % facts
    body = (
        gettext(
            "Hello,\n\nthe offline licensing portal could not complete my request.\n\n"
            "Support reference: %(reference)s\nError code: %(code)s\nTime: %(time)s\n"
        )
        % facts
    )
    # RFC 6068: line breaks as CRLF, everything else percent-encoded.
    query = urlencode({"subject": subject, "body": body.replace("\n", "\r\n")}, quote_via=quote)
    return f"mailto:{quote(address, safe='@')}?{query}"


def json_error(error: RelayError) -> JsonResponse:
    payload = {
        "status": error.status,
        "code": error.code,
        "message": error.message,
        "retryable": error.retryable,
    }
    if error.detail:
        payload["detail"] = error.detail
    if error.reference:
        payload["reference"] = error.reference
    response = JsonResponse(payload, status=error.status)
    if error.retry_after:
        response["Retry-After"] = str(error.retry_after)
    return response


def license_file_response(body: bytes) -> HttpResponse:
    response = HttpResponse(base64.b64encode(body), content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="{LICENSE_FILENAME}"'
    response["Cache-Control"] = "no-store"
    return response


def respond_body_too_large(request: HttpRequest) -> HttpResponse:
    """Used by BodySizeLimitMiddleware, before the body is read, so how many files the post
    holds is unknown: the message serves one file too large and a batch of too many."""
    error = RelayError(
        413,
        "too_large",
        gettext(
            "This is too much to send at once (%(limit)s at most). One request file is a few "
            "kilobytes: choose the ls_activation.req file your software saved. If you chose "
            "many files, send them in smaller groups."
        )
        % {"limit": filesizeformat(settings.PORTAL_MAX_BODY_BYTES)},
    )
    if request.path.startswith("/api/"):
        return json_error(error)
    return render_error(request, error, "")
