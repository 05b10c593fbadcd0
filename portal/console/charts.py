"""Activations and deactivations per day as SVG drawn on the server (no script, no CDN): all
products together, then one small chart per product on the same scale (small multiples, each
named in text: no colour to tell products apart), and the counts as a table.

Colours come from classes in static/console/console.css, so the chart follows light and dark
mode and the CSP (no inline style) holds."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

WIDTH, HEIGHT, PAD = 720, 240, 32
SMALL_HEIGHT = 140
# More products than this are drawn as one more chart, "other products": a chart per product
# stops being readable long before a vendor's catalogue ends.
MOST_PRODUCTS = 8

Days = list[tuple[date, int, int]]  # (day, activations, deactivations), oldest first


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css_class: str
    day: date
    count: int


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    peak: int
    baseline: float
    first_day: date
    last_day: date
    total_activations: int
    total_deactivations: int


@dataclass(frozen=True)
class ProductChart:
    product: str  # "" for the rest, past MOST_PRODUCTS
    chart: Chart


@dataclass(frozen=True)
class TableRow:
    day: date
    product: str
    activations: int
    deactivations: int


def draw_product_charts(
    calendar: list[date], per_product: dict[str, Days]
) -> tuple[Chart, list[ProductChart]]:
    """The chart of all products over `calendar`, and one per product (busiest first) on one
    scale; each product's days run over the same calendar."""
    named = sorted(per_product.items(), key=lambda item: (-_total(item[1]), item[0]))
    if len(named) > MOST_PRODUCTS:
        rest = _add(calendar, [days for _product, days in named[MOST_PRODUCTS - 1 :]])
        named = [*named[: MOST_PRODUCTS - 1], ("", rest)]
    peak = max([_peak(days) for _product, days in named] + [1])
    small = [
        ProductChart(product, draw_daily_chart(days, peak=peak, height=SMALL_HEIGHT))
        for product, days in named
    ]
    return draw_daily_chart(_add(calendar, per_product.values())), small


def tabulate(per_product: dict[str, Days]) -> list[TableRow]:
    """Each day and product with a relay, oldest first: the chart's data as text."""
    rows = [
        TableRow(day, product, activations, deactivations)
        for product, days in per_product.items()
        for day, activations, deactivations in days
        if activations or deactivations
    ]
    return sorted(rows, key=lambda row: (row.day, row.product))


def draw_daily_chart(days: Days, *, peak: int = 0, height: int = HEIGHT) -> Chart:
    """Two bars a day (activations, deactivations), scaled to `peak` (the busiest day's)."""
    peak = peak or _peak(days)
    slot = (WIDTH - 2 * PAD) / max(len(days), 1)
    bar_width = max(slot / 2 - 1, 1)
    plot_height = height - 2 * PAD
    baseline = height - PAD
    bars = []
    for index, (day, activations, deactivations) in enumerate(days):
        for offset, count, css_class in [
            (0, activations, "bar-activation"),
            (bar_width, deactivations, "bar-deactivation"),
        ]:
            bar_height = plot_height * count / peak
            bars.append(
                Bar(
                    x=round(PAD + index * slot + offset, 2),
                    y=round(baseline - bar_height, 2),
                    width=round(bar_width, 2),
                    height=round(bar_height, 2),
                    css_class=css_class,
                    day=day,
                    count=count,
                )
            )
    return Chart(
        width=WIDTH,
        height=height,
        bars=bars,
        peak=peak,
        baseline=baseline,
        first_day=days[0][0],
        last_day=days[-1][0],
        total_activations=sum(act for _day, act, _deact in days),
        total_deactivations=sum(deact for _day, _act, deact in days),
    )


def _peak(days: Days) -> int:
    return max([max(act, deact) for _day, act, deact in days] + [1])


def _total(days: Days) -> int:
    return sum(act + deact for _day, act, deact in days)


def _add(calendar: list[date], series: Iterable[Days]) -> Days:
    """Several products' days added up, day by day."""
    activations, deactivations = Counter(), Counter()
    for days in series:
        for day, act, deact in days:
            activations[day] += act
            deactivations[day] += deact
    return [(day, activations[day], deactivations[day]) for day in calendar]
