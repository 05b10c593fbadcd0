"""The relay's reads and writes of RelayResult and LearnedBundle rows, through the ORM.

One upload of a file claims it (a pending row, unique per tenant and file), calls the License
API, then finishes the row (the result, kept PORTAL_RESULT_TTL seconds) or releases it (the
call failed: the file may be tried again at once). Uploads of the same file meanwhile wait for
the claim and reuse its result; a claim whose lease lapsed (its owner died: leases.py) is
taken over. Every write is one statement (a create() whose IntegrityError says another upload
was first, an update(), a delete()), so no row is ever read and then written on a stale view:
on PostgreSQL as on SQLite, nothing here needs a row lock (select_for_update).

An upload's usual way opens no transaction: a statement in autocommit holds SQLite's one write
lock only while SQLite runs it, where a transaction held it from BEGIN to COMMIT, across every
wait of its upload for its worker (the GIL under gthread, the other greenlets under gevent).
Under load the relay's transactions held that lock half of the time, and every other write
waited for it in SQLite's busy handler, which sleeps 1, 2, 5, 10... ms between tries
(docs/performance.md). QuerySet.delete() still opens one of its own, on the rarer ways: a
failed call, a lapsed claim, a kept result made untrue.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from portal.licensespring.request_files import RequestFile
from portal.relay import leases, pending
from portal.relay.models import LearnedBundle, RelayResult
from portal.relay.outcomes import product_name_in

_POLL_SECONDS = 0.1
_PURGE_EVERY_SECONDS = 60.0
_last_purge = float("-inf")


def claim(*, tenant_slug: str, request_file: RequestFile, filename: str) -> RelayResult:
    """The row of this request file, with `claimed` set to whether this call made it (and so
    must relay the file) or another upload holds it (claimed False: wait for it, or reuse
    it when done). A row whose lease or keeping time is over is removed and claimed anew."""
    _purge_now_and_then()
    request_hash = _request_hash(request_file)
    while True:
        result = _insert_claim(tenant_slug, request_hash, request_file, filename)
        if result is not None:
            leases.hold(result.pk)
            result.claimed = True
            return result
        rows = RelayResult.objects.filter(tenant_slug=tenant_slug, request_hash=request_hash)
        existing = rows.first()
        if existing is None:
            continue  # the row went between the insert and the read: claim again
        if existing.expires_at > timezone.now():
            existing.claimed = False
            return existing
        # Its lease lapsed (a dead owner) or its keeping time ended: remove it, claim again.
        rows.filter(pk=existing.pk, expires_at__lte=timezone.now()).delete()


def _insert_claim(
    tenant_slug: str, request_hash: str, request_file: RequestFile, filename: str
) -> RelayResult | None:
    """A new pending row, or None when the file already has one (the unique constraint)."""
    try:
        with _savepoint_if_in_transaction():
            return RelayResult.objects.create(
                tenant_slug=tenant_slug,
                request_hash=request_hash,
                kind=request_file.kind,
                filename=filename[:255],
                expires_at=timezone.now() + timedelta(seconds=leases.lease_seconds()),
                license_hash=_license_hash(request_file),
                hardware_hash=_digest(request_file.hardware_id),
                product=request_file.product[:200],
            )
    except IntegrityError:
        return None


def finish(result: RelayResult) -> None:
    """Mark a claimed row done, with its summary and license file, kept for
    PORTAL_RESULT_TTL seconds from now; and drop the kept results it makes untrue: a
    deactivation frees the seat that the same computer's kept activations of this license
    hold, an activation takes the seat a kept deactivation freed."""
    result.state = RelayResult.State.DONE
    result.expires_at = timezone.now() + timedelta(seconds=settings.PORTAL_RESULT_TTL)
    opposite = (
        RelayResult.Kind.ACTIVATION
        if result.kind == RelayResult.Kind.DEACTIVATION
        else RelayResult.Kind.DEACTIVATION
    )
    RelayResult.objects.filter(pk=result.pk).update(
        state=result.state,
        summary=result.summary,
        license_file=result.license_file,
        expires_at=result.expires_at,
    )
    # Done first, then the opposite ones dropped: two results of one computer finishing at once
    # each drop the other once it is done, so at most one of them is kept (never both). Pending
    # ones are left to their owners: their calls may come before or after this. Usually there
    # are none: the read spares the transaction that QuerySet.delete() opens.
    untrue = RelayResult.objects.filter(
        tenant_slug=result.tenant_slug,
        license_hash=result.license_hash,
        hardware_hash=result.hardware_hash,
        kind=opposite,
        state=RelayResult.State.DONE,
    )
    if untrue.exists():
        untrue.delete()
    leases.drop(result.pk)


def release(result: RelayResult) -> None:
    """Remove a claimed row whose relay failed: the same file may be tried again at once."""
    leases.drop(result.pk)
    RelayResult.objects.filter(pk=result.pk).delete()


def wait_for(result: RelayResult) -> RelayResult | None:
    """Wait while another upload relays the same file; None when it failed (row removed) or
    its owner stopped renewing the claim (lease lapsed)."""
    while True:
        current = RelayResult.objects.filter(pk=result.pk).first()
        if current is None:
            return None
        if current.state == RelayResult.State.DONE:
            return current
        if current.expires_at <= timezone.now():
            return None
        release_connection()  # none held while the other upload's call runs
        time.sleep(_POLL_SECONDS)


def show_filename(result: RelayResult, filename: str) -> None:
    """A kept result reused by a new upload names that upload's file from now on, on its page
    too. Uploads of one file by two people at once: the later name wins, and both names are
    the same file's anyway."""
    if filename and filename[:255] != result.filename:
        result.filename = filename[:255]
        RelayResult.objects.filter(pk=result.pk).update(filename=result.filename)


