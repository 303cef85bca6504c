"""A digest or reminder as Slack Block Kit, a Teams Adaptive Card (1.5) message, or plain text.

One neutral outline (a title, context lines, sections of keyed lines, link buttons) is built
from the value, then written out per channel. Slack's documented limits are kept here: at most
`SLACK_MAX_BLOCKS` blocks and `SLACK_MAX_TEXT` characters per text object; a section too long
for one block is split across blocks, and an outline too long for the message says how many
lines were left out.

Every outline text holds user-written words (KR titles, check-in notes, owners, cycle names)
and is plain text, so each writer escapes all of it for where it goes before adding its own
markup: Slack mrkdwn's `&`, `<`, `>` (blocks and the fallback `text` alike), and Adaptive Card
Markdown (a CommonMark subset: a title `[Re-authenticate](https://evil.example)` must stay
text, not become a link in a card the bot signs).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from connect.chat.digest_text import DigestText, digest_text
from sync.core.digest import Digest, KpiSignal, KrMove, KrState, Reminder

SLACK_MAX_BLOCKS = 50
SLACK_MAX_TEXT = 3000
SLACK_MAX_HEADER = 150
ADAPTIVE_CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
ADAPTIVE_CARD_VERSION = "1.5"
METRIC_KINDS = frozenset({"metric", "jql", "github"})
FORMATS = ("slack", "teams", "text")


@dataclass(frozen=True, slots=True)
class Line:
    """`key` is shown bold before `text` (a KR key, an owner), or nothing when empty."""

    key: str
    text: str


@dataclass(frozen=True, slots=True)
class Section:
    title: str
    lines: tuple[Line, ...]


@dataclass(frozen=True, slots=True)
class Outline:
    title: str
    context: tuple[str, ...]
    sections: tuple[Section, ...]
    buttons: tuple[tuple[str, str], ...] = field(default=())  # (label, url)

    @property
    def fallback(self) -> str:
        """The one-line summary notifications show."""
        return " · ".join((self.title, *self.context[:1]))


# --- outline -------------------------------------------------------------------------------


def _when(value: datetime, d: DigestText) -> str:
    return f"{d.t.date(value)} {value:%H:%M}"


def _owner(owner: str | None, d: DigestText) -> str:
    return d.t("owner.label", name=owner) if owner else d.t("owner.none")


def _points(change: float, d: DigestText) -> str:
    return d("points", n=d.t.signed(round(change * 100)))


def _moved_line(move: KrMove, d: DigestText) -> Line:
    t = d.t
    progress = {
        "progress_before": t.percent(move.before.progress),
        "progress_after": t.percent(move.now.progress),
    }
    if move.kind in METRIC_KINDS and move.before.current != move.now.current:
        text = d(
            "moved_value",
            title=move.title,
            before=t.quantity(move.before.current, move.unit),
            after=t.quantity(move.now.current, move.unit),
            **progress,
        )
    else:
        text = d("moved_progress", title=move.title, **progress)
    if move.why:
        text += " — " + d("why", why=move.why)
    return Line(move.key, text)


def _state_words(state: KrState, d: DigestText) -> dict[str, str]:
    return {
        "status": d.t.status(state.status),
        "progress": d.t.percent(state.progress),
        "score": d.t.score(state.score),
    }


def _range(kpi: KpiSignal, d: DigestText) -> str:
    """A KPI's healthy range in the panel's words: `at most 15%`, `99.5% to 100%`."""
    t = d.t
    low, high = t.quantity(kpi.healthy_min, kpi.unit), t.quantity(kpi.healthy_max, kpi.unit)
    if kpi.healthy_min is not None and kpi.healthy_max is not None:
        return t("kpi.range.both", min=low, max=high)
    if kpi.healthy_max is not None:
        return t("kpi.range.max", max=high)
    return t("kpi.range.min", min=low)


def _signal_line(kpi: KpiSignal, team: str, d: DigestText) -> Line:
    """The panel's health-strip sentence (the team, never a person), then the value now."""
    t = d.t
    if kpi.reason == "drop":
        text = t(
            "kpi.breached.drop", team=team, title=kpi.title, drop=t.number(kpi.drop_alert or 0)
        )
    else:
        text = t("kpi.breached.out_of_range", team=team, title=kpi.title, range=_range(kpi, d))
    return Line(kpi.key, f"{text} {d('signal_now', value=t.quantity(kpi.current, kpi.unit))}")


