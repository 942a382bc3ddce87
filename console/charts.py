"""Charts as data for the templates: bars, stacked bars and lines, drawn as inline SVG.

Nothing is drawn in the browser: no script library, nothing fetched from elsewhere, nothing the
console's Content-Security-Policy would have to allow (colours are SVG attributes, not inline
styles). A `Chart` holds the shapes in the SVG's coordinates and the table of its numbers;
templates/analytics_chart.html draws both. Each bar and point carries a `<title>` (a tooltip,
and what screen readers say). No Sanic imports.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Final, cast

# Colour-blind-safe (Okabe-Ito), in the order series are drawn.
PALETTE: Final = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442")
WIDTH: Final = 640
HEIGHT: Final = 220
LEFT, RIGHT, TOP, BOTTOM = 44.0, 12.0, 12.0, 28.0


@dataclass(frozen=True)
class Rect:
    """A bar (or a stacked part of one), with what it shows in words."""

    x: float
    y: float
    width: float
    height: float
    colour: str
    title: str


@dataclass(frozen=True)
class Point:
    """A point of a line, with what it shows in words."""

    x: float
    y: float
    title: str


@dataclass(frozen=True)
class Polyline:
    """One series of a line chart; None values break the line."""

    name: str
    colour: str
    points: tuple[Point, ...]

    @property
    def path(self) -> str:
        """The points as SVG `points`."""
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


@dataclass(frozen=True)
class Label:
    """Text on the chart: an axis tick or a category name."""

    x: float
    y: float
    text: str
    anchor: str = "middle"


@dataclass(frozen=True)
class Chart:
    """Everything the template needs to draw one chart and its table."""

    id: str
    title: str
    width: float
    height: float
    rects: tuple[Rect, ...] = ()
    lines: tuple[Polyline, ...] = ()
    labels: tuple[Label, ...] = ()
    grid: tuple[float, ...] = ()  # y positions of horizontal grid lines
    legend: tuple[tuple[str, str], ...] = ()  # (colour, name)
    head: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = field(default=())

    @property
    def empty(self) -> bool:
        """Nothing to draw."""
        return not self.rects and not any(line.points for line in self.lines)


def day_label(day: date) -> str:
    """A day as the charts label it: "03 Jun"."""
    return day.strftime("%d %b")


def _ticks(top: float, y0: float, y1: float, fmt: Callable[[float], str]) -> list[Label]:
    return [Label(LEFT - 6, y0 - (y0 - y1) * n / 4 + 4, fmt(top * n / 4), "end") for n in range(5)]


def nice_max(value: float) -> float:
    """The axis top: four equal steps of 1, 2 or 5 times a power of ten, at least `value`."""
    if value <= 0:
        return 4.0
    step, power = value / 4, 1.0
    while power * 10 < step:
        power *= 10
    while power > step:
        power /= 10
    for multiple in (1, 2, 2.5, 5, 10):
        if multiple * power >= step and (multiple != 2.5 or power >= 10):
            return 4 * multiple * power
    return 40 * power


def stacked_bars(
    chart_id: str,
    title: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[int]]],
) -> Chart:
    """Vertical bars per day, each stacked by series (e.g. conversations per channel)."""
    y0, y1 = HEIGHT - BOTTOM, TOP
    totals = [sum(values[i] for _, values in series) for i in range(len(categories))]
    top = nice_max(max([4, *totals]))  # whole numbers on the axis
    slot = (WIDTH - LEFT - RIGHT) / max(1, len(categories))
    width = min(48.0, max(2.0, slot * 0.7))
    rects: list[Rect] = []
    for i, category in enumerate(categories):
        base = y0
        for n, (name, values) in enumerate(series):
            if not values[i]:
                continue
            height = (y0 - y1) * values[i] / top
            base -= height
            x = LEFT + slot * i + (slot - width) / 2
            colour = PALETTE[n % len(PALETTE)]
            rects.append(Rect(x, base, width, height, colour, f"{category}, {name}: {values[i]}"))
    every = max(1, len(categories) // 8)
    labels = [
        Label(LEFT + slot * i + slot / 2, HEIGHT - 10, category)
        for i, category in enumerate(categories)
        if i % every == 0
    ]
    return Chart(
        id=chart_id,
        title=title,
        width=WIDTH,
        height=HEIGHT,
        rects=tuple(rects),
        labels=tuple(labels + _ticks(top, y0, y1, lambda v: f"{v:g}")),
        grid=tuple(y0 - (y0 - y1) * n / 4 for n in range(5)),
        legend=tuple((PALETTE[n % len(PALETTE)], name) for n, (name, _) in enumerate(series)),
        head=("Day", *(name for name, _ in series), "Total"),
        rows=tuple(
            (category, *(str(values[i]) for _, values in series), str(totals[i]))
            for i, category in enumerate(categories)
        ),
    )


def bars(
    chart_id: str,
    title: str,
    items: Sequence[tuple[str, int]],
    *,
    head: tuple[str, str] = ("", "Count"),
    share_of: int | None = None,
) -> Chart:
    """Horizontal bars, one per item, largest first as given (top intents, handoff reasons)."""
    row_height, label_width = 22.0, 190.0
    height = TOP + row_height * max(1, len(items)) + 8
    top = max((count for _, count in items), default=0) or 1
    span = WIDTH - label_width - 60
    rects, labels = [], []
    for i, (name, count) in enumerate(items):
        y = TOP + row_height * i
        labels.append(Label(label_width - 6, y + row_height / 2 + 4, name, "end"))
        if not count:
            continue  # no bar: a chart of nothing but zeros says "nothing to show"
        length = span * count / top
        share = f" ({count / share_of:.0%})" if share_of else ""
        rects.append(
            Rect(label_width, y + 3, length, row_height - 6, PALETTE[0], f"{name}: {count}{share}")
        )
        labels.append(
            Label(label_width + length + 4, y + row_height / 2 + 4, f"{count}{share}", "start")
        )
    rows = [
        (name, str(count), f"{count / share_of:.1%}" if share_of else "") for name, count in items
    ]
    return Chart(
        id=chart_id,
        title=title,
        width=WIDTH,
        height=height,
        rects=tuple(rects),
        labels=tuple(labels),
        head=(*head, "Share") if share_of else head,
        rows=tuple(row if share_of else row[:2] for row in rows),
    )


def lines(
    chart_id: str,
    title: str,
    days: Sequence[date],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    low: float = 0.0,
    high: float = 1.0,
    fmt: Callable[[float], str] = lambda v: f"{v:.0%}",
) -> Chart:
    """One line per series over the days; a day without a value leaves a gap (no point)."""
    y0, y1 = HEIGHT - BOTTOM, TOP
    slot = (WIDTH - LEFT - RIGHT) / max(1, len(days))

    def y(value: float) -> float:
        return y0 - (y0 - y1) * (value - low) / (high - low)

    polylines = []
    for n, (name, values) in enumerate(series):
        points = tuple(
            Point(LEFT + slot * i + slot / 2, y(v), f"{day_label(day)}, {name}: {fmt(v)}")
            for i, (day, v) in enumerate(zip(days, values, strict=True))
            if v is not None
        )
        polylines.append(Polyline(name, PALETTE[n % len(PALETTE)], points))
    every = max(1, len(days) // 8)
    labels = [
        Label(LEFT + slot * i + slot / 2, HEIGHT - 10, day_label(day))
        for i, day in enumerate(days)
        if i % every == 0
    ]
    ticks = [
        Label(LEFT - 6, y(low + (high - low) * n / 4) + 4, fmt(low + (high - low) * n / 4), "end")
        for n in range(5)
    ]
    return Chart(
        id=chart_id,
        title=title,
        width=WIDTH,
        height=HEIGHT,
        lines=tuple(polylines),
        labels=tuple(labels + ticks),
        grid=tuple(y(low + (high - low) * n / 4) for n in range(5)),
        legend=tuple((line.colour, line.name) for line in polylines),
        head=("Day", *(name for name, _ in series)),
        rows=tuple(
            (
                day_label(day),
                *(
                    "–" if values[i] is None else fmt(cast(float, values[i]))
                    for _, values in series
                ),
            )
            for i, day in enumerate(days)
        ),
    )
