"""Small inline SVG trend charts: KR progress over the cycle against the expected diagonal, and
beside it the owner's confidence at each check-in, on the same time axis and the same 0–100 %.

Progress is a solid line in the KR's status colour; confidence is a dashed step line in one
fixed colour (it holds from one check-in to the next) with a hollow dot at each check-in (only
the latest in the small charts of the panel, whose width leaves about a dot per week). The
confidence group carries `data-chart="confidence"` and its points as
`data-points="2026-10-05=0.70 ..."`, so tests and scripts read them without parsing geometry.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from markupsafe import Markup

from sync.core.progress import clamp01

PAD = 3.0
"""Room around the plot so the line and the last dot are not clipped."""

CONFIDENCE_COLOUR = "#6e5dc6"
"""Violet: apart from the status colours (green, amber, red, grey) the progress line takes,
and 5.9:1 against white."""

AXIS_LEFT = 34.0
AXIS_TOP = 5.0
AXIS_BOTTOM = 16.0
"""Room for the axis labels of a chart that has them (half a label's height above 100 %)."""


@dataclass(frozen=True, slots=True)
class AxisLabels:
    """The words of a chart's axes, in the reader's language: y at 0, 50 and 100 %, x at the
    cycle's first and last day."""

    low: str
    middle: str
    high: str
    start: str
    end: str


def _instant(value: datetime) -> float:
    """Seconds since the epoch; naive datetimes are taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def _c(value: float) -> str:
    """A coordinate with one decimal, without a useless `.0`."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def trend_svg(
    points: Sequence[tuple[datetime, float]],
    *,
    start: date,
    end: date,
    width: int = 120,
    height: int = 32,
    title: str,
    confidence: Sequence[tuple[datetime, float]] = (),
    axes: AxisLabels | None = None,
) -> Markup:
    """An inline SVG of progress (0..1) over the cycle, `start` to the end of the `end` day.

    x is the time within the cycle, y the progress; a faint diagonal shows the expected pace, a
    dot marks the last point. No points gives a flat baseline. `confidence` (0..1 at each
    check-in) is drawn over it as a step line; `axes` adds labelled axes (the KR's own page).
    `title` is escaped.
    """
    t0 = _instant(datetime.combine(start, time.min))
    t1 = _instant(datetime.combine(end + timedelta(days=1), time.min))
    span = max(t1 - t0, 1.0)
    left, right = PAD + (AXIS_LEFT if axes else 0.0), width - PAD
    top, bottom = PAD + (AXIS_TOP if axes else 0.0), height - PAD - (AXIS_BOTTOM if axes else 0.0)

    def x(at: datetime) -> float:
        return left + clamp01((_instant(at) - t0) / span) * (right - left)

    def y(progress: float) -> float:
        return bottom - clamp01(progress) * (bottom - top)

    parts = [
        Markup(
            '<svg class="trend" xmlns="http://www.w3.org/2000/svg" role="img" '
            'width="{w}" height="{h}" viewBox="0 0 {w} {h}"><title>{title}</title>'
        ).format(w=width, h=height, title=title),
        Markup(
            '<line x1="{}" y1="{}" x2="{}" y2="{}" '
            'stroke="#8590a2" stroke-opacity=".45" stroke-dasharray="2 2"/>'
        ).format(_c(left), _c(bottom), _c(right), _c(top)),
    ]
    if axes is not None:
        parts.append(_axes(axes, left=left, right=right, top=top, bottom=bottom))
    ordered = sorted(points, key=lambda point: _instant(point[0]))
    if not ordered:
        parts.append(
            Markup(
                '<line class="base" x1="{}" y1="{}" x2="{}" y2="{}" '
                'stroke="currentColor" stroke-width="1.5"/>'
            ).format(_c(left), _c(bottom), _c(right), _c(bottom))
        )
    else:
        if len(ordered) > 1:
            coords = " ".join(f"{_c(x(at))},{_c(y(p))}" for at, p in ordered)
            parts.append(
                Markup(
                    '<polyline points="{}" fill="none" stroke="currentColor" '
                    'stroke-width="1.5" stroke-linejoin="round"/>'
                ).format(coords)
            )
        last_at, last_p = ordered[-1]
        parts.append(
            Markup('<circle cx="{}" cy="{}" r="2.5" fill="currentColor"/>').format(
                _c(x(last_at)), _c(y(last_p))
            )
        )
    if confidence:
        latest = ordered[-1][0] if ordered else None
        parts.append(_confidence(confidence, x=x, y=y, until=latest, every_dot=axes is not None))
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)


