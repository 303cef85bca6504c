"""The trend chart: progress over the cycle as a small inline SVG."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

from connect.ui.charts import CONFIDENCE_COLOUR, AxisLabels, trend_svg
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


# --- confidence beside progress -------------------------------------------------------------

OCT_1 = datetime(2026, 10, 1, tzinfo=UTC)
MIDWAY = OCT_1 + timedelta(days=46)  # half of the 92 days: x = 60 in a 120-wide chart


def confidence_group(svg: str):
    return parse(svg).find("g", data_chart="confidence")


def step_points(svg: str) -> list[tuple[float, float]]:
    """The corners of the confidence step path (`M x y`, then `H x` and `V y` moves)."""
    d = confidence_group(svg).find("path").attrs["d"]
    x = y = 0.0
    corners = []
    for move, first, second in re.findall(r"([MHV])([\d.]+)(?: ([\d.]+))?", d):
        if move == "M":
            x, y = float(first), float(second)
        elif move == "H":
            x = float(first)
        else:
            y = float(first)
        corners.append((x, y))
    return corners


def test_confidence_points_are_readable_from_the_chart_in_time_order_and_clamped() -> None:
    svg = chart([(OCT_1, 0.0)], confidence=[(MIDWAY, 0.555), (OCT_1, 1.4)])
    assert confidence_group(svg).attrs["data-points"] == "2026-10-01=1.00 2026-11-16=0.56"


def test_confidence_shares_the_progress_axes_and_holds_its_level_until_the_next_check_in() -> None:
    svg = chart([(OCT_1, 0.0), (MIDWAY, 0.5)], confidence=[(OCT_1, 0.75), (MIDWAY, 0.5)])
    assert polyline_points(svg)[1] == (60.0, 16.0)
    # 0.75 from the first check-in to the second, then down to 0.5 (the progress line's y).
    assert step_points(svg) == [(3.0, 9.5), (60.0, 9.5), (60.0, 16.0)]


def test_the_last_confidence_holds_until_the_latest_progress_point() -> None:
    later = OCT_1 + timedelta(days=69)  # three quarters of the cycle: x = 88.5
    svg = chart([(OCT_1, 0.0), (later, 0.4)], confidence=[(MIDWAY, 0.5)])
    assert step_points(svg) == [(60.0, 16.0), (88.5, 16.0)]


def test_confidence_is_dashed_in_its_own_colour_with_hollow_dots() -> None:
    group = confidence_group(chart([(OCT_1, 0.1)], confidence=[(OCT_1, 0.6), (MIDWAY, 0.7)]))
    assert group.attrs["stroke"] == CONFIDENCE_COLOUR != "currentColor"
    assert group.attrs["fill"] == "#fff"
    assert "stroke-dasharray" in group.find("path").attrs


def test_the_small_chart_dots_only_the_latest_check_in_the_large_one_every_check_in() -> None:
    points = [(OCT_1 + timedelta(days=7 * week), 0.5) for week in range(10)]
    small = confidence_group(chart([(OCT_1, 0.1)], confidence=points))
    assert len(small.find_all("circle")) == 1
    axes = AxisLabels(low="0%", middle="50%", high="100%", start="Oct 1", end="Dec 31")
    large = confidence_group(
        chart([(OCT_1, 0.1)], confidence=points, width=560, height=168, axes=axes)
    )
    assert len(large.find_all("circle")) == 10


def test_the_large_chart_labels_its_axes_in_the_words_given() -> None:
    axes = AxisLabels(
        low="0 %", middle="50 %", high="100 %", start="1 oct. 2026", end="31 déc. 2026"
    )
    root = parse(chart([(OCT_1, 0.1)], width=560, height=168, axes=axes))
    labels = [text.text for text in root.find("g", class_="axes").find_all("text")]
    assert labels == ["100 %", "50 %", "0 %", "1 oct. 2026", "31 déc. 2026"]


def test_without_confidence_the_chart_has_no_confidence_group() -> None:
    svg = chart([(OCT_1, 0.1), (MIDWAY, 0.4)])
    assert parse(svg).find_all("g", data_chart="confidence") == []
    assert len(parse(svg).find_all("circle")) == 1
