"""Request-level guards: body size before anything reads the body; JSON refusals under /api/;
security headers."""

from __future__ import annotations

import codecs
import io
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any

from csp.constants import HEADER
from csp.middleware import CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.utils.functional import Promise
from django.utils.http import parse_header_parameters
from django.utils.translation import gettext_lazy as _


def body_limit(path: str) -> int:
    """The largest request body the portal reads for `path`, in bytes."""
    if path.startswith("/admin/"):
        return settings.PORTAL_MAX_ADMIN_BODY_BYTES  # operators upload logos there
    return settings.PORTAL_MAX_BODY_BYTES


def may_leave_body_unread(path: str, content_length: str | None, chunked: bool) -> bool:
    """Whether the portal may answer before the whole body is read, which leaves the rest on
    the connection: a body over the cap is refused unread, and a chunked one is read only up
    to the cap (its length is known only at its end). gunicorn.conf.py closes such a
    connection after the answer, and the answer says so."""
    if chunked:
        return True
    try:
        return int(content_length or 0) > body_limit(path)
    except ValueError:
        return False


class ReadableRequestMiddleware:
    """WSGI middleware: hand Django a request it can read.

    A chunked body (no Content-Length): gunicorn decodes it and marks it with
    `wsgi.input_terminated`, but Django reads CONTENT_LENGTH bytes only, none here, and the
    upload looked empty. The body is read up to one byte past the cap and handed on with its
    length, so that BodySizeLimitMiddleware refuses an oversized one as it does any other.

    A Content-Type Django cannot parse (an RFC 2231 parameter in an unknown charset) raises
    while Django builds the request, before any middleware could answer, and gunicorn sent
    its own 500. It is dropped: the body arrives untyped, and the view refuses what it cannot
    read with a 400.
    """

    def __init__(self, application: Callable[..., Iterable[bytes]]) -> None:
        self.application = application

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., object]
    ) -> Iterable[bytes]:
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if chunked and environ.get("wsgi.input_terminated") and not environ.get("CONTENT_LENGTH"):
            body = environ["wsgi.input"].read(body_limit(environ.get("PATH_INFO", "")) + 1)
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        environ["CONTENT_TYPE"] = readable_content_type(environ.get("CONTENT_TYPE", ""))
        return self.application(environ, start_response)


def readable_content_type(value: str) -> str:
    """`value`, or "" when Django's request would fail on it (as WSGIRequest reads it)."""
    try:
        _, params = parse_header_parameters(value)
        if "charset" in params:
            codecs.lookup(params["charset"])
    except LookupError:
        return value  # Django ignores an unknown charset itself
    except ValueError:
        return ""
    return value


class BodySizeLimitMiddleware:
    """Refuse a body larger than PORTAL_MAX_BODY_BYTES from its Content-Length, unread.

    gunicorn has no body limit and DATA_UPLOAD_MAX_MEMORY_SIZE ignores file uploads, so the
    cap is enforced here, before CSRF or a view touches request.POST.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > body_limit(request.path_info):
            from portal.relay.responses import respond_body_too_large

            return respond_body_too_large(request)
        return self.get_response(request)


# What a machine client reads for each refusal that Django or a middleware makes as a page.
# The messages follow Accept-Language (TenantMiddleware activates it); the codes stay English.
_API_REFUSALS: dict[int, tuple[str, Promise]] = {
    400: (
        "bad_request",
        _(
            "The portal cannot accept this request. Send the .req file to POST "
            "/api/v1/requests, as the whole body or as the multipart form field named file."
        ),
    ),
    403: ("forbidden", _("This request is not allowed.")),
    404: (
        "not_found",
        _("There is nothing at this address. Request files go to POST /api/v1/requests."),
    ),
    405: ("method_not_allowed", _("Send request files to this address with POST.")),
    500: (
        "server_error",
        _(
            "Something went wrong inside the portal. Your request file is fine: please try "
            "again in a minute."
        ),
    ),
}


class ApiErrorsMiddleware:
    """Every refusal under /api/ is JSON `{"status", "code", "message"}`, as the contract says.

    The endpoint answers its own errors in JSON; the others are pages made before or around it
    (an unknown host, 404, 405, a body Django cannot parse, a 500), which a machine client
    cannot read. A page's text is never copied: only its status decides the answer.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if (
            response.status_code < 400
            or not request.path_info.startswith("/api/")
            or response.get("Content-Type", "").startswith("application/json")
        ):
            return response
        return _as_json_refusal(response)


def _as_json_refusal(response: HttpResponseBase) -> JsonResponse:
    status = response.status_code
    code, message = _API_REFUSALS.get(status) or _API_REFUSALS[400 if status < 500 else 500]
    refusal = JsonResponse({"status": status, "code": code, "message": str(message)}, status=status)
    for name, value in response.items():  # Allow, Retry-After, the security headers
        if name.lower() not in {"content-type", "content-length"}:
            refusal[name] = value
    return refusal


# Browser features the portal never uses, refused to it and to anything that gets into it.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
    )
)


class SecurityHeadersMiddleware:
    """The headers Django's SecurityMiddleware and django-csp do not set: Permissions-Policy, and
    Cross-Origin-Resource-Policy so that no other site can load the portal's answers."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        response.headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        return response


class SitePolicyCSPMiddleware(CSPMiddleware):
    """django-csp's middleware with the site's policy built once, not for every response.

    The portal's policy has no nonces (no inline script or style anywhere), and a view that
    needs another policy sets the header itself (brand_image). A response that carries
    django-csp's per-view changes (@csp_update and the like) still gets them, from django-csp.
    """

    def process_request(self, request: HttpRequest) -> None:
        return None  # no request.csp_nonce: nothing may use one

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if any(name.startswith("_csp") for name in vars(response)):
            return super().process_response(request, response)
        if HEADER not in response:
            response[HEADER] = _site_policy()
        return response


@cache
def _site_policy() -> str:
    return build_policy()


@receiver(setting_changed)
def _forget_site_policy(*, setting: str, **kwargs: object) -> None:
    if setting == "CONTENT_SECURITY_POLICY":
        _site_policy.cache_clear()
