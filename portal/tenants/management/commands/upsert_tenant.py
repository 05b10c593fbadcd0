"""manage.py upsert_tenant HOST --name NAME [...]: create or update the tenant served at HOST."""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils.text import slugify

from portal.tenants.branding import image_content_type
from portal.tenants.models import LANGUAGE_CHOICES, TenantHost, TenantSettings, normalize_host

# option -> model field, for the plain text options
_TEXT_OPTIONS = {
    "name": "name",
    "api_url": "api_url",
    "api_key": "api_key",
    "client_id": "client_id",
    "oauth_token_url": "oauth_token_url",
    "primary_color": "primary_color",
    "accent_color": "accent_color",
    "support_email": "support_email",
    "support_url": "support_url",
    "help_text": "help_text",
    "privacy_url": "privacy_url",
    "imprint_url": "imprint_url",
    "bundle_products": "bundle_products",
    "language": "language",
    "languages": "languages",
}


class Command(BaseCommand):
    help = "Create or update the white-label tenant served at HOST (e.g. offline.acme.com)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("host", help="full host name, e.g. offline.acme.com")
        parser.add_argument("--name", help="display name (required for a new tenant)")
        parser.add_argument("--slug", help="short name; default: made from HOST")
        parser.add_argument("--api-url", help="License API base URL")
        parser.add_argument("--api-key", help="License API key")
        parser.add_argument(
            "--shared-key", help="License API shared key; '-' reads it from standard input"
        )
        parser.add_argument("--client-id", help="OAuth client ID, instead of an API key")
        parser.add_argument(
            "--client-secret", help="OAuth client secret; '-' reads it from standard input"
        )
        parser.add_argument(
            "--oauth-token-url", help="OAuth token URL; default: the one the License API names"
        )
        parser.add_argument("--primary-color", help='"#RRGGBB"')
        parser.add_argument("--accent-color", help='"#RRGGBB"')
        parser.add_argument("--logo", type=Path, help="PNG, JPEG, GIF, WebP or ICO file")
        parser.add_argument("--favicon", type=Path, help="PNG, GIF or ICO file")
        parser.add_argument("--support-email")
        parser.add_argument("--support-url")
        parser.add_argument(
            "--help-text",
            help="Markdown shown above the upload form, in every language without its own",
        )
        for code, _name in LANGUAGE_CHOICES:
            parser.add_argument(
                f"--help-text-{code}", help=f"the help text in {code}; '' removes it"
            )
        parser.add_argument("--privacy-url")
        parser.add_argument("--imprint-url")
        parser.add_argument("--bundle-products", help="comma-separated bundle product codes")
        parser.add_argument("--language", help="default language code, e.g. de")
        parser.add_argument("--languages", help="language codes offered, e.g. de,fr,en")
        parser.add_argument("--active", choices=["true", "false"])
        parser.add_argument("--activation", choices=["on", "off"])
        parser.add_argument("--deactivation", choices=["on", "off"])

    def handle(self, *args: object, **options: object) -> None:
        host = normalize_host(str(options["host"]))
        with transaction.atomic():
            tenant_host = TenantHost.objects.select_related("tenant").filter(host=host).first()
            tenant = tenant_host.tenant if tenant_host else TenantSettings()
            created = tenant.pk is None
            if created:
                tenant.slug = options["slug"] or slugify(host.replace(".", "-"))[:63]
            elif options["slug"]:
                tenant.slug = options["slug"]
            _apply_options(tenant, options)
            _validate(tenant, created)
            tenant.save()
            if tenant_host is None:
                host_row = TenantHost(tenant=tenant, host=host)
                _full_clean(host_row)
                host_row.save()
        verb = "Created" if created else "Updated"
        self.stdout.write(f"{verb} tenant {tenant.slug!r} ({tenant.name}) at {host}.")


def _apply_options(tenant: TenantSettings, options: dict[str, object]) -> None:
    for option, field in _TEXT_OPTIONS.items():
        if options.get(option) is not None:
            setattr(tenant, field, str(options[option]))
    if options.get("primary_color"):
        tenant.primary_color = tenant.primary_color.upper()
    if options.get("accent_color"):
        tenant.accent_color = tenant.accent_color.upper()
    help_texts = dict(tenant.help_texts or {})
    for code, _name in LANGUAGE_CHOICES:
        if options.get(f"help_text_{code}") is not None:
            help_texts[code] = str(options[f"help_text_{code}"]).strip()
    tenant.help_texts = {code: text for code, text in help_texts.items() if text}
    if options.get("shared_key") is not None:
        tenant.set_shared_key(_secret(str(options["shared_key"])))
    if options.get("client_secret") is not None:
        tenant.set_client_secret(_secret(str(options["client_secret"])))
    for kind in ("logo", "favicon"):
        if options.get(kind):
            data = _read(Path(str(options[kind])))
            setattr(tenant, kind, data)
            setattr(tenant, f"{kind}_type", _image_type(data))
    if options.get("active"):
        tenant.active = options["active"] == "true"
    if options.get("activation"):
        tenant.activation_enabled = options["activation"] == "on"
    if options.get("deactivation"):
        tenant.deactivation_enabled = options["deactivation"] == "on"


def _secret(value: str) -> str:
    return sys.stdin.readline().strip() if value == "-" else value


def _validate(tenant: TenantSettings, created: bool) -> None:
    if created and not tenant.name:
        raise CommandError("--name is required for a new tenant.")
    _full_clean(tenant)


def _full_clean(instance: object) -> None:
    try:
        instance.full_clean()
    except ValidationError as error:
        details = "; ".join(
            f"{field}: {' '.join(msgs)}" for field, msgs in error.message_dict.items()
        )
        raise CommandError(details) from None


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise CommandError(f"Cannot read {path}: {error.strerror}") from None


def _image_type(data: bytes) -> str:
    try:
        return image_content_type(data)
    except ValidationError as error:
        raise CommandError(" ".join(error.messages)) from None
