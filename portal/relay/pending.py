"""Checked request files waiting for the user's confirmation (PendingUpload rows).

Kept encrypted for PENDING_SECONDS, on the tenant that checked them: a token from another
tenant's host, or an expired one, finds nothing. Never echoed back into a page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone

from portal.relay.models import PendingUpload
from portal.tenants.secrets import SecretUnreadable, decrypt_kept_file, encrypt_kept_file

PENDING_SECONDS = 30 * 60


@dataclass(frozen=True)
class Pending:
    pk: int
    token: str
    filename: str
    text: str = field(repr=False)


def keep_pending(*, tenant_slug: str, filename: str, text: str) -> str:
    """Keep a checked file's text until it is confirmed; return the token that names it."""
    row = PendingUpload.objects.create(
        tenant_slug=tenant_slug,
        filename=filename[:255],
        content=encrypt_kept_file(text),
        expires_at=timezone.now() + timedelta(seconds=PENDING_SECONDS),
    )
    return row.token


def find_pending(*, tenant_slug: str, token: str) -> Pending | None:
    row = PendingUpload.objects.filter(
        token=token, tenant_slug=tenant_slug, expires_at__gt=timezone.now()
    ).first()
    if row is None:
        return None
    try:
        text = decrypt_kept_file(row.content)
    except SecretUnreadable:  # kept under a key that has since been dropped
        return None
    return Pending(pk=row.pk, token=row.token, filename=row.filename, text=text)


def drop_pending(*, tenant_slug: str, token: str) -> None:
    PendingUpload.objects.filter(token=token, tenant_slug=tenant_slug).delete()


def forget_sent(pending: Pending) -> None:
    """Drop the row of a file just sent. One DELETE by its key: Model.delete() of a row that
    nothing refers to opens no transaction, where QuerySet.delete() does (on SQLite, a write
    lock held across the upload's waits for its worker: portal/relay/store.py). A row already
    gone (a double submit that sent it too) deletes nothing."""
    PendingUpload(pk=pending.pk).delete()


def purge_expired_pending() -> int:
    deleted, _ = PendingUpload.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted
