from __future__ import annotations

from django.contrib import admin

from sandbox.models import Credential, Device, Feature, License, Product, UsageSync


class FeatureInline(admin.TabularInline):
    model = Feature
    extra = 0


class DeviceInline(admin.TabularInline):
    model = Device
    extra = 0
    fields = ["hardware_id", "hostname", "active", "activated_at", "deactivated_at"]
    readonly_fields = ["activated_at", "deactivated_at"]


@admin.register(Credential)
class CredentialAdmin(admin.ModelAdmin):
    list_display = ["api_key"]


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["short_code", "name", "authorization_method", "is_bundle", "prevent_vm"]
    filter_horizontal = ["bundle_products"]


@admin.register(License)
class LicenseAdmin(admin.ModelAdmin):
    list_display = ["identity", "product", "license_type", "enabled", "max_activations"]
    list_filter = ["product", "license_type", "enabled", "is_trial"]
    search_fields = ["license_key", "user_email", "customer_email"]
    # The password is a hash made by the seed; showing it editable would invite plain text.
    readonly_fields = ["user_password", "total_consumptions", "transfer_count", "created"]
    inlines = [FeatureInline, DeviceInline]


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = ["hardware_id", "license", "hostname", "active", "activated_at"]
    list_filter = ["active"]
    search_fields = ["hardware_id", "hostname"]


@admin.register(UsageSync)
class UsageSyncAdmin(admin.ModelAdmin):
    list_display = ["license", "device", "consumptions", "synced_at"]
