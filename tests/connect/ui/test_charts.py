"""The trend chart: progress over the cycle as a small inline SVG."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

from connect.ui.charts import trend_svg
from tests.support.ui import CYCLE_END, CYCLE_START, parse


def chart(points, **kwargs) -> str:
    kwargs.setdefault("title", "Progress of KR-1")
    return trend_svg(points, start=CYCLE_START, end=CYCLE_END, **kwargs)


def polyline_points(svg: str) -> list[tuple[float, float]]:
    line = parse(svg).find("polyline")
    return [tuple(map(float, pair.split(","))) for pair in line.attrs["points"].split()]


def test_cycle_start_at_zero_is_bottom_left_and_cycle_end_at_one_is_top_right() -> None:
    svg = chart(
        [
            (datetime(2026, 10, 1, tzinfo=UTC), 0.0),
            (datetime(2027, 1, 1, tzinfo=UTC), 1.0),  # the end day is included: x = 1
        ],
        width=120,
        height=32,
    )
    assert polyline_points(svg) == [(3.0, 29.0), (117.0, 3.0)]


def test_x_is_time_within_the_cycle_and_y_is_progress() -> None:
    midway = datetime(2026, 10, 1, tzinfo=UTC) + timedelta(days=46)  # half of 92 days
    svg = chart(
        [(datetime(2026, 10, 1, tzinfo=UTC), 0.0), (midway, 0.5)],
        width=120,
        height=32,
    )
    assert polyline_points(svg)[1] == (60.0, 16.0)


def test_expected_pace_is_a_faint_diagonal_from_zero_to_one() -> None:
    root = parse(chart([(datetime(2026, 11, 1, tzinfo=UTC), 0.3)]))
    diagonal = root.find("line")
    assert (diagonal.attrs["x1"], diagonal.attrs["y1"]) == ("3", "29")
    assert (diagonal.attrs["x2"], diagonal.attrs["y2"]) == ("117", "3")
    assert "stroke-dasharray" in diagonal.attrs


def test_last_point_in_time_gets_the_dot_whatever_the_input_order() -> None:
    late = datetime(2026, 12, 1, tzinfo=UTC)
    early = datetime(2026, 10, 15, tzinfo=UTC)
    svg = chart([(late, 0.8), (early, 0.2)])
    dot = parse(svg).find("circle")
    xs = [x for x, _ in polyline_points(svg)]
    assert xs == sorted(xs)
    assert (float(dot.attrs["cx"]), float(dot.attrs["cy"])) == polyline_points(svg)[-1]


def test_no_points_draws_a_flat_baseline() -> None:
    root = parse(chart([]))
    assert not root.find_all("polyline")
    assert not root.find_all("circle")
    base = root.by_class("base")[0]
    assert base.attrs["y1"] == base.attrs["y2"] == "29"
    assert (base.attrs["x1"], base.attrs["x2"]) == ("3", "117")


def test_single_point_is_a_dot_without_a_line() -> None:
    root = parse(chart([(datetime(2026, 11, 1, tzinfo=UTC), 0.4)]))
    assert not root.find_all("polyline")
    assert len(root.find_all("circle")) == 1


def test_points_outside_the_cycle_and_progress_outside_0_1_are_clamped() -> None:
    svg = chart([(datetime(2026, 9, 1, tzinfo=UTC), -0.5), (datetime(2027, 3, 1, tzinfo=UTC), 1.7)])
    assert polyline_points(svg) == [(3.0, 29.0), (117.0, 3.0)]


def test_naive_and_aware_times_are_the_same_instant_in_utc() -> None:
    naive = chart([(datetime(2026, 11, 1, 12), 0.5), (datetime(2026, 12, 1), 0.6)])
    paris = timezone(timedelta(hours=1))
    aware = chart(
        [(datetime(2026, 11, 1, 13, tzinfo=paris), 0.5), (datetime(2026, 12, 1, tzinfo=UTC), 0.6)]
    )
    assert polyline_points(naive) == polyline_points(aware)


def test_coordinates_have_at_most_one_decimal() -> None:
    points = [
        (datetime(2026, 10, 1, tzinfo=UTC) + timedelta(days=7 * w, hours=5), w / 13)
        for w in range(13)
    ]
    svg = chart(points, width=173, height=41)
    numbers = re.findall(r'(?:points|x1|x2|y1|y2|cx|cy)="([^"]+)"', svg)
    for value in " ".join(numbers).replace(",", " ").split():
        assert re.fullmatch(r"\d+(\.\d)?", value), value


def test_title_is_escaped_and_names_the_chart_for_screen_readers() -> None:
    svg = chart([], title="<script>alert(1)</script> & co")
    assert "<script>" not in svg
    root = parse(svg)
    svg_el = root.find("svg")
    assert svg_el.attrs["role"] == "img"
    assert svg_el.children[0].tag == "title"
    assert svg_el.children[0].text == "<script>alert(1)</script> & co"


def test_size_attributes_follow_the_arguments() -> None:
    svg_el = parse(chart([], width=200, height=40)).find("svg")
    assert (svg_el.attrs["width"], svg_el.attrs["height"]) == ("200", "40")
    assert svg_el.attrs["viewbox"]  # the parser lowercases names == "0 0 200 40"
