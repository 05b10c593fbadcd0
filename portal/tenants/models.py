"""Tenants: a vendor's portal settings, its host names, and the change counter."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from portal.tenants.branding import validate_brand_color
from portal.tenants.secrets import decrypt_secret, encrypt_secret

_HOST = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)


def normalize_host(host: str) -> str:
    """offline.ACME.com:443 -> offline.acme.com"""
    host = host.strip().lower().rstrip(".")
    if host.startswith("["):
        return host.split("]")[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _validate_host(value: str) -> None:
    if not _HOST.match(normalize_host(value)):
        raise ValidationError("Enter a host name such as offline.acme.com (no scheme or path).")


def _validate_not_default(value: str) -> None:
    if value == "default":
        raise ValidationError("'default' is the environment-configured tenant's name.")


class TenantSettings(models.Model):
    """A vendor's white-labelled portal: its hosts, brand, License API account and flows.

    The License API account is either an API key with its shared key, or an OAuth client
    (client id and secret, and a token URL when not the one the API names). Secrets are stored
    encrypted (portal.tenants.secrets) and never shown again once saved.
    """

    slug = models.SlugField(max_length=63, unique=True, validators=[_validate_not_default])
    name = models.CharField("display name", max_length=100)
    active = models.BooleanField(default=True)
    # Brand
    logo = models.BinaryField(blank=True, default=b"", editable=False)
    logo_type = models.CharField(max_length=40, blank=True, editable=False)
    favicon = models.BinaryField(blank=True, default=b"", editable=False)
    favicon_type = models.CharField(max_length=40, blank=True, editable=False)
    primary_color = models.CharField(
        max_length=7, default="#1F5FBF", validators=[validate_brand_color]
    )
    accent_color = models.CharField(
        max_length=7, default="#0B7A53", validators=[validate_brand_color]
    )
    support_email = models.EmailField(blank=True)
    support_url = models.URLField(blank=True)
    help_text = models.TextField(
        blank=True, help_text="Shown above the upload form. Markdown; HTML is shown as text."
    )
    privacy_url = models.URLField("privacy policy URL", blank=True)
    imprint_url = models.URLField("imprint URL", blank=True)
    # License API account
    api_url = models.URLField(
        "License API URL", max_length=300, default="https://api.licensespring.com/api/v4"
    )
    api_key = models.CharField("API key", max_length=200, blank=True)
    shared_key_encrypted = models.TextField(blank=True, editable=False)
    client_id = models.CharField(
        "OAuth client ID",
        max_length=200,
        blank=True,
        help_text="Instead of an API key, for vendors on OAuth (e.g. auth_company_100123).",
    )
    client_secret_encrypted = models.TextField(blank=True, editable=False)
    oauth_token_url = models.URLField(
        "OAuth token URL",
        max_length=300,
        blank=True,
        help_text="Leave blank to use the one the License API names.",
    )
    bundle_products = models.CharField(
        max_length=500, blank=True, help_text="Comma-separated product codes that are bundles."
    )
    # Flows
    activation_enabled = models.BooleanField(default=True)
    deactivation_enabled = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "portal_tenantsettings"  # made when tenants were part of the relay app
        verbose_name = "tenant"
        verbose_name_plural = "tenants"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def has_shared_key(self) -> bool:
        return bool(self.shared_key_encrypted)

    def set_shared_key(self, shared_key: str) -> None:
        self.shared_key_encrypted = encrypt_secret(shared_key) if shared_key else ""

    def get_shared_key(self) -> str:
        return decrypt_secret(self.shared_key_encrypted) if self.shared_key_encrypted else ""

    @property
    def has_client_secret(self) -> bool:
        return bool(self.client_secret_encrypted)

    def set_client_secret(self, client_secret: str) -> None:
        self.client_secret_encrypted = encrypt_secret(client_secret) if client_secret else ""

    def get_client_secret(self) -> str:
        encrypted = self.client_secret_encrypted
        return decrypt_secret(encrypted) if encrypted else ""

    def clean(self) -> None:
        if self.api_key and self.client_id:
            raise ValidationError(
                "A tenant has either an API key or an OAuth client ID, not both: clear one."
            )


class TenantHost(models.Model):
    """A host name (offline.acme.com) that a tenant answers to."""

    tenant = models.ForeignKey(TenantSettings, on_delete=models.CASCADE, related_name="hosts")
    host = models.CharField(max_length=253, unique=True, validators=[_validate_host])

    class Meta:
        db_table = "portal_tenanthost"
        ordering = ["host"]

    def __str__(self) -> str:
        return self.host

    def save(self, *args: object, **kwargs: object) -> None:
        self.host = normalize_host(self.host)
        super().save(*args, **kwargs)


class TenantGeneration(models.Model):
    """One counter, bumped on every tenant change, that every process checks to drop its cache."""

    value = models.BigIntegerField(default=0)

    class Meta:
        db_table = "portal_tenantgeneration"

    def __str__(self) -> str:
        return str(self.value)


@receiver([post_save, post_delete], sender=TenantSettings)
@receiver([post_save, post_delete], sender=TenantHost)
def _tenants_changed(**kwargs: object) -> None:
    from portal.tenants.resolution import bump_generation

    bump_generation()
