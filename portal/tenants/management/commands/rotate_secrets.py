"""manage.py rotate_secrets: re-encrypt every stored secret under the newest PORTAL_SECRETS_KEY."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import Q

from portal.tenants.models import TenantSettings
from portal.tenants.secrets import rotate_secret


class Command(BaseCommand):
    help = (
        "Re-encrypt tenants' shared keys and OAuth client secrets with the first key in "
        "PORTAL_SECRETS_KEY."
    )

    def handle(self, *args: object, **options: object) -> None:
        counts = {"shared_key_encrypted": 0, "client_secret_encrypted": 0}
        stored = ~Q(shared_key_encrypted="") | ~Q(client_secret_encrypted="")
        with transaction.atomic():
            for tenant in TenantSettings.objects.filter(stored).defer("logo", "favicon"):
                for field in counts:
                    if getattr(tenant, field):
                        setattr(tenant, field, rotate_secret(getattr(tenant, field)))
                        counts[field] += 1
                tenant.save(update_fields=[*counts, "updated_at"])
        self.stdout.write(
            f"Re-encrypted {counts['shared_key_encrypted']} shared key(s) and "
            f"{counts['client_secret_encrypted']} client secret(s) under the newest key."
        )
