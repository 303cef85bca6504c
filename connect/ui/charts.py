"""Small inline SVG trend charts: KR progress over the cycle against the expected diagonal."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

from markupsafe import Markup

from connect.ui.i18n import clamp01

PAD = 3.0
"""Room around the plot so the line and the last dot are not clipped."""


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
) -> Markup:
    """An inline SVG of progress (0..1) over the cycle, `start` to the end of the `end` day.

    x is the time within the cycle, y the progress; a faint diagonal shows the expected pace, a
    dot marks the last point. No points gives a flat baseline. `title` is escaped.
    """
    t0 = _instant(datetime.combine(start, time.min))
    t1 = _instant(datetime.combine(end + timedelta(days=1), time.min))
    span = max(t1 - t0, 1.0)
    left, right = PAD, width - PAD
    top, bottom = PAD, height - PAD

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
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)
