"""manage.py rotate_secrets: re-encrypt every stored secret under the newest PORTAL_SECRETS_KEY."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction

from portal.tenants.models import TenantSettings
from portal.tenants.secrets import rotate_secret


class Command(BaseCommand):
    help = "Re-encrypt tenants' shared keys with the first key in PORTAL_SECRETS_KEY."

    def handle(self, *args: object, **options: object) -> None:
        count = 0
        with transaction.atomic():
            for tenant in TenantSettings.objects.exclude(shared_key_encrypted="").defer(
                "logo", "favicon"
            ):
                tenant.shared_key_encrypted = rotate_secret(tenant.shared_key_encrypted)
                tenant.save(update_fields=["shared_key_encrypted", "updated_at"])
                count += 1
        self.stdout.write(f"Re-encrypted {count} shared key(s) under the newest key.")