def find_result(*, tenant_slug: str, token: str) -> RelayResult | None:
    """A finished, unexpired result made on this tenant's portal, or None."""
    return RelayResult.objects.filter(
        token=token,
        tenant_slug=tenant_slug,
        state=RelayResult.State.DONE,
        expires_at__gt=timezone.now(),
    ).first()


def find_kept_result(*, tenant_slug: str, request_file: RequestFile) -> RelayResult | None:
    """The finished, unexpired result of this very file on this tenant's portal (what claim
    would reuse), or None; claims nothing."""
    return RelayResult.objects.filter(
        tenant_slug=tenant_slug,
        request_hash=_request_hash(request_file),
        state=RelayResult.State.DONE,
        expires_at__gt=timezone.now(),
    ).first()


def find_hostname(*, tenant_slug: str, hardware_id: str) -> str:
    """The computer name a kept result of this tenant's gives for this hardware id, or ""."""
    summaries = RelayResult.objects.filter(
        tenant_slug=tenant_slug,
        hardware_hash=_digest(hardware_id),
        state=RelayResult.State.DONE,
        expires_at__gt=timezone.now(),
    ).values_list("summary", flat=True)
    return next((s.get("hostname") for s in summaries[:5] if s.get("hostname")), "")


def purge_expired_results() -> int:
    """Expired results, and checked files never confirmed (pending.py)."""
    deleted, _ = RelayResult.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted + pending.purge_expired_pending()


def known_product_name(*, tenant_slug: str, product: str) -> str:
    """The product's name as this tenant's newest kept activation of it gives it, or ""."""
    summaries = RelayResult.objects.filter(
        tenant_slug=tenant_slug,
        kind=RelayResult.Kind.ACTIVATION,
        state=RelayResult.State.DONE,
        expires_at__gt=timezone.now(),
        product=product[:200],
    ).order_by("-created_at")
    summary = summaries.values_list("summary", flat=True).first()
    return product_name_in(summary, product) if summary else ""


def is_learned_bundle(*, tenant_slug: str, product: str) -> bool:
    """Whether the License API once said this tenant's product is a bundle."""
    return LearnedBundle.objects.filter(tenant_slug=tenant_slug, product=product).exists()


def learn_bundle(*, tenant_slug: str, product: str) -> None:
    LearnedBundle.objects.get_or_create(tenant_slug=tenant_slug, product=product)


def release_connection() -> None:
    """Give a pooled connection (PostgreSQL, settings.py) back before a long wait such as the
    License API call; the next query takes one from the pool again. Not inside a transaction,
    and not without a pool, where closing would only cost a reconnect."""
    if connection.settings_dict.get("OPTIONS", {}).get("pool") and not connection.in_atomic_block:
        connection.close()


def _savepoint_if_in_transaction() -> contextlib.AbstractContextManager:
    """atomic() inside a caller's transaction, so that an IntegrityError leaves it usable (a
    savepoint); nothing in autocommit, where the statement is its own transaction."""
    if transaction.get_autocommit():
        return contextlib.nullcontext()
    return transaction.atomic()


def _purge_now_and_then() -> None:
    """Delete expired results at most once a minute per process: stale rows cost no one
    anything meanwhile (find_result and claim look at expires_at)."""
    global _last_purge
    now = time.monotonic()
    if now - _last_purge >= _PURGE_EVERY_SECONDS:
        _last_purge = now
        purge_expired_results()


def _request_hash(request_file: RequestFile) -> str:
    return hashlib.sha256(request_file.text.encode()).hexdigest()


def _license_hash(request_file: RequestFile) -> str:
    if request_file.license_key:
        return _digest(f"key:{request_file.license_key}")
    return _digest(f"user:{request_file.username}")


def _digest(text: str) -> str:
    # surrogatepass: a file's JSON may hold any code point, a lone surrogate included.
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
