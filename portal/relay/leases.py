"""The leases of the claims this process holds, renewed by one heartbeat thread.

A claim (a pending RelayResult) stops protecting its file when its lease, `expires_at`, runs
out; a waiting upload then takes the file over. While the owner's License API call runs, a
daemon thread renews the lease of every claim the process holds, in one UPDATE every third
of PORTAL_CLAIM_LEASE_SECONDS: a live owner keeps its claim for as long as its call can take,
and a killed one (SIGKILL, out of memory, a lost machine) stops renewing, so its claim is
free again within one lease. The lease is in the database, which every worker and instance
shares; this process only remembers which rows are its own.

Renewal stops once a claim is older than the longest relay (two License API calls, when a
product turns out to be a bundle, each within LICENSE_API_DEADLINE) plus a margin: a thread
stuck past every deadline cannot hold a file for ever.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from datetime import timedelta

from django.conf import settings
from django.core.signals import setting_changed
from django.db import connection
from django.dispatch import receiver
from django.utils import timezone

from portal.relay.models import RelayResult

logger = logging.getLogger("portal.relay")

_MARGIN_SECONDS = 10.0

_held: dict[int, float] = {}  # claim's primary key -> when it was made (time.monotonic)
_lock = threading.Lock()
_heartbeat: threading.Thread | None = None
_wake = threading.Event()


def lease_seconds() -> float:
    return settings.PORTAL_CLAIM_LEASE_SECONDS


def hold(pk: int) -> None:
    """Renew this claim's lease until `drop`, in a heartbeat started on the first claim."""
    global _heartbeat
    with _lock:
        _held[pk] = time.monotonic()
        if _heartbeat is None or not _heartbeat.is_alive():
            _heartbeat = threading.Thread(
                target=_beat_forever, name="relay-claim-heartbeat", daemon=True
            )
            _heartbeat.start()


def drop(pk: int) -> None:
    with _lock:
        _held.pop(pk, None)


def renew_held_claims() -> int:
    """Extend the lease of every pending claim this process holds; how many were renewed."""
    oldest = time.monotonic() - (2 * settings.LICENSE_API_DEADLINE + _MARGIN_SECONDS)
    with _lock:
        for pk in [pk for pk, since in _held.items() if since < oldest]:
            del _held[pk]
        held = list(_held)
    if not held:
        return 0
    until = timezone.now() + timedelta(seconds=lease_seconds())
    return RelayResult.objects.filter(pk__in=held, state=RelayResult.State.PENDING).update(
        expires_at=until
    )


def _beat_forever() -> None:
    while True:
        _wake.wait(lease_seconds() / 3)
        _wake.clear()
        try:
            renew_held_claims()
        except Exception as error:  # the database did not answer: the next beat tries again
            logger.warning("claim leases not renewed (%s)", type(error).__name__)
        finally:
            connection.close()  # this thread's own; back to the pool on PostgreSQL


@receiver(setting_changed)
def _beat_at_the_new_pace(*, setting: str, **kwargs: object) -> None:
    """A changed lease (tests change it) takes effect now, not after a beat at the old pace."""
    if setting == "PORTAL_CLAIM_LEASE_SECONDS":
        _wake.set()


def _forget_after_fork() -> None:
    # A forked child (a gunicorn worker) holds none of its parent's claims, and has no thread.
    global _heartbeat, _lock, _wake
    _held.clear()
    _heartbeat = None
    _lock = threading.Lock()
    _wake = threading.Event()


os.register_at_fork(after_in_child=_forget_after_fork)
