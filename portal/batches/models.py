"""A batch: many request files relayed in one go, one item per file (issue 24, item 6).

Everything a batch's run needs is in these rows, not in a process: any worker of any instance
can carry on a batch whose runner died (runner.py). A file may hold an end user's password in
clear, so its content is kept encrypted (tenants.secrets) and dropped once it is relayed.
"""

from __future__ import annotations

import secrets

from django.db import models


def _new_token() -> str:
    return secrets.token_urlsafe(24)


class Batch(models.Model):
    """The files one person sent at once, on one tenant's host, kept PORTAL_RESULT_TTL seconds
    (from when it was made, then again from when its last file was relayed)."""

    token = models.CharField(max_length=64, unique=True, default=_new_token, editable=False)
    tenant_slug = models.CharField(max_length=100)
    # The sender's address as the rate limiter counts it: each file counts as one upload.
    client = models.CharField(max_length=64)
    # The sender's language: the runner writes each file's message in it.
    language = models.CharField(max_length=16, default="en")
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(db_index=True)
    # The lease of the runner relaying this batch: a poll starts a new runner once it lapsed.
    runner_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "batches"

    def __str__(self) -> str:
        return f"batch of {self.tenant_slug} at {self.created_at:%Y-%m-%d %H:%M}"


class BatchItem(models.Model):
    """One file of a batch: what it holds (for the list and the table), then how it went."""

    class State(models.TextChoices):
        PENDING = "pending"  # not relayed yet (or its runner died: claimed_until lapsed)
        DONE = "done"

    class Outcome(models.TextChoices):
        NONE = ""
        ACTIVATED = "activated"
        DEACTIVATED = "deactivated"
        FAILED = "failed"  # the relay refused it or the License API did
        INVALID = "invalid"  # not a request file this portal can send: never sent

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField()
    filename = models.CharField(max_length=255)
    kind = models.CharField(max_length=16, blank=True)  # activation, deactivation, or ""
    computer = models.CharField(max_length=255, blank=True)
    product = models.CharField(max_length=200, blank=True)  # its name where known
    product_code = models.CharField(max_length=200, blank=True)
    license_label = models.CharField(max_length=255, blank=True)  # "…ABCD" or an e-mail
    warnings = models.JSONField(default=list, blank=True)
    content = models.TextField(blank=True)  # the file, encrypted; emptied once relayed
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    claimed_until = models.DateTimeField(null=True, blank=True)
    not_before = models.DateTimeField(null=True, blank=True)  # waiting for the rate limit
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True)
    code = models.CharField(max_length=64, blank=True)
    message = models.TextField(blank=True)
    reference = models.CharField(max_length=16, blank=True)
    result_token = models.CharField(max_length=64, blank=True)
    license_file = models.BinaryField(blank=True, default=b"")

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "position"], name="one_item_per_position")
        ]

    def __str__(self) -> str:
        return f"{self.filename} ({self.state})"
