"""The machine endpoint: POST /api/v1/requests, the .req text in, the .lic file (or a JSON
outcome) out. The same service function as the pages.

Several `file` parts in one post are a batch, relayed at once: the answer is a ZIP of the
license files and summary.csv (portal/batches/archive.py), or with `Accept: application/json`
a list of per-file results with the same fields, each license file as its .lic text."""

from __future__ import annotations

import base64
import os

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext, ngettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from portal.batches.archive import build_zip
from portal.batches.relaying import Entry, outcome_label, relay_files
from portal.operations.rate_limits import client_address, enforce_rate_limit
from portal.relay.errors import RelayError
from portal.relay.models import RelayResult
from portal.relay.responses import json_error, license_file_response
from portal.relay.services import relay_request
from portal.tenants.resolution import get_tenant


@csrf_exempt
@require_POST
def api_relay(request: HttpRequest) -> HttpResponse:
    """POST /api/v1/requests: the .req text in, the .lic file (or a JSON outcome) out."""
    tenant = get_tenant(request)
    if request.content_type == "multipart/form-data" and len(request.FILES.getlist("file")) > 1:
        return _relay_several(request, request.FILES.getlist("file"))
    try:
        enforce_rate_limit(request, tenant_slug=tenant.slug)
        data = _uploaded_request(request)
        result = relay_request(tenant=tenant, data=data, filename="")
    except RelayError as error:
        return json_error(error)
    if result.kind == RelayResult.Kind.ACTIVATION:
        return license_file_response(bytes(result.license_file))
    return JsonResponse({"result": "deactivated", **_public_summary(result.summary)})


def _uploaded_request(request: HttpRequest) -> bytes:
    """The .req text: the multipart field `file`, or else the whole body."""
    if request.content_type != "multipart/form-data":
        return request.body
    upload_file = request.FILES.get("file")
    if upload_file is None:
        raise RelayError(
            400,
            "missing_file",
            gettext(
                "This upload has no request file. Send the .req file as the form field named "
                "file, or as the whole request body."
            ),
        )
    return upload_file.read()


def _public_summary(summary: dict[str, object]) -> dict[str, object]:
    return {key: value for key, value in summary.items() if key != "kind"}


def _relay_several(request: HttpRequest, files: list[UploadedFile]) -> HttpResponse:
    limit = settings.PORTAL_BATCH_MAX_FILES
    if len(files) > limit:
        message = ngettext(
            "A batch holds at most %(limit)d file. Send the files in smaller batches.",
            "A batch holds at most %(limit)d files. Send the files in smaller batches.",
            limit,
        )
        return json_error(RelayError(413, "too_many_files", message % {"limit": limit}))
    entries = relay_files(
        tenant=get_tenant(request),
        client=client_address(request),
        files=[(os.path.basename(upload.name or "")[:255], upload.read()) for upload in files],
    )
    if request.get_preferred_type(["application/zip", "application/json"]) == "application/json":
        return JsonResponse({"results": [_public_entry(entry) for entry in entries]})
    response = HttpResponse(build_zip(entries), content_type="application/zip")
    response["Content-Disposition"] = 'attachment; filename="license-files.zip"'
    response["Cache-Control"] = "no-store"
    return response


def _public_entry(entry: Entry) -> dict[str, object]:
    """The fields of summary.csv, and the license file as its .lic text (base64)."""
    return {
        "file": entry.filename,
        "computer": entry.computer,
        "product": entry.product,
        "kind": entry.kind,
        "outcome": entry.outcome,
        "outcome_text": outcome_label(entry.outcome),
        "code": entry.code,
        "message": entry.message,
        "support_reference": entry.reference,
        "retry_after": entry.retry_after,
        "license_file": base64.b64encode(entry.license_file).decode()
        if entry.license_file
        else None,
    }
