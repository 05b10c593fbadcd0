"""The relay's reads and writes of RelayResult and LearnedBundle rows, on the upload path.

The four that every upload makes (claim, finish or release, the learned-bundle check) are one
SQL statement each, written out here rather than built by the ORM: building a query cost more
CPU than SQLite or PostgreSQL spend running it (see `make bench`). Values other than text
and aware times go through the model fields' own conversion (`get_db_prep_save`), and times
through the backend's (where that conversion ends), so the rows are exactly what the ORM would
write and read back (tests/test_services.py checks). The rarer reads stay with the ORM.
On SQLite the writes are plain statements outside a transaction, without RETURNING, so they
hold the writer queue (portal/sqlite) as briefly as possible. Each function looks the thread's
connection up once (`_db()`): `django.db.connection` is a proxy that looks it up again on
every attribute, 4 us each.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from functools import cache

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import CharField, DateTimeField, Field, Model
from django.utils import timezone

from portal.relay.models import LearnedBundle, RelayResult

_POLL_SECONDS = 0.1
_PURGE_EVERY_SECONDS = 60.0
_last_purge = float("-inf")


def claim(*, tenant_slug: str, request_hash: str, kind: str, filename: str) -> RelayResult:
    """Insert a pending row for this request file and return it, with `claimed` set to
    whether this call made it (False: another request holds the file, and its row is
    returned, unless it expired and was removed, which makes this call try again)."""
    _purge_now_and_then()
    wait = settings.LICENSE_API_CONNECT_TIMEOUT + 2 * settings.LICENSE_API_READ_TIMEOUT + 5
    now = timezone.now()
    result = RelayResult(
        tenant_slug=tenant_slug,
        request_hash=request_hash,
        kind=kind,
        filename=filename[:255],
        created_at=now,
        expires_at=now + timedelta(seconds=wait),
    )
    if _insert_unless_exists(result):
        result.claimed = True
        return result
    rows = RelayResult.objects.filter(tenant_slug=tenant_slug, request_hash=request_hash)
    existing = rows.first()
    if existing is not None and existing.expires_at <= timezone.now():
        RelayResult.objects.filter(pk=existing.pk, expires_at__lte=timezone.now()).delete()
        existing = None
    if existing is None:  # expired, or finished and removed in between: claim again
        return claim(
            tenant_slug=tenant_slug, request_hash=request_hash, kind=kind, filename=filename
        )
    existing.claimed = False
    return existing


_FINISHED = ("state", "summary", "license_file", "expires_at")


def finish(result: RelayResult) -> None:
    """Mark a claimed row done, with its summary and license file, kept for
    PORTAL_RESULT_TTL seconds from now."""
    result.state = RelayResult.State.DONE
    result.expires_at = timezone.now() + timedelta(seconds=settings.PORTAL_RESULT_TTL)
    db = _db()
    with db.cursor() as cursor:
        cursor.execute(_finish_sql(), [*_values(db, result, _FINISHED), result.pk])


def release(result: RelayResult) -> None:
    """Remove a claimed row whose relay failed: the same file may be tried again at once."""
    with _db().cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {_table(RelayResult)} WHERE {_column(RelayResult, 'id')} = %s",
            [result.pk],
        )


def wait_for(result: RelayResult) -> RelayResult | None:
    """Wait while another request relays the same file; None when it failed (row removed)."""
    while True:
        current = RelayResult.objects.filter(pk=result.pk).first()
        if current is None:
            return None
        if current.state == RelayResult.State.DONE:
            return current
        if current.expires_at <= timezone.now():
            return None
        time.sleep(_POLL_SECONDS)


def find_result(*, tenant_slug: str, token: str) -> RelayResult | None:
    """A finished, unexpired result made on this tenant's portal, or None."""
    return RelayResult.objects.filter(
        token=token,
        tenant_slug=tenant_slug,
        state=RelayResult.State.DONE,
        expires_at__gt=timezone.now(),
    ).first()


def purge_expired_results() -> int:
    deleted, _ = RelayResult.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted


