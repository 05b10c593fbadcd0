"""Activity: one row per relay of a tenant, searched, exported and counted per day."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from portal.console.charts import Days
from portal.console.models import Activity, ConsoleSettings
from portal.licensespring.request_files import RequestFile

logger = logging.getLogger("portal.console")

CSV_COLUMNS = [
    "time",
    "kind",
    "product",
    "license",
    "computer",
    "outcome",
    "code",
    "reference",
    "upstream_ms",
]


def record_activity(tenant_pk: int | None, request_file: RequestFile | None, line: dict) -> None:
    """One insert from the relay's log line; never raises (a relay must not fail for want of
    its activity row). The license key shows its last four only; never a password or body."""
    if tenant_pk is None:
        return  # the environment-configured tenant has no console
    try:
        license_key = request_file.license_key if request_file else ""
        username = request_file.username if request_file else ""
        Activity.objects.create(
            tenant_id=tenant_pk,
            reference=line["reference"],
            outcome=line["outcome"],
            kind=line["kind"] or "",
            product=(line["product"] or "")[:100],
            license=f"…{license_key[-4:]}" if license_key else username[:254],
            license_last4=license_key[-4:].upper() if license_key else "",
            computer=request_file.device.hostname[:254] if request_file else "",
            code=line["code"] or "",
            upstream_ms=line["upstream_ms"],
        )
    except Exception:
        logger.exception("activity of %s not recorded", line.get("reference"))


def filter_activity(tenant_pk: int, filters: dict) -> QuerySet[Activity]:
    rows = Activity.objects.filter(tenant_id=tenant_pk)
    if filters.get("date_from"):
        rows = rows.filter(at__gte=_start_of(filters["date_from"]))
    if filters.get("date_to"):
        rows = rows.filter(at__lt=_start_of(filters["date_to"] + timedelta(days=1)))
    for name, lookup in [
        ("kind", "kind"),
        ("product", "product__iexact"),
        ("outcome", "outcome"),
        ("reference", "reference__iexact"),
        ("last4", "license_last4__iexact"),
    ]:
        if filters.get(name):
            rows = rows.filter(**{lookup: filters[name].strip()})
    return rows


def csv_rows(rows: QuerySet[Activity]) -> Iterator[list[object]]:
    yield CSV_COLUMNS
    for row in rows.iterator(chunk_size=500):
        yield [_inert(cell) for cell in _csv_cells(row)]


def _csv_cells(row: Activity) -> list[object]:
    return [
        row.at.isoformat(),
        row.kind,
        row.product,
        row.license,
        row.computer,
        row.outcome,
        row.code,
        row.reference,
        "" if row.upstream_ms is None else row.upstream_ms,
    ]


def _inert(cell: object) -> object:
    """Product and computer names come from end users' request files: a spreadsheet must not
    run one as a formula (OWASP's CSV injection advice: lead with a quote)."""
    if isinstance(cell, str) and cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + cell
    return cell


def count_per_product(tenant_pk: int, days: int) -> tuple[list[date], dict[str, Days]]:
    """The last `days` days, and for each product relayed successfully in them, its
    (day, activations, deactivations) on each of those days."""
    today = timezone.localdate()
    first = today - timedelta(days=days - 1)
    counts = (
        Activity.objects.filter(tenant_id=tenant_pk, at__gte=_start_of(first), outcome="ok")
        .annotate(day=TruncDate("at"))
        .values("product", "day", "kind")
        .annotate(n=Count("pk"))
    )
    found = {(row["product"], row["day"], row["kind"]): row["n"] for row in counts}
    calendar = [first + timedelta(days=offset) for offset in range(days)]
    per_product = {
        product: [
            (day, found.get((product, day, "activation"), 0),
             found.get((product, day, "deactivation"), 0))
            for day in calendar
        ]
        for product in sorted({product for product, _day, _kind in found})
    }  # fmt: skip
    return calendar, per_product


def retention_days(tenant_pk: int) -> int:
    stored = ConsoleSettings.objects.filter(tenant_id=tenant_pk).first()
    return stored.activity_retention_days if stored else 365


def purge_old_activity() -> int:
    """Delete each tenant's activity older than its retention; return how many rows went."""
    deleted = 0
    tenant_pks = Activity.objects.values_list("tenant_id", flat=True).distinct()
    for tenant_pk in list(tenant_pks):
        cutoff = timezone.now() - timedelta(days=retention_days(tenant_pk))
        deleted += Activity.objects.filter(tenant_id=tenant_pk, at__lt=cutoff).delete()[0]
    return deleted


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))
