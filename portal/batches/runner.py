"""Relaying a confirmed batch in the background, a few files at a time, resumable anywhere.

The confirm POST starts a runner thread and answers at once. The runner relays the batch's
pending files through a pool of PORTAL_BATCH_CONCURRENCY threads, so one engineer's batch
never takes more than that many of the License API calls a worker can make at once.

State is in the database, never only in this process: the runner holds a lease on the batch
(`runner_until`) and one on each file it relays (`claimed_until`), renewed every third of
PORTAL_CLAIM_LEASE_SECONDS. If the process dies, the leases lapse, and the next look at the
batch's page (any worker, any instance) starts a new runner, which takes the files nobody
holds. Two runners never relay one batch at once (the batch lease); a file whose claim lapsed
while its call still ran may be taken again, and then the relay's own claim on equal files
(relay/store.py) makes the second wait for the first instead of calling upstream twice.

A file over the rate limit waits: it goes back to the queue until its window ends. An
engineer who sends 40 files wants 40 license files, not 10 and 30 refusals to send again;
the limit still holds, since each file counts as one upload when it is sent.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone, translation

from portal.batches.models import Batch, BatchItem
from portal.batches.relaying import Entry, relay_file
from portal.batches.store import entry_of, read_content
from portal.operations.rate_limits import enforce_client_rate_limit
from portal.relay.errors import RelayError
from portal.tenants.resolution import Tenant

logger = logging.getLogger("portal.batches")


def confirm_batch(batch: Batch, *, tenant: Tenant) -> None:
    """The user's one confirmation: relay the batch's files from now on."""
    Batch.objects.filter(pk=batch.pk, confirmed_at__isnull=True).update(confirmed_at=timezone.now())
    batch.refresh_from_db()
    resume_batch(batch, tenant=tenant)


def resume_batch(batch: Batch, *, tenant: Tenant) -> bool:
    """Start a runner for a confirmed, unfinished batch, unless a live one holds it."""
    if batch.confirmed_at is None or batch.finished_at is not None:
        return False
    now = timezone.now()
    taken = (
        Batch.objects.filter(pk=batch.pk, finished_at__isnull=True)
        .filter(Q(runner_until__isnull=True) | Q(runner_until__lt=now))
        .update(runner_until=now + _lease())
    )
    if not taken:
        return False
    name = f"batch-runner-{batch.pk}"
    threading.Thread(target=run_batch, args=(batch.pk, tenant), name=name, daemon=True).start()
    return True


def run_batch(batch_pk: int, tenant: Tenant) -> None:
    """Relay the batch's pending files until none is left, then mark it finished."""
    batch = Batch.objects.get(pk=batch_pk)
    limit = settings.PORTAL_BATCH_CONCURRENCY
    running: dict[Future[None], int] = {}
    try:
        with ThreadPoolExecutor(max_workers=limit, thread_name_prefix="batch") as pool:
            while True:
                for item_pk in _claim_items(batch_pk, limit - len(running)):
                    running[pool.submit(_relay_item, item_pk, batch, tenant)] = item_pk
                if running:
                    done, _ = wait(running, timeout=_beat(), return_when=FIRST_COMPLETED)
                    for future in done:
                        del running[future]
                elif _pending(batch_pk).exists():
                    time.sleep(_beat())  # files waiting for the rate limit's next window
                else:
                    break
                _renew_leases(batch_pk, list(running.values()))
        _finish(batch_pk)
    except Exception as error:  # the database went away: the next look at the batch resumes it
        logger.warning("batch runner stopped (%s)", type(error).__name__)
    finally:
        connection.close()


def _claim_items(batch_pk: int, count: int) -> list[int]:
    """Up to `count` pending files that nobody holds and that may be sent now, claimed."""
    if count <= 0:
        return []
    now = timezone.now()
    free = (
        _pending(batch_pk)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .filter(Q(not_before__isnull=True) | Q(not_before__lte=now))
    )
    claimed = []
    for item_pk in free.values_list("pk", flat=True)[:count]:
        if free.filter(pk=item_pk).update(claimed_until=now + _lease()):
            claimed.append(item_pk)
    return claimed


def _relay_item(item_pk: int, batch: Batch, tenant: Tenant) -> None:
    try:
        with translation.override(batch.language):
            item = BatchItem.objects.get(pk=item_pk)
            try:
                enforce_client_rate_limit(batch.client, tenant_slug=tenant.slug)
            except RelayError as error:
                _wait_for_window(item_pk, error.retry_after or 1)
                return
            entry = relay_file(tenant=tenant, entry=entry_of(item), data=read_content(item))
            _store_outcome(item_pk, entry)
    except Exception as error:  # never a traceback here: its frames hold the file
        logger.warning("batch file not relayed (%s)", type(error).__name__)
        _store_failure(item_pk)
    finally:
        connection.close()


def _store_outcome(item_pk: int, entry: Entry) -> None:
    BatchItem.objects.filter(pk=item_pk).update(
        state=BatchItem.State.DONE,
        outcome=entry.outcome,
        product=entry.product[:200],
        code=entry.code,
        message=entry.message,
        reference=entry.reference,
        result_token=entry.result_token,
        license_file=entry.license_file,
        content="",  # relayed: the file (and any password in it) is no longer kept
        claimed_until=None,
        not_before=None,
    )


def _store_failure(item_pk: int) -> None:
    """A file the runner could not handle (a bug, a key that no longer decrypts): failed,
    rather than retried for ever."""
    try:
        entry = Entry("", outcome="failed", code="batch_error")
        entry.message = translation.gettext(
            "This file could not be sent. Please upload it on its own."
        )
        _store_outcome(item_pk, entry)
    except Exception as error:  # the database is away: the lease lapses, a later run retries
        logger.warning("batch file outcome not stored (%s)", type(error).__name__)


def _wait_for_window(item_pk: int, retry_after: int) -> None:
    BatchItem.objects.filter(pk=item_pk).update(
        claimed_until=None, not_before=timezone.now() + timedelta(seconds=retry_after)
    )


def _renew_leases(batch_pk: int, item_pks: list[int]) -> None:
    until = timezone.now() + _lease()
    Batch.objects.filter(pk=batch_pk).update(runner_until=until)
    if item_pks:
        BatchItem.objects.filter(pk__in=item_pks).update(claimed_until=until)


def _finish(batch_pk: int) -> None:
    """No file left to relay: the batch is kept PORTAL_RESULT_TTL seconds from now."""
    now = timezone.now()
    if _pending(batch_pk).exists():
        return
    Batch.objects.filter(pk=batch_pk).update(
        finished_at=now,
        expires_at=now + timedelta(seconds=settings.PORTAL_RESULT_TTL),
        runner_until=None,
    )


def _pending(batch_pk: int) -> QuerySet[BatchItem]:
    return BatchItem.objects.filter(batch_id=batch_pk, state=BatchItem.State.PENDING)


def _lease() -> timedelta:
    return timedelta(seconds=settings.PORTAL_CLAIM_LEASE_SECONDS)


def _beat() -> float:
    return settings.PORTAL_CLAIM_LEASE_SECONDS / 3
