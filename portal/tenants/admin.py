"""The operator's tenant admin: hosts inline, write-only shared key, a live brand preview."""

from __future__ import annotations

from django.contrib import admin
from django.db import models
from django.utils.translation import gettext_lazy as _

from portal.tenants.forms import TenantSettingsForm
from portal.tenants.models import TenantHost, TenantSettings


class TenantHostInline(admin.TabularInline):
    model = TenantHost
    extra = 1
    verbose_name = _("host name")
    verbose_name_plural = _("host names (offline.acme.com; no scheme or path)")


@admin.register(TenantSettings)
class TenantSettingsAdmin(admin.ModelAdmin):
    form = TenantSettingsForm
    inlines = [TenantHostInline]
    list_display = ["name", "slug", "host_names", "active", "credentials_status"]
    list_filter = ["active"]
    search_fields = ["name", "slug", "hosts__host"]
    change_form_template = "admin/tenants/tenantsettings/change_form.html"
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    fieldsets = [
        (None, {"fields": ["name", "slug", "active"]}),
        (
            _("Brand"),
            {
                "fields": [
                    ("primary_color", "accent_color"),
                    ("logo_file", "clear_logo"),
                    ("favicon_file", "clear_favicon"),
                    "help_text",
                    ("help_text_en", "help_text_de"),
                    ("help_text_fr", "help_text_es"),
                    ("help_text_ja", "help_text_ar"),
                    ("support_email", "support_url"),
                    ("privacy_url", "imprint_url"),
                ]
            },
        ),
        (
            _("License API account"),
            {
                "fields": [
                    "api_url",
                    "api_key",
                    ("new_shared_key", "clear_shared_key"),
                    "bundle_products",
                ]
            },
        ),
        (
            _("OAuth client (instead of the API key, for vendors on OAuth)"),
            {
                "fields": [
                    "client_id",
                    ("new_client_secret", "clear_client_secret"),
                    "oauth_token_url",
                ]
            },
        ),
        (_("Flows"), {"fields": ["activation_enabled", "deactivation_enabled"]}),
        (_("Languages"), {"fields": ["language", "languages"]}),
    ]

    class Media:
        js = ["portal/admin_preview.js"]

    @admin.display(description=_("hosts"))
    def host_names(self, tenant: TenantSettings) -> str:
        return ", ".join(host.host for host in tenant.hosts.all())

    @admin.display(description=_("credentials"))
    def credentials_status(self, tenant: TenantSettings) -> str:
        if tenant.client_id:
            if tenant.has_client_secret:
                return _("OAuth, secret set")
            return _("OAuth, secret not set")
        if tenant.has_shared_key:
            return _("API key, shared key set")
        return _("API key, shared key not set")

    def get_queryset(self, request: object) -> object:
        return super().get_queryset(request).defer("logo", "favicon").prefetch_related("hosts")
