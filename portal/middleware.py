"""Request-level guards: body size before anything reads the body; security headers."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


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
        limit = settings.PORTAL_MAX_BODY_BYTES
        if request.path_info.startswith("/admin/"):
            limit = settings.PORTAL_MAX_ADMIN_BODY_BYTES  # operators upload logos there
        if length > limit:
            from portal.views import respond_body_too_large

            return respond_body_too_large(request)
        return self.get_response(request)


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
