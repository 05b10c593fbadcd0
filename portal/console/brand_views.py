"""The console's brand page: the owner edits brand and wording beside a preview of the portal
in light and dark mode. Preview re-renders the form without saving (a plain submit without
JavaScript; htmx on every change with it)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from portal.console import staff
from portal.console.access import console_page
from portal.console.brand_preview import build_preview, preview_colors
from portal.console.forms import BrandForm
from portal.tenants.branding import HEX_COLOR
from portal.tenants.models import TenantSettings


@console_page(owner_only=True)
def brand(request: HttpRequest) -> HttpResponse:
    tenant = TenantSettings.objects.get(pk=request.tenant.pk)
    form = BrandForm(request.POST or None, request.FILES or None, instance=tenant)
    if request.method == "POST" and form.is_valid():
        form.save()
        changed = [name for name in form.changed_data if name != "new_shared_key"]
        if form.cleaned_data.get("new_shared_key"):
            changed.append("shared key")
        staff.record_audit(
            member=request.staff_member, action="brand_changed", detail=", ".join(changed)
        )
        return redirect("console:brand")
    return _render(request, form, tenant)


@console_page(owner_only=True)
@require_POST
def brand_preview(request: HttpRequest) -> HttpResponse:
    """The page (or, for htmx, its preview) for the values entered; nothing is saved."""
    tenant = TenantSettings.objects.get(pk=request.tenant.pk)
    form = BrandForm(request.POST, request.FILES, instance=tenant)
    form.is_valid()  # the errors show beside the fields, as a save would show them
    return _render(request, form, tenant, partial=bool(request.htmx))


@console_page(owner_only=True)
@require_GET
def brand_preview_css(request: HttpRequest) -> HttpResponse:
    """The preview's colours as CSS classes: the console's CSP admits no inline style."""
    tenant = request.tenant
    primary = _color(request.GET.get("primary"), tenant.primary_color or "#1F5FBF")
    accent = _color(request.GET.get("accent"), tenant.accent_color or primary)
    _white_on_primary, schemes = preview_colors(primary, accent)
    context = {"primary": primary, "accent": accent, "schemes": schemes}
    response = render(
        request, "console/brand_preview.css", context, content_type="text/css; charset=utf-8"
    )
    response["Cache-Control"] = "private, max-age=3600"  # one URL per pair of colours
    return response


def _render(
    request: HttpRequest, form: BrandForm, tenant: TenantSettings, *, partial: bool = False
) -> HttpResponse:
    preview = build_preview(form, tenant, request.tenant.brand_version)
    context = {"form": form, "preview": preview, "section": "brand"}
    template = "console/brand.html#brand-preview" if partial else "console/brand.html"
    return render(request, template, context)


def _color(value: str | None, fallback: str) -> str:
    return value.upper() if HEX_COLOR.match(value or "") else fallback.upper()
