"""A batch's rows: made from the uploaded files, read back as entries, purged when expired.

Each file's content is encrypted before it is written (tenants.secrets: a user-based file
holds the end user's password in clear) and emptied once the file has been relayed.
"""

from __future__ import annotations

import base64
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from portal.batches.models import Batch, BatchItem
from portal.batches.relaying import Entry, describe_file
from portal.tenants.resolution import Tenant
from portal.tenants.secrets import decrypt_kept_file, encrypt_kept_file


def create_batch(
    *, tenant: Tenant, client: str, language: str, files: list[tuple[str, bytes]]
) -> Batch:
    """A new, unconfirmed batch of these (file name, content) pairs, read but not sent."""
    batch = Batch(
        tenant_slug=tenant.slug,
        client=client[:64],
        language=language,
        expires_at=timezone.now() + timedelta(seconds=settings.PORTAL_RESULT_TTL),
    )
    items = []
    for position, (filename, data) in enumerate(files):
        entry = describe_file(tenant=tenant, filename=filename, data=data)
        item = _item_from_entry(entry)
        item.position = position
        if entry.outcome == "invalid":
            item.state = BatchItem.State.DONE  # never sent: nothing to relay
        else:
            item.content = encrypt_kept_file(base64.b64encode(data).decode())
        items.append(item)
    with transaction.atomic():
        batch.save()
        for item in items:
            item.batch = batch
        BatchItem.objects.bulk_create(items)
    return batch


def find_batch(*, tenant: Tenant, token: str) -> Batch | None:
    """An unexpired batch made on this tenant's host, or None (another host's is unknown)."""
    return Batch.objects.filter(
        token=token, tenant_slug=tenant.slug, expires_at__gt=timezone.now()
    ).first()


def batch_entries(batch: Batch) -> list[tuple[BatchItem, Entry]]:
    return [(item, entry_of(item)) for item in batch.items.defer("content")]


def entry_of(item: BatchItem) -> Entry:
    return Entry(
        filename=item.filename,
        kind=item.kind,
        computer=item.computer,
        product=item.product,
        product_code=item.product_code,
        license_label=item.license_label,
        warnings=list(item.warnings),
        outcome=item.outcome,
        code=item.code,
        message=item.message,
        reference=item.reference,
        result_token=item.result_token,
        license_file=bytes(item.license_file),
    )


def read_content(item: BatchItem) -> bytes:
    """The file as it was uploaded, decrypted."""
    return base64.b64decode(decrypt_kept_file(item.content))


def purge_expired_batches() -> int:
    """Delete batches past their keeping time, with their items and encrypted files."""
    _, deleted = Batch.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted.get("batches.Batch", 0)


def _item_from_entry(entry: Entry) -> BatchItem:
    return BatchItem(
        filename=entry.filename[:255],
        kind=entry.kind,
        computer=entry.computer[:255],
        product=entry.product[:200],
        product_code=entry.product_code[:200],
        license_label=entry.license_label[:255],
        warnings=entry.warnings,
        outcome=entry.outcome,
        code=entry.code,
        message=entry.message,
    )