def _confidence(
    points: Sequence[tuple[datetime, float]],
    *,
    x: Callable[[datetime], float],
    y: Callable[[float], float],
    until: datetime | None,
    every_dot: bool,
) -> Markup:
    """The confidence step line: each check-in's level holds until the next one, the last
    until the latest progress point when that is later. Drawn as a path of horizontal and
    vertical moves, the shortest markup for steps (the panel carries one per KR)."""
    ordered = sorted(points, key=lambda point: _instant(point[0]))
    first_at, first_level = ordered[0]
    steps = [f"M{_c(x(first_at))} {_c(y(first_level))}"]
    for at, level in ordered[1:]:
        steps.append(f"H{_c(x(at))}V{_c(y(level))}")
    last_at = ordered[-1][0]
    if until is not None and _instant(until) > _instant(last_at):
        steps.append(f"H{_c(x(until))}")
    data = " ".join(f"{at.date().isoformat()}={clamp01(level):.2f}" for at, level in ordered)
    parts = [
        Markup(
            '<g data-chart="confidence" data-points="{}" stroke="{}" stroke-width="1.5" '
            'fill="#fff">'
        ).format(data, CONFIDENCE_COLOUR)
    ]
    if len(steps) > 1:
        parts.append(
            Markup('<path d="{}" fill="none" stroke-dasharray="4 2"/>').format("".join(steps))
        )
    for at, level in ordered if every_dot else ordered[-1:]:
        parts.append(
            Markup('<circle cx="{}" cy="{}" r="{}"/>').format(
                _c(x(at)), _c(y(level)), "3" if every_dot else "2"
            )
        )
    parts.append(Markup("</g>"))
    return Markup("").join(parts)


def _axes(labels: AxisLabels, *, left: float, right: float, top: float, bottom: float) -> Markup:
    """Faint lines at 0, 50 and 100 % with their labels, and the cycle's first and last day."""
    middle = (top + bottom) / 2
    parts = [
        Markup(
            '<g class="axes" fill="#626f86" font-size="10" stroke="#dfe1e6">'
            '<path d="M{l} {t}H{r}M{l} {m}H{r}M{l} {b}H{r}"/>'
        ).format(l=_c(left), r=_c(right), t=_c(top), m=_c(middle), b=_c(bottom))
    ]
    for label, at in ((labels.high, top), (labels.middle, middle), (labels.low, bottom)):
        parts.append(
            Markup('<text x="{}" y="{}" text-anchor="end" stroke="none">{}</text>').format(
                _c(left - 4), _c(at + 3.5), label
            )
        )
    parts.append(
        Markup(
            '<text x="{}" y="{}" stroke="none">{}</text>'
            '<text x="{}" y="{}" text-anchor="end" stroke="none">{}</text></g>'
        ).format(_c(left), _c(bottom + 13), labels.start, _c(right), _c(bottom + 13), labels.end)
    )
    return Markup("").join(parts)


# --- a KPI's values against its healthy range -----------------------------------------------

KPI_LINE_COLOUR = "#0c66e4"
"""Blue: a KPI is not a KR, so its line takes none of the status colours; 5.6:1 on white."""
KPI_BAND_COLOUR = "#dcfff1"
KPI_BAND_EDGE = "#1f845a"
"""The healthy range: a pale green band with darker green edges (its bounds)."""
KPI_BREACH_COLOUR = "#c9372c"
"""A breach: a red dot, larger than the ordinary ones (5.4:1 on white)."""
KPI_LABEL_WIDTH = 6.0
"""About how wide one character of a 10 px axis label is: the left margin fits the labels."""


@dataclass(frozen=True, slots=True)
class KpiPoint:
    """One recorded value of a KPI and whether it breached (out of range, or a sudden drop)."""

    at: datetime
    value: float | None
    breached: bool = False


@dataclass(frozen=True, slots=True)
class KpiScale:
    """The value axis of a KPI chart: its bottom and top, from the values and the range."""

    low: float
    high: float


def kpi_scale(
    values: Sequence[float], *, healthy_min: float | None, healthy_max: float | None
) -> KpiScale:
    """A value axis that shows every value and both bounds with some room around them, from
    and to round numbers (its labels are read: `10 h`, `20 h`, `30 h`, not `7.1 h`); an axis of
    positive values never dips below zero, and one of a range with only a maximum starts at zero."""
    seen = [*values, *(b for b in (healthy_min, healthy_max) if b is not None)]
    if not seen:
        return KpiScale(0.0, 1.0)
    if healthy_min is None and healthy_max is not None and min(seen) >= 0:
        seen.append(0.0)  # "at most 15 %": the healthy side runs down to zero
    low, high = min(seen), max(seen)
    room = (high - low) * 0.1 if high != low else (abs(high) * 0.1 or 1.0)
    step = _round_step((high - low + 2 * room) / 4)
    bottom = math.floor((low - room) / step) * step
    if low >= 0 > bottom:
        bottom = 0.0
    return KpiScale(bottom, math.ceil((high + room) / step) * step)


def _round_step(size: float) -> float:
    """The smallest of 1, 2, 2.5 and 5 times a power of ten that is at least `size`."""
    power = 10.0 ** math.floor(math.log10(size))
    return next(m * power for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * power >= size)


