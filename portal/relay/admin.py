from __future__ import annotations

from django.contrib import admin

from portal.relay.models import LearnedBundle, RelayResult


@admin.register(RelayResult)
class RelayResultAdmin(admin.ModelAdmin):
    list_display = ["created_at", "tenant_slug", "kind", "state", "expires_at"]
    list_filter = ["kind", "state", "tenant_slug"]
    # The license file and the token (a download link) stay out of the admin.
    exclude = ["license_file", "token"]
    readonly_fields = ["tenant_slug", "request_hash", "kind", "state", "filename", "summary"]


@admin.register(LearnedBundle)
class LearnedBundleAdmin(admin.ModelAdmin):
    list_display = ["tenant_slug", "product", "learned_at"]