def digest_outline(digest: Digest, lang: str) -> Outline:
    """The digest's outline in `lang`; empty sections are left out."""
    d = digest_text(lang)
    t = d.t
    context = [
        d(
            "week",
            week=digest.week,
            start=t.date(digest.week_start),
            end=t.date(digest.week_end),
            cycle=digest.cycle,
        )
    ]
    if digest.late_from is not None:
        context.append(d("late", when=_when(digest.late_from, d)))
    sections = [
        Section(
            d("objectives"),
            tuple(
                Line(
                    o.key,
                    d(
                        "objective_line",
                        title=o.title,
                        progress=t.percent(o.progress),
                        change=_points(o.change, d),
                    ),
                )
                for o in digest.objectives
            ),
        ),
        Section(
            d("moved"), tuple(_moved_line(m, d) for m in digest.moved) or (Line("", d("quiet")),)
        ),
        Section(
            d("status_changes"),
            tuple(
                Line(
                    m.key,
                    d(
                        "status_change",
                        title=m.title,
                        before=t.status(m.before.status),
                        after=t.status(m.now.status),
                    ),
                )
                for m in digest.status_changes
            ),
        ),
        Section(
            d("attention"),
            tuple(
                Line(
                    k.key,
                    d(
                        "attention_line",
                        title=k.title,
                        owner=_owner(k.owner, d),
                        **_state_words(k.state, d),
                    ),
                )
                for k in digest.attention
            ),
        ),
        Section(d("signals"), tuple(_signal_line(k, digest.team, d) for k in digest.signals)),
        Section(
            d("celebrated"),
            tuple(
                Line(
                    k.key,
                    d(
                        "celebrated_line",
                        title=k.title,
                        score=t.score(k.state.score),
                        owner=k.owner or d("team_effort"),
                    ),
                )
                for k in digest.celebrated
            ),
        ),
        Section(
            d("abandoned"),
            tuple(
                Line(k.key, d("abandoned_line", title=k.title, reason=k.note or d("no_reason")))
                for k in digest.abandoned
            ),
        ),
        Section(
            d("missing"),
            tuple(Line(m.owner or d("no_owner"), ", ".join(m.krs)) for m in digest.missing)
            or (Line("", d("all_checked_in")),),
        ),
        Section(
            d("monthly_missing", month=digest.month or ""),
            tuple(Line(m.owner or d("no_owner"), ", ".join(m.krs)) for m in digest.monthly_missing),
        ),
        Section(d("risks"), tuple(Line(n.kr, n.text) for n in digest.risks)),
        Section(d("learnings"), tuple(Line(n.kr, n.text) for n in digest.learnings)),
    ]
    buttons = [(d("open_page"), digest.links.okr_page)]
    if digest.missing:
        buttons.append((d("check_in"), digest.links.check_in))
    return Outline(
        d("title", team=digest.team),
        tuple(context),
        tuple(s for s in sections if s.lines),
        tuple(buttons),
    )


def reminder_outline(reminder: Reminder, lang: str) -> Outline:
    """The check-in reminder's outline in `lang`."""
    d = digest_text(lang)
    lines = tuple(Line(m.owner or d("no_owner"), ", ".join(m.krs)) for m in reminder.missing)
    return Outline(
        d("reminder_title", team=reminder.team),
        (d("reminder_intro", when=_when(reminder.digest_at, d)),),
        (Section(d("missing"), lines),),
        ((d("check_in"), reminder.links.check_in), (d("open_page"), reminder.links.okr_page)),
    )


def outline_of(content: Digest | Reminder, lang: str) -> Outline:
    if isinstance(content, Digest):
        return digest_outline(content, lang)
    return reminder_outline(content, lang)


# --- Slack ---------------------------------------------------------------------------------