def kpi_svg(
    points: Sequence[KpiPoint],
    *,
    start: date,
    end: date,
    healthy_min: float | None,
    healthy_max: float | None,
    ident: str,
    title: str,
    description: str,
    number: Callable[[float], str],
    start_label: str,
    end_label: str,
    width: int = 360,
    height: int = 120,
) -> Markup:
    """An inline SVG of a KPI's values over the cycle, `start` to the end of the `end` day.

    The healthy range is a band (a one-sided range reaches the edge of the plot), the values a
    line with a dot each, a breached value a larger red dot marked `data-breach`. The value axis
    is labelled at its bottom, middle and top with `number`; the time axis with the two labels.
    `ident` makes the ids of the `<title>` and `<desc>` unique in the page; `title` and
    `description` (the accessible name and the description in words) are escaped.
    `data-points` lists `2026-10-05=12.5` pairs and `data-band` the range, for tests and
    scripts.
    """
    ordered = sorted(points, key=lambda point: _instant(point.at))
    values = [p.value for p in ordered if p.value is not None]
    scale = kpi_scale(values, healthy_min=healthy_min, healthy_max=healthy_max)
    middle = (scale.low + scale.high) / 2
    labels = AxisLabels(
        low=number(scale.low),
        middle=number(middle),
        high=number(scale.high),
        start=start_label,
        end=end_label,
    )
    widest = max(len(labels.low), len(labels.middle), len(labels.high))
    left, right = PAD + max(AXIS_LEFT, widest * KPI_LABEL_WIDTH + 6), width - PAD
    top, bottom = PAD + AXIS_TOP, height - PAD - AXIS_BOTTOM
    t0 = _instant(datetime.combine(start, time.min))
    span = max(_instant(datetime.combine(end + timedelta(days=1), time.min)) - t0, 1.0)

    def x(at: datetime) -> float:
        return left + clamp01((_instant(at) - t0) / span) * (right - left)

    def y(value: float) -> float:
        share = (value - scale.low) / (scale.high - scale.low)
        return bottom - clamp01(share) * (bottom - top)

    data = " ".join(
        f"{p.at.date().isoformat()}={'' if p.value is None else _plain(p.value)}" for p in ordered
    )
    band = f"{_plain(healthy_min)}..{_plain(healthy_max)}"
    parts = [
        Markup(
            '<svg class="kpichart" xmlns="http://www.w3.org/2000/svg" role="img" '
            'width="{w}" height="{h}" viewBox="0 0 {w} {h}" aria-labelledby="{i}-t" '
            'aria-describedby="{i}-d" data-chart="kpi" data-points="{data}" data-band="{band}">'
            '<title id="{i}-t">{title}</title><desc id="{i}-d">{desc}</desc>'
        ).format(w=width, h=height, i=ident, data=data, band=band, title=title, desc=description),
    ]
    if healthy_min is not None or healthy_max is not None:
        upper = top if healthy_max is None else y(healthy_max)
        lower = bottom if healthy_min is None else y(healthy_min)
        edges = "".join(
            f"M{_c(left)} {_c(y(bound))}H{_c(right)}"
            for bound in (healthy_min, healthy_max)
            if bound is not None
        )
        parts.append(
            Markup(
                '<g data-band="healthy"><rect x="{}" y="{}" width="{}" height="{}" fill="{}"/>'
                '<path d="{}" stroke="{}" stroke-dasharray="4 3" fill="none"/></g>'
            ).format(
                _c(left),
                _c(upper),
                _c(right - left),
                _c(max(lower - upper, 0.0)),
                KPI_BAND_COLOUR,
                edges,
                KPI_BAND_EDGE,
            )
        )
    parts.append(_axes(labels, left=left, right=right, top=top, bottom=bottom))
    drawn = [p for p in ordered if p.value is not None]
    if len(drawn) > 1:
        coords = " ".join(f"{_c(x(p.at))},{_c(y(p.value))}" for p in drawn if p.value is not None)
        parts.append(
            Markup(
                '<polyline points="{}" fill="none" stroke="{}" stroke-width="1.5" '
                'stroke-linejoin="round"/>'
            ).format(coords, KPI_LINE_COLOUR)
        )
    for p in drawn:
        assert p.value is not None  # drawn holds values only
        if p.breached:
            parts.append(
                Markup(
                    '<circle cx="{}" cy="{}" r="4" fill="{}" stroke="#fff" data-breach="{}"/>'
                ).format(_c(x(p.at)), _c(y(p.value)), KPI_BREACH_COLOUR, p.at.date().isoformat())
            )
        else:
            parts.append(
                Markup('<circle cx="{}" cy="{}" r="2.5" fill="{}"/>').format(
                    _c(x(p.at)), _c(y(p.value)), KPI_LINE_COLOUR
                )
            )
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)


def _plain(value: float | None) -> str:
    """A number for a data attribute: `.` decimal, no trailing zeros; empty for None."""
    if value is None:
        return ""
    return f"{value:.6f}".rstrip("0").rstrip(".")