def is_learned_bundle(*, tenant_slug: str, product: str) -> bool:
    """Whether the License API once said this tenant's product is a bundle."""
    with _db().cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {_table(LearnedBundle)} WHERE {_column(LearnedBundle, 'tenant_slug')}"
            f" = %s AND {_column(LearnedBundle, 'product')} = %s",
            [tenant_slug, product],
        )
        return cursor.fetchone() is not None


def learn_bundle(*, tenant_slug: str, product: str) -> None:
    LearnedBundle.objects.get_or_create(tenant_slug=tenant_slug, product=product)


def release_connection() -> None:
    """Give a pooled connection (PostgreSQL, settings.py) back before a long wait such as the
    License API call; the next query takes one from the pool again. Not inside a transaction,
    and not without a pool, where closing would only cost a reconnect."""
    db = _db()
    if db.settings_dict.get("OPTIONS", {}).get("pool") and not db.in_atomic_block:
        db.close()


def _purge_now_and_then() -> None:
    """Delete expired results at most once a minute per process: a write on every upload
    costs SQLite writers more than stale rows cost anyone (find_result ignores them)."""
    global _last_purge
    now = time.monotonic()
    if now - _last_purge >= _PURGE_EVERY_SECONDS:
        _last_purge = now
        purge_expired_results()


_INSERTED = tuple(field.name for field in RelayResult._meta.concrete_fields if field.name != "id")


def _insert_unless_exists(result: RelayResult) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING: True, with result.pk set, when the row went in."""
    # SQLite: the id of the row just inserted (none when the conflict skipped it) without
    # RETURNING, which would keep the statement, and the write lock, open until it is read.
    db = _db()
    returning = db.vendor != "sqlite"
    with db.cursor() as cursor:
        cursor.execute(_insert_sql(returning=returning), _values(db, result, _INSERTED))
        if returning:
            row = cursor.fetchone()
            result.pk = row[0] if row else None
        else:
            result.pk = cursor.lastrowid if cursor.rowcount == 1 else None
    if result.pk is not None:
        result._state.adding = False
        result._state.db = db.alias
    return result.pk is not None


@cache
def _finish_sql() -> str:
    assignments = ", ".join(f"{_column(RelayResult, name)} = %s" for name in _FINISHED)
    return f"UPDATE {_table(RelayResult)} SET {assignments} WHERE {_column(RelayResult, 'id')} = %s"


@cache
def _insert_sql(*, returning: bool) -> str:
    columns = ", ".join(_column(RelayResult, name) for name in _INSERTED)
    placeholders = ", ".join(["%s"] * len(_INSERTED))
    unique = f"{_column(RelayResult, 'tenant_slug')}, {_column(RelayResult, 'request_hash')}"
    sql = (
        f"INSERT INTO {_table(RelayResult)} ({columns}) VALUES ({placeholders}) "
        f"ON CONFLICT ({unique}) DO NOTHING"
    )
    return sql + f" RETURNING {_column(RelayResult, 'id')}" if returning else sql


def _values(db: BaseDatabaseWrapper, instance: Model, names: tuple[str, ...]) -> list[object]:
    """The fields' values as the database takes them: text as it is (what a CharField would
    make of it), an aware datetime as the backend adapts it (the end of DateTimeField's own
    conversion, whose checks are for naive ones), the rest (JSON, bytes) converted by the
    field."""
    values = []
    for field in _fields(type(instance), names):
        value = getattr(instance, field.attname)
        if type(value) is str and isinstance(field, CharField):
            pass
        elif type(value) is datetime and value.tzinfo and isinstance(field, DateTimeField):
            value = db.ops.adapt_datetimefield_value(value)
        else:
            value = field.get_db_prep_save(value, db)
        values.append(value)
    return values


@cache
def _fields(model: type[Model], names: tuple[str, ...]) -> tuple[Field, ...]:
    return tuple(model._meta.get_field(name) for name in names)


def _db() -> BaseDatabaseWrapper:
    return connections[DEFAULT_DB_ALIAS]


@cache
def _table(model: type[Model]) -> str:
    return _db().ops.quote_name(model._meta.db_table)


@cache
def _column(model: type[Model], name: str) -> str:
    return _db().ops.quote_name(model._meta.get_field(name).column)
