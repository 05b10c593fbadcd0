"""Operations' rows: the rate limit's counters."""

from __future__ import annotations

from django.db import models


class RateLimitCounter(models.Model):
    """Requests counted for one tenant and client address in one window."""

    bucket = models.CharField(max_length=255, unique=True)  # tenant|client|window start
    hits = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        db_table = "portal_ratelimitcounter"  # made when it was part of the relay app

    def __str__(self) -> str:
        return f"{self.bucket}: {self.hits}"
