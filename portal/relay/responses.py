"""How a relay's license file or refusal becomes an HTTP answer, for the pages and the API."""

from __future__ import annotations

import base64

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext

from portal.relay.errors import RelayError

LICENSE_FILENAME = "ls_activation.lic"


def render_error(request: HttpRequest, error: RelayError, filename: str) -> HttpResponse:
    context = {"error": error, "filename": filename}
    template = "portal/upload.html#error-panel" if request.htmx else "portal/upload.html"
    response = render(request, template, context, status=error.status)
    if error.retry_after:
        response["Retry-After"] = str(error.retry_after)
    return response


def json_error(error: RelayError) -> JsonResponse:
    payload = {"status": error.status, "code": error.code, "message": error.message}
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
    """Used by BodySizeLimitMiddleware, before the body is read."""
    error = RelayError(
        413,
        "too_large",
        gettext(
            "This file is too large to be a request file (they are at most 64 KB). Choose the "
            "ls_activation.req file your software saved."
        ),
    )
    if request.path.startswith("/api/"):
        return json_error(error)
    return render_error(request, error, "")
