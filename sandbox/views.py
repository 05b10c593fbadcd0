"""HTTP front door of the sandbox License API and its demo page."""

from __future__ import annotations

from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from sandbox.activation import activate_offline, deactivate_offline
from sandbox.authorization import authorize_request
from sandbox.errors import ApiError
from sandbox.license_objects import compact_json, render_activation
from sandbox.models import Credential, Device, License, OAuthClient, Product
from sandbox.oauth import check_scope
from sandbox.request_files import parse_request_file, read_body, verify_request_file
from sandbox.signing import public_key_pem


@csrf_exempt
@require_POST
def activate(request: HttpRequest) -> HttpResponse:
    return _answer(request, kind="activation", bundle=False)


@csrf_exempt
@require_POST
def deactivate(request: HttpRequest) -> HttpResponse:
    return _answer(request, kind="deactivation", bundle=False)


@csrf_exempt
@require_POST
def activate_bundle(request: HttpRequest) -> HttpResponse:
    return _answer(request, kind="activation", bundle=True)


@csrf_exempt
@require_POST
def deactivate_bundle(request: HttpRequest) -> HttpResponse:
    return _answer(request, kind="deactivation", bundle=True)


@require_GET
def public_key(request: HttpRequest) -> HttpResponse:
    return HttpResponse(public_key_pem(), content_type="application/x-pem-file")


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    active_devices = Prefetch(
        "devices", queryset=Device.objects.filter(active=True), to_attr="active_devices"
    )
    licenses = (
        License.objects.filter(bundle_license__isnull=True)
        .order_by("pk")
        .select_related("product")
        .prefetch_related(
            "features",
            active_devices,
            Prefetch(
                "sublicenses",
                queryset=License.objects.select_related("product").prefetch_related(active_devices),
            ),
        )
    )
    context = {
        "credentials": Credential.objects.order_by("api_key"),
        "oauth_clients": OAuthClient.objects.select_related("license__product"),
        "products": Product.objects.prefetch_related("bundle_products"),
        "licenses": licenses,
    }
    return render(request, "sandbox/index.html", context)


def _answer(request: HttpRequest, *, kind: str, bundle: bool) -> HttpResponse:
    now = timezone.now()
    try:
        authorized = authorize_request(request.headers)
        request_file = parse_request_file(read_body(request), kind=kind)
        check_scope(authorized, request_file)
        credential = verify_request_file(request_file, now=now)
        if kind == "deactivation":
            deactivate_offline(request_file, bundle=bundle, now=now)
            return HttpResponse(
                compact_json("license_deactivated"), content_type="application/json"
            )
        activations = activate_offline(request_file, bundle=bundle, now=now)
        body = render_activation(
            activations, request_file, credential.shared_key, bundle=bundle, now=now
        )
    except ApiError as error:
        return JsonResponse(error.as_dict(), status=error.status)
    return HttpResponse(body, content_type="application/json")