def _slack_escape(text: str) -> str:
    """Slack mrkdwn's three control characters, as its docs require."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_line(line: Line) -> str:
    text = _slack_escape(line.text)
    return f"• *{_slack_escape(line.key)}* {text}" if line.key else text


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _chunks(title: str, lines: Sequence[str], limit: int) -> list[str]:
    """`title` then the lines, split into texts of at most `limit` characters."""
    chunks: list[str] = []
    current = f"*{_slack_escape(title)}*"
    for line in lines:
        line = _cut(line, limit - 2)
        if len(current) + 1 + len(line) > limit:
            chunks.append(current)
            current = line
        else:
            current += "\n" + line
    chunks.append(current)
    return chunks


def slack_message(outline: Outline) -> dict[str, Any]:
    """Block Kit: a header, context, one section per part (split at 3,000 characters), links."""
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "emoji": True,
                "text": _cut(outline.title, SLACK_MAX_HEADER),
            },
        },
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": _cut(_slack_escape(c), SLACK_MAX_TEXT)}
                for c in outline.context
            ],
        },
    ]
    body: list[dict[str, Any]] = []
    for section in outline.sections:
        body.append({"type": "divider"})
        for text in _chunks(section.title, [_slack_line(x) for x in section.lines], SLACK_MAX_TEXT):
            body.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    actions = {
        "type": "actions",
        "elements": [
            {
                "type": "button",
                "text": {"type": "plain_text", "text": _cut(label, 75)},
                "url": url,
                "action_id": f"okrlink-link-{n}",
            }
            for n, (label, url) in enumerate(outline.buttons)
        ],
    }
    room = SLACK_MAX_BLOCKS - len(blocks) - 1 - 1  # the actions, and a "more" note if needed
    if len(body) > room + 1:
        left_out = sum(1 for block in body[room:] if block["type"] == "section")
        body = [
            *body[:room],
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"… +{left_out}"}]},
        ]
    fallback = _cut(_slack_escape(outline.fallback), SLACK_MAX_TEXT)
    return {"text": fallback, "blocks": [*blocks, *body, actions]}


# --- Teams ---------------------------------------------------------------------------------


_CARD_INLINE = re.compile(r"([\\`*_~\[\]<>{}&])")
"""Characters with an inline meaning in Adaptive Card Markdown (emphasis, links and images,
code, autolinks, entities, `{{DATE()}}` functions) and the escape itself."""
_CARD_BLOCK_START = re.compile(r"^(\s*(?:\d+)?)([-+#>.)])")
"""What would make a line a list item (`- `, `+ `, `1. `, `1) `), a heading or a quote."""


def card_text(text: str) -> str:
    """Plain text as Adaptive Card Markdown that shows exactly it: line breaks folded into
    spaces (a note's second line may not start a list), the ends trimmed, CommonMark backslash
    escapes for the characters with a meaning, and a leading list or heading marker escaped."""
    flat = " ".join(text.splitlines()).strip()  # indented by 4, a line would be code
    escaped = _CARD_INLINE.sub(r"\\\1", flat)
    return _CARD_BLOCK_START.sub(r"\1\\\2", escaped, count=1)


def _teams_line(line: Line) -> str:
    text = card_text(line.text)
    return f"- **{card_text(line.key)}** {text}" if line.key else text


def adaptive_card(outline: Outline) -> dict[str, Any]:
    """The outline as an Adaptive Card 1.5 (TextBlocks with Markdown lists, OpenUrl actions)."""
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": card_text(outline.title),
            "size": "Large",
            "weight": "Bolder",
            "wrap": True,
        },
        *(
            {
                "type": "TextBlock",
                "text": card_text(c),
                "isSubtle": True,
                "spacing": "None",
                "wrap": True,
            }
            for c in outline.context
        ),
    ]
    for section in outline.sections:
        body.append(
            {
                "type": "TextBlock",
                "text": card_text(section.title),
                "weight": "Bolder",
                "separator": True,
                "spacing": "Medium",
                "wrap": True,
            }
        )
        body.append(
            {
                "type": "TextBlock",
                "spacing": "Small",
                "wrap": True,
                "text": "\n".join(_teams_line(x) for x in section.lines),
            }
        )
    return {
        "$schema": ADAPTIVE_CARD_SCHEMA,
        "type": "AdaptiveCard",
        "version": ADAPTIVE_CARD_VERSION,
        "body": body,
        "actions": [
            {"type": "Action.OpenUrl", "title": label, "url": url} for label, url in outline.buttons
        ],
    }


def teams_message(outline: Outline) -> dict[str, Any]:
    """The message a Teams Workflows webhook takes: the card as its one attachment."""
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": adaptive_card(outline),
            }
        ],
    }


# --- text ----------------------------------------------------------------------------------


def text_message(outline: Outline) -> str:
    """The outline as plain text (the CLI's preview)."""
    parts = [outline.title, *outline.context]
    for section in outline.sections:
        parts.append("")
        parts.append(section.title)
        parts.extend(f"  - {x.key} {x.text}" if x.key else f"  {x.text}" for x in section.lines)
    parts.append("")
    parts.extend(f"{label}: {url}" for label, url in outline.buttons)
    return "\n".join(parts) + "\n"


def render(content: Digest | Reminder, kind: str, lang: str) -> Mapping[str, Any]:
    """The payload to post for a channel kind (`slack` or `teams`)."""
    outline = outline_of(content, lang)
    return teams_message(outline) if kind == "teams" else slack_message(outline)
