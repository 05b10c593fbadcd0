"""The machine endpoint: POST /api/v1/requests, the .req text in, the .lic file (or a JSON
outcome) out. The same service function as the pages."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from portal.operations.rate_limits import enforce_rate_limit
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
