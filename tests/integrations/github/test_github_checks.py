"""Rendering the "OKR impact" check run for the Checks API."""

from __future__ import annotations

import pytest

from integrations.github.checks import (
    CHECK_NAME,
    MAX_OUTPUT_CHARS,
    KrImpact,
    escape_cell,
    render_check_run,
    safe_url,
)

PAGE = "https://okrlink.example/teams/plat/okrs"


def impact(**changes: object) -> KrImpact:
    values: dict[str, object] = {
        "key": "PLAT-1.2",
        "title": "Reduce change failure rate from 15% to 5%",
        "objective_title": "Ship safely every day",
        "progress_now": 0.4,
        "progress_if_done": 0.55,
        "status": "on_track",
        "owner": "Platform lead",
        "url": "https://okrlink.example/krs/PLAT-1.2",
    }
    values.update(changes)
    return KrImpact(**values)  # type: ignore[arg-type]


def rows(summary: str) -> list[str]:
    return [line for line in summary.splitlines() if line.startswith("| ")][2:]


def cells(row: str) -> list[str]:
    """Split a table row on unescaped pipes."""
    out, current, escaped = [], "", False
    for char in row.strip()[1:-1]:
        if char == "|" and not escaped:
            out.append(current.strip())
            current = ""
        else:
            current += char
        escaped = char == "\\" and not escaped
    out.append(current.strip())
    return out


def test_two_linked_krs_render_a_table_with_progress_status_and_owner() -> None:
    body = render_check_run(
        impacts=[
            impact(),
            impact(
                key="OPS-3.1",
                title="Cut p95 deploy time to 10 minutes",
                objective_title="Faster feedback",
                progress_now=0.1,
                progress_if_done=0.1,
                status="off_track",
                owner=None,
                url=None,
            ),
        ],
        okr_page_url=PAGE,
    )
    assert body is not None
    assert body["name"] == CHECK_NAME == "OKR impact"
    assert body["status"] == "completed"
    assert body["conclusion"] == "neutral"
    assert body["details_url"] == PAGE
    output = body["output"]
    assert output["title"] == "Advances 2 key results"
    header = output["summary"].splitlines()[0]
    assert cells(header) == [
        "KR",
        "Objective",
        "Progress now",
        "If this PR's issues are done",
        "Status",
        "Owner",
    ]
    first, second = (cells(row) for row in rows(output["summary"]))
    assert first == [
        "[PLAT-1.2 Reduce change failure rate from 15% to 5%](https://okrlink.example/krs/PLAT-1.2)",
        "Ship safely every day",
        "40%",
        "55% (+15 pts)",
        "on track",
        "Platform lead",
    ]
    assert second == [
        "OPS-3.1 Cut p95 deploy time to 10 minutes",
        "Faster feedback",
        "10%",
        "10%",
        "off track",
        "—",
    ]
    assert f"[Open the team's OKR page]({PAGE})" in output["summary"]
    assert "Progress now" in output["text"]


def test_one_linked_kr_has_a_singular_title() -> None:
    body = render_check_run(impacts=[impact(status="at risk")], okr_page_url=None)
    assert body is not None
    assert body["output"]["title"] == "Advances 1 key result"
    assert cells(rows(body["output"]["summary"])[0])[4] == "at risk"
    assert "OKR page" not in body["output"]["summary"]
    assert "details_url" not in body


@pytest.mark.parametrize(
    ("now", "done", "shown_now", "shown_done"),
    [
        (0.0, 1.0, "0%", "100% (+100 pts)"),
        (1.4, 2.0, "100%", "100%"),
        (-0.2, 0.333, "0%", "33% (+33 pts)"),
    ],
)
def test_progress_is_clamped_and_shown_as_whole_percentages(
    now: float, done: float, shown_now: str, shown_done: str
) -> None:
    body = render_check_run(
        impacts=[impact(progress_now=now, progress_if_done=done)], okr_page_url=None
    )
    assert body is not None
    row = cells(rows(body["output"]["summary"])[0])
    assert row[2:4] == [shown_now, shown_done]


def test_repository_setting_can_conclude_success() -> None:
    body = render_check_run(impacts=[impact()], okr_page_url=None, conclusion_when_linked="success")
    assert body is not None
    assert body["conclusion"] == "success"


def test_a_blocking_conclusion_is_refused() -> None:
    with pytest.raises(ValueError, match="conclusion_when_linked"):
        render_check_run(impacts=[impact()], okr_page_url=None, conclusion_when_linked="failure")


