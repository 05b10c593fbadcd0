"""Request-level guards that must run before anything reads the body."""

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
        if length > settings.PORTAL_MAX_BODY_BYTES:
            from portal.views import respond_body_too_large

            return respond_body_too_large(request)
        return self.get_response(request)
