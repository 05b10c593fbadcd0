"""Tenants: a vendor's portal settings, its host names, and the change counter."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils.translation import gettext_lazy as _

from portal.tenants.branding import validate_brand_color
from portal.tenants.languages import parse_languages, validate_languages
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
        raise ValidationError(_("Enter a host name such as offline.acme.com (no scheme or path)."))


def _validate_not_default(value: str) -> None:
    if value == "default":
        raise ValidationError(_("“default” is the name of the tenant set up from the environment."))


# Fixed here rather than read from settings.LANGUAGES, so that migrations do not follow it.
LANGUAGE_CHOICES = [
    ("en", "English"),
    ("de", "Deutsch"),
    ("fr", "Français"),
    ("es", "Español"),
    ("ja", "日本語"),
    ("ar", "العربية"),
]


class TenantSettings(models.Model):
    """A vendor's white-labelled portal: its hosts, brand, License API account and flows.

    The License API account is either an API key with its shared key, or an OAuth client
    (client id and secret, and a token URL when not the one the API names). Secrets are stored
    encrypted (portal.tenants.secrets) and never shown again once saved.
    """

    slug = models.SlugField(
        _("slug"), max_length=63, unique=True, validators=[_validate_not_default]
    )
    name = models.CharField(_("display name"), max_length=100)
    active = models.BooleanField(_("active"), default=True)
    # Brand
    logo = models.BinaryField(blank=True, default=b"", editable=False)
    logo_type = models.CharField(max_length=40, blank=True, editable=False)
    favicon = models.BinaryField(blank=True, default=b"", editable=False)
    favicon_type = models.CharField(max_length=40, blank=True, editable=False)
    primary_color = models.CharField(
        _("primary colour"), max_length=7, default="#1F5FBF", validators=[validate_brand_color]
    )
    accent_color = models.CharField(
        _("accent colour"), max_length=7, default="#0B7A53", validators=[validate_brand_color]
    )
    support_email = models.EmailField(_("support e-mail address"), blank=True)
    support_url = models.URLField(_("support URL"), blank=True)
    help_text = models.TextField(
        _("help text"),
        blank=True,
        help_text=_("Shown above the upload form. Markdown; HTML is shown as text."),
    )
    # {language code: Markdown}: a language's own help text. One without it shows the default
    # language's, else help_text (portal.tenants.branding.help_text_for). A JSON column rather
    # than a table: the texts are read and cached with the tenant's row, never queried apart.
    help_texts = models.JSONField(_("help text per language"), default=dict, blank=True)
    privacy_url = models.URLField(_("privacy policy URL"), blank=True)
    imprint_url = models.URLField(_("imprint URL"), blank=True)
    # License API account
    api_url = models.URLField(
        _("License API URL"), max_length=300, default="https://api.licensespring.com/api/v4"
    )
    api_key = models.CharField(_("API key"), max_length=200, blank=True)
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
        _("bundle products"),
        max_length=500,
        blank=True,
        help_text=_("Comma-separated product codes that are bundles."),
    )
    # Flows
    activation_enabled = models.BooleanField(_("activation enabled"), default=True)
    deactivation_enabled = models.BooleanField(_("deactivation enabled"), default=True)
    # Languages: which of the portal's the tenant offers, and which a browser asking for none
    # of them gets. Codes, comma-separated, as bundle_products.
    language = models.CharField(
        _("default language"), max_length=8, choices=LANGUAGE_CHOICES, default="en"
    )
    languages = models.CharField(
        _("languages offered"),
        max_length=60,
        default="en,de,fr,es,ja,ar",
        validators=[validate_languages],
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "portal_tenantsettings"  # made when tenants were part of the relay app
        verbose_name = _("tenant")
        verbose_name_plural = _("tenants")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.api_key and self.client_id:
            raise ValidationError(
                _("A tenant has either an API key or an OAuth client ID, not both: clear one.")
            )
        if self.language not in parse_languages(self.languages):
            raise ValidationError(
                {"language": _("The default language must be one of the languages offered.")}
            )

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


class TenantHost(models.Model):
    """A host name (offline.acme.com) that a tenant answers to."""

    tenant = models.ForeignKey(TenantSettings, on_delete=models.CASCADE, related_name="hosts")
    host = models.CharField(
        _("host name"), max_length=253, unique=True, validators=[_validate_host]
    )

    class Meta:
        db_table = "portal_tenanthost"
        ordering = ["host"]
        verbose_name = _("host name")
        verbose_name_plural = _("host names")

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
