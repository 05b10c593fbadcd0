"""HTTP front door of the sandbox License API and its demo page."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sandbox.activation import activate_offline, deactivate_offline
from sandbox.authorization import authorize_request
from sandbox.errors import ApiError
from sandbox.forms import SampleFileForm
from sandbox.license_objects import compact_json, render_activation
from sandbox.models import Credential, Device, License, OAuthClient, Product
from sandbox.oauth import check_scope
from sandbox.request_files import parse_request_file, read_body, verify_request_file
from sandbox.sample_files import SampleFileError, Usage, make_sample_file
from sandbox.seeding import reset_sandbox
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
    return _render_index(request, SampleFileForm())


@require_POST
def sample_file(request: HttpRequest) -> HttpResponse:
    """The form's answer: a `.req` download, or the page again saying what to fix."""
    form = SampleFileForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            text = make_sample_file(
                license=data["license"],
                kind=data["kind"],
                computer_name=data["computer_name"],
                password=data["password"],
                usage=_usage(data),
                now=timezone.now(),
                oauth=data["signed_with"] == "oauth",
            )
        except SampleFileError as error:
            form.add_error(None, str(error))
        else:
            response = HttpResponse(text, content_type="application/octet-stream")
            response["Content-Disposition"] = f'attachment; filename="ls_{data["kind"]}.req"'
            return response
    return _render_index(request, form, status=400)


@require_http_methods(["GET", "POST"])
def reset(request: HttpRequest) -> HttpResponse:
    """GET asks for confirmation; POST frees every seat and forgets synced usage."""
    if request.method == "GET":
        return render(request, "sandbox/reset.html")
    reset_sandbox()
    messages.success(
        request, gettext("The sandbox is reset: every seat is free and no usage is synced.")
    )
    return redirect("sandbox:index")


def _render_index(request: HttpRequest, form: SampleFileForm, *, status: int = 200) -> HttpResponse:
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
        "form": form,
    }
    return render(request, "sandbox/index.html", context, status=status)


def _usage(data: dict[str, object]) -> Usage:
    features = (
        [{"code": data["feature_code"], "local_consumption": data["feature_consumption"]}]
        if data["feature_code"]
        else []
    )
    variables = {data["variable_name"]: data["variable_value"]} if data["variable_name"] else {}
    return Usage(consumptions=data["consumptions"], product_features=features, variables=variables)


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
