from __future__ import annotations

import re
import secrets

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from portal.branding import validate_brand_color
from portal.encryption import decrypt_secret, encrypt_secret

_HOST = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)


def _new_token() -> str:
    return secrets.token_urlsafe(24)


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


class RelayResult(models.Model):
    """What one relayed request file produced, downloadable for PORTAL_RESULT_TTL seconds.

    Kept in the database so that every worker and instance can serve the link. A row is
    claimed as `pending` before the upstream call, so a double click or a second upload of the
    same file waits for the first instead of spending a second seat.
    """

    class Kind(models.TextChoices):
        ACTIVATION = "activation"
        DEACTIVATION = "deactivation"

    class State(models.TextChoices):
        PENDING = "pending"
        DONE = "done"

    token = models.CharField(max_length=64, unique=True, default=_new_token, editable=False)
    tenant_slug = models.CharField(max_length=100)
    request_hash = models.CharField(max_length=64)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    filename = models.CharField(max_length=255, blank=True)
    summary = models.JSONField(default=dict, blank=True)
    license_file = models.BinaryField(blank=True, default=b"")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant_slug", "request_hash"], name="one_result_per_request_file"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.summary.get('product', '')} ({self.state})"


class LearnedBundle(models.Model):
    """A product the License API told us is a bundle (single endpoint said unknown_product)."""

    tenant_slug = models.CharField(max_length=100)
    product = models.CharField(max_length=200)
    learned_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant_slug", "product"], name="one_learned_bundle")
        ]

    def __str__(self) -> str:
        return f"{self.tenant_slug}: {self.product}"


class TenantSettings(models.Model):
    """A vendor's white-labelled portal: its hosts, brand, License API account and flows.

    The shared key is stored encrypted (portal.encryption) and never shown again once saved.
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
    api_key = models.CharField("API key", max_length=200)
    shared_key_encrypted = models.TextField(blank=True, editable=False)
    bundle_products = models.CharField(
        max_length=500, blank=True, help_text="Comma-separated product codes that are bundles."
    )
    # Flows
    activation_enabled = models.BooleanField(default=True)
    deactivation_enabled = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
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


class TenantHost(models.Model):
    """A host name (offline.acme.com) that a tenant answers to."""

    tenant = models.ForeignKey(TenantSettings, on_delete=models.CASCADE, related_name="hosts")
    host = models.CharField(max_length=253, unique=True, validators=[_validate_host])

    class Meta:
        ordering = ["host"]

    def __str__(self) -> str:
        return self.host

    def save(self, *args: object, **kwargs: object) -> None:
        self.host = normalize_host(self.host)
        super().save(*args, **kwargs)


class TenantGeneration(models.Model):
    """One counter, bumped on every tenant change, that every process checks to drop its cache."""

    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return str(self.value)


@receiver([post_save, post_delete], sender=TenantSettings)
@receiver([post_save, post_delete], sender=TenantHost)
def _tenants_changed(**kwargs: object) -> None:
    from portal.tenancy import bump_generation

    bump_generation()


# Models kept beside the code that uses them; Django finds models through this module.
from portal.rate_limits import RateLimitCounter  # noqa: E402, F401
