"""Activations and deactivations per day as an SVG drawn on the server (no script, no CDN).

Colours come from classes in static/console/console.css, so the chart follows light and dark
mode and the CSP (no inline style) holds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

WIDTH, HEIGHT, PAD = 720, 240, 32


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


def draw_daily_chart(days: list[tuple[date, int, int]]) -> Chart:
    """Two bars a day (activations, deactivations), scaled to the busiest day."""
    peak = max([max(act, deact) for _day, act, deact in days] + [1])
    slot = (WIDTH - 2 * PAD) / max(len(days), 1)
    bar_width = max(slot / 2 - 1, 1)
    plot_height = HEIGHT - 2 * PAD
    baseline = HEIGHT - PAD
    bars = []
    for index, (day, activations, deactivations) in enumerate(days):
        for offset, count, css_class in [
            (0, activations, "bar-activation"),
            (bar_width, deactivations, "bar-deactivation"),
        ]:
            height = plot_height * count / peak
            bars.append(
                Bar(
                    x=round(PAD + index * slot + offset, 2),
                    y=round(baseline - height, 2),
                    width=round(bar_width, 2),
                    height=round(height, 2),
                    css_class=css_class,
                    day=day,
                    count=count,
                )
            )
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        bars=bars,
        peak=peak,
        baseline=baseline,
        first_day=days[0][0],
        last_day=days[-1][0],
        total_activations=sum(act for _day, act, _deact in days),
        total_deactivations=sum(deact for _day, _act, deact in days),
    )
