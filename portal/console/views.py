"""The console's pages: activity (table, CSV, chart), audit, retention (brand: brand_views)."""

from __future__ import annotations

import csv

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from portal.console import activity, charts, staff
from portal.console.access import console_page
from portal.console.forms import ActivityFilterForm, RetentionForm
from portal.console.models import AuditEvent, ConsoleSettings

PAGE_SIZE = 50
CHART_RANGES = (30, 90)


@console_page()
def home(request: HttpRequest) -> HttpResponse:
    return redirect("console:activity")


@console_page()
def activity_list(request: HttpRequest) -> HttpResponse:
    form = ActivityFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    rows = activity.filter_activity(request.tenant.pk, filters)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "query": query.urlencode(), "section": "activity"}
    return render(request, "console/activity.html", context)


@console_page()
def activity_csv(request: HttpRequest) -> StreamingHttpResponse:
    form = ActivityFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    rows = activity.filter_activity(request.tenant.pk, filters)
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in activity.csv_rows(rows)),
        content_type="text/csv; charset=utf-8",
    )
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="activity-{stamp}.csv"'
    return response


@console_page()
def activity_chart(request: HttpRequest) -> HttpResponse:
    days = 90 if request.GET.get("days") == "90" else 30
    calendar, per_product = activity.count_per_product(request.tenant.pk, days)
    chart, product_charts = charts.draw_product_charts(calendar, per_product)
    context = {
        "chart": chart,
        "product_charts": product_charts,
        "table": charts.tabulate(per_product),
        "days": days,
        "ranges": CHART_RANGES,
        "section": "chart",
    }
    return render(request, "console/chart.html", context)


@console_page(owner_only=True)
def audit(request: HttpRequest) -> HttpResponse:
    events = AuditEvent.objects.filter(tenant_id=request.tenant.pk)
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "console/audit.html", {"page": page, "section": "audit"})


@console_page(owner_only=True)
def retention(request: HttpRequest) -> HttpResponse:
    stored, _created = ConsoleSettings.objects.get_or_create(tenant_id=request.tenant.pk)
    form = RetentionForm(
        request.POST or None,
        initial={"activity_retention_days": stored.activity_retention_days},
    )
    if request.method == "POST" and form.is_valid():
        stored.activity_retention_days = form.cleaned_data["activity_retention_days"]
        stored.save()
        staff.record_audit(
            member=request.staff_member,
            action="retention_changed",
            detail=str(stored.activity_retention_days),
        )
        return redirect("console:retention")
    return render(request, "console/retention.html", {"form": form, "section": "retention"})


class _Echo:
    """csv.writer's file: hands each written line back, for the streamed response."""

    def write(self, value: str) -> str:
        return value
