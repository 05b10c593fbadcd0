"""The tenant's brand assets: its colours as CSS, its logo and favicon."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from portal.tenants.branding import scheme_shades
from portal.tenants.models import TenantSettings
from portal.tenants.resolution import get_tenant


@require_GET
def brand_css(request: HttpRequest) -> HttpResponse:
    """The tenant's colours as CSS custom properties: branding without inline styles."""
    tenant = get_tenant(request)
    shades = (
        scheme_shades(tenant.primary_color, tenant.accent_color) if tenant.primary_color else {}
    )
    response = render(request, "portal/brand.css", {"shades": shades}, content_type="text/css")
    return _cache_brand_asset(response)


@require_GET
def brand_image(request: HttpRequest, kind: str) -> HttpResponse:
    """The tenant's logo or favicon, kept in the database (no volume needed)."""
    tenant = get_tenant(request)
    row = (
        TenantSettings.objects.filter(pk=tenant.pk).only(kind, f"{kind}_type").first()
        if tenant.pk
        else None
    )
    if row is None or not getattr(row, f"{kind}_type"):
        raise Http404("No such image.")
    response = HttpResponse(bytes(getattr(row, kind)), content_type=getattr(row, f"{kind}_type"))
    response["Content-Security-Policy"] = "default-src 'none'"
    return _cache_brand_asset(response)


def _cache_brand_asset(response: HttpResponse) -> HttpResponse:
    # Pages link these with ?v=<brand version>, so a changed brand is a new URL.
    response["Cache-Control"] = "public, max-age=86400"
    return response