def test_refresh_action_respects_the_checks_api_limits() -> None:
    body = render_check_run(impacts=[impact()], okr_page_url=None)
    assert body is not None
    assert body["actions"] == [
        {"label": "Refresh", "description": "Recompute KR impact", "identifier": "refresh"}
    ]
    for action in body["actions"]:
        assert len(action["label"]) <= 20
        assert len(action["description"]) <= 40
        assert len(action["identifier"]) <= 20


def test_no_linked_kr_gives_a_neutral_run_explaining_how_to_link() -> None:
    body = render_check_run(impacts=[], okr_page_url=PAGE, conclusion_when_linked="success")
    assert body is not None
    assert body["conclusion"] == "neutral"
    assert body["output"]["title"] == "No key result linked"
    summary = body["output"]["summary"]
    assert "Jira issue key" in summary
    assert "title, the branch name or the description" in summary
    assert "`KR: PLAT-1.2`" in summary
    assert PAGE in summary
    assert "|" not in summary


def test_no_linked_kr_posts_nothing_when_the_message_is_off() -> None:
    assert render_check_run(impacts=[], okr_page_url=PAGE, no_kr_message=False) is None


def test_kr_title_cannot_inject_markdown_or_html() -> None:
    hostile = impact(
        title="<img src=x onerror=alert(1)> | `code` [link](https://evil.example) **bold**\nrow",
        objective_title="Objective | with pipe\r\nand newline",
        owner="<b>owner</b>",
        status="at_risk",
    )
    body = render_check_run(impacts=[hostile], okr_page_url=None)
    assert body is not None
    summary = body["output"]["summary"]
    table_rows = rows(summary)
    assert len(table_rows) == 1, "a newline in a title must not start a new row"
    row = cells(table_rows[0])
    assert len(row) == 6, "a pipe in a title must not add a column"
    assert "<" not in summary and ">" not in summary.replace("&gt;", "")
    assert "&lt;img src=x onerror=alert\\(1\\)&gt;" in row[0]
    assert "\\`code\\`" in row[0]
    assert "\\[link\\]\\(https://evil.example\\)" in row[0]
    assert "\\*\\*bold\\*\\*" in row[0]
    assert row[1] == "Objective \\| with pipe and newline"
    assert row[5] == "&lt;b&gt;owner&lt;/b&gt;"


def test_link_targets_are_http_only_and_cannot_break_out() -> None:
    assert safe_url("javascript:alert(1)") is None
    assert safe_url("data:text/html,<b>") is None
    assert (
        safe_url("https://okr.example/a b)(|<>`") == "https://okr.example/a%20b%29%28%7C%3C%3E%60"
    )
    body = render_check_run(
        impacts=[impact(url="javascript:alert(1)")], okr_page_url="javascript:alert(2)"
    )
    assert body is not None
    assert "javascript" not in body["output"]["summary"]
    assert "details_url" not in body


def test_escape_cell_flattens_whitespace_and_caps_length() -> None:
    assert escape_cell("a\n\tb  c") == "a b c"
    capped = escape_cell("x" * 1000)
    assert len(capped) == 200 and capped.endswith("…")


def test_summary_is_cut_at_the_limit_with_a_note() -> None:
    many = [impact(key=f"PLAT-{n}.1", title="t" * 180 + str(n)) for n in range(1, 501)]
    body = render_check_run(impacts=many, okr_page_url=PAGE)
    assert body is not None
    summary = body["output"]["summary"]
    assert MAX_OUTPUT_CHARS - 500 < len(summary) <= MAX_OUTPUT_CHARS
    shown = rows(summary)
    assert 100 < len(shown) < 500
    assert f"*{500 - len(shown)} more key results are not shown" in summary
    assert shown[-1].startswith(f"| [PLAT-{len(shown)}.1 ")
    assert summary.endswith(f"[Open the team's OKR page]({PAGE})")
    assert body["output"]["title"] == "Advances 500 key results"


def test_a_table_that_just_fits_is_not_cut() -> None:
    few = [impact(key=f"PLAT-{n}.1") for n in range(1, 4)]
    body = render_check_run(impacts=few, okr_page_url=None)
    assert body is not None
    assert len(rows(body["output"]["summary"])) == 3
    assert "not shown" not in body["output"]["summary"]


def test_long_text_is_truncated_with_a_note() -> None:
    text = "word " * 20_000
    body = render_check_run(impacts=[impact()], okr_page_url=None, text=text)
    assert body is not None
    out = body["output"]["text"]
    assert len(text) > MAX_OUTPUT_CHARS
    assert len(out) <= MAX_OUTPUT_CHARS
    assert out.endswith("*Truncated: the rest does not fit in a GitHub check run.*")
    assert out.startswith("word word")
