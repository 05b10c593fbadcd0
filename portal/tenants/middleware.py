"""Host header -> request.tenant, first thing in every request (after the security headers)."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.http.request import validate_host
from django.middleware.locale import LocaleMiddleware
from django.shortcuts import render
from django.utils import translation
from django.utils.cache import patch_vary_headers

from portal.tenants.languages import choose_language, language_codes
from portal.tenants.models import normalize_host
from portal.tenants.resolution import default_tenant, get_tenant, tenant_for_host


class TenantMiddleware:
    """Host header -> request.tenant, before anything else looks at the host.

    Django's own ALLOWED_HOSTS is "*" so that tenant hosts need no configuration; this
    middleware applies the operator's DJANGO_ALLOWED_HOSTS (PORTAL_ALLOWED_HOSTS) to every
    host that no tenant claims, with Django's own matching rules.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info in _PROBE_PATHS:
            # Probes send whatever Host they have (a pod IP) and must answer without the
            # database: /readyz reports on it itself.
            return self.get_response(request)

        # The refusals below come before TenantLocaleMiddleware: in the browser's language.
        translation.activate(
            choose_language(request, offered=language_codes(), default=settings.LANGUAGE_CODE)
        )
        host = normalize_host(request.META.get("HTTP_HOST") or request.META.get("SERVER_NAME", ""))
        tenant = tenant_for_host(host)
        if tenant is None and validate_host(host, _allowed_hosts()):
            tenant = default_tenant()
        if tenant is None:
            return render(request, "unknown_host.html", {"host": host}, status=400)
        if not tenant.active:
            return render(request, "unknown_host.html", {"host": host, "closed": True}, status=404)
        request.tenant = tenant
        response = self.get_response(request)
        patch_vary_headers(response, ["Host"])
        return response


class TenantLocaleMiddleware(LocaleMiddleware):
    """Django's LocaleMiddleware, choosing among the languages the request's tenant offers
    (portal.tenants.languages.choose_language) rather than among all of them."""

    def process_request(self, request: HttpRequest) -> None:
        tenant = get_tenant(request)
        language = choose_language(request, offered=tenant.languages, default=tenant.language)
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        patch_vary_headers(response, ["Cookie"])  # the language menu's cookie
        return super().process_response(request, response)


_PROBE_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def _allowed_hosts() -> list[str]:
    allowed = settings.PORTAL_ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        return [".localhost", "127.0.0.1", "[::1]"]
    return allowed
