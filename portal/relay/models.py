"""The relay's rows: kept results (and their claims), and the bundles learnt from upstream."""

from __future__ import annotations

import secrets

from django.db import models


def _new_token() -> str:
    return secrets.token_urlsafe(24)


class RelayResult(models.Model):
    """What one relayed request file produced, downloadable for PORTAL_RESULT_TTL seconds.

    Kept in the database so that every worker and instance can serve the link. A row is
    claimed as `pending` before the upstream call, so a double click or a second upload of the
    same file waits for the first instead of spending a second seat. While pending,
    `expires_at` is the claim's lease, which its owner renews (portal/relay/leases.py); once
    done, the end of its keeping time.

    `license_hash` and `hardware_hash` name the license and the computer the file is about,
    so that a later deactivation can drop a kept activation of that computer, and the other
    way round: SHA-256 digests, never the license key or user name itself, and a fixed width
    whatever text a file puts in its hardware id.
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
    license_hash = models.CharField(max_length=64, blank=True)
    hardware_hash = models.CharField(max_length=64, blank=True)
    # The request file's product code, for the lookups of a product's name (result_product).
    product = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant_slug", "request_hash"], name="one_result_per_request_file"
            )
        ]
        # Each lookup of a check or a relay finds its rows through an index, never by reading
        # every kept result: those grow with the uploads (docs/performance.md).
        indexes = [
            models.Index(
                fields=["tenant_slug", "license_hash", "hardware_hash"], name="result_device"
            ),
            models.Index(fields=["tenant_slug", "hardware_hash"], name="result_computer"),
            models.Index(fields=["tenant_slug", "product", "created_at"], name="result_product"),
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


class PendingUpload(models.Model):
    """A request file checked on the upload page and waiting for the user's confirmation, so
    that confirming does not mean choosing the file again. The content may hold an end user's
    password in clear: it is stored encrypted (portal.tenants.secrets), on the tenant whose
    host checked it, and deleted once relayed or expired (portal/relay/pending.py)."""

    token = models.CharField(max_length=64, unique=True, default=_new_token, editable=False)
    tenant_slug = models.CharField(max_length=100)
    filename = models.CharField(max_length=255, blank=True)
    content = models.TextField()
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.tenant_slug}: {self.filename}"
