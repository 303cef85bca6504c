"""Chat messages as HTML, close to how Slack and Teams show them: the demo's local receiver
and `bench/digest_screenshots.py` use it to show the digest without a Slack or Teams account.

Hand-written because no Python package renders Block Kit or Adaptive Cards to HTML; it covers
exactly the elements `connect/chat/digest.py` emits (header, context, section, divider, actions;
TextBlock with Markdown bullets and bold, Action.OpenUrl) and shows anything else as its JSON.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from markupsafe import Markup, escape

_SLACK_BOLD = re.compile(r"\*([^*\n]+)\*")
_MD_BOLD = re.compile(r"\*\*([^*\n]+)\*\*")

STYLE = """
body{margin:0;background:#f4f4f5;font:15px/1.45 -apple-system,'Segoe UI',Lato,Helvetica,
Arial,sans-serif;color:#1d1c1d}
.msg{max-width:760px;margin:16px auto;background:#fff;border-radius:8px;padding:16px 20px;
box-shadow:0 1px 3px rgba(0,0,0,.15)}
.who{display:flex;gap:10px;align-items:baseline;margin-bottom:6px}
.who b{font-weight:900}.who span{color:#616061;font-size:12px}
.slack h1{font-size:18px;font-weight:900;margin:4px 0}
.slack .ctx{color:#616061;font-size:13px;margin:2px 0}
.slack hr{border:0;border-top:1px solid #ddd;margin:10px 0}
.slack .sec{margin:6px 0;white-space:pre-wrap}
.slack .act a{display:inline-block;border:1px solid #bbb;border-radius:4px;padding:4px 12px;
margin:8px 8px 0 0;color:#1d1c1d;text-decoration:none;font-weight:700;font-size:13px}
.teams{font-family:'Segoe UI',-apple-system,Helvetica,Arial,sans-serif;color:#242424}
.teams .card{border:1px solid #e0e0e0;border-radius:6px;padding:14px 16px}
.teams .tb{margin:8px 0 0}.teams .tb.None{margin-top:0}.teams .tb.Small{margin-top:4px}
.teams .tb.sep{border-top:1px solid #e0e0e0;padding-top:10px;margin-top:12px}
.teams .Large{font-size:20px}.teams .Bolder{font-weight:700}.teams .subtle{color:#616161}
.teams ul{margin:2px 0;padding-left:20px}
.teams .act a{display:inline-block;border:1px solid #d1d1d1;border-radius:4px;
padding:5px 12px;margin:12px 8px 0 0;color:#242424;text-decoration:none;font-weight:600}
pre{white-space:pre-wrap;font-size:12px;background:#f6f6f6;padding:8px}
"""


def _slack_mrkdwn(text: str) -> Markup:
    """Slack mrkdwn (already &-escaped by the sender) with `*bold*` as <b>."""
    html = str(escape(text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")))
    return Markup(_SLACK_BOLD.sub(r"<b>\1</b>", html))  # noqa: S704 (escaped above)


def slack_html(message: Mapping[str, Any]) -> Markup:
    """A Block Kit message as Slack lays it out."""
    parts: list[str] = [
        '<div class="msg slack"><div class="who"><b>okrlink</b><span>APP</span></div>'
    ]
    for block in message.get("blocks", ()):
        kind = block.get("type")
        if kind == "header":
            parts.append(f"<h1>{escape(block['text']['text'])}</h1>")
        elif kind == "context":
            for element in block.get("elements", ()):
                parts.append(f'<div class="ctx">{_slack_mrkdwn(element.get("text", ""))}</div>')
        elif kind == "divider":
            parts.append("<hr>")
        elif kind == "section":
            parts.append(f'<div class="sec">{_slack_mrkdwn(block["text"]["text"])}</div>')
        elif kind == "actions":
            links = "".join(
                f'<a href="{escape(e.get("url", ""))}">{escape(e["text"]["text"])}</a>'
                for e in block.get("elements", ())
            )
            parts.append(f'<div class="act">{links}</div>')
        else:
            parts.append(f"<pre>{escape(json.dumps(block, ensure_ascii=False))}</pre>")
    parts.append("</div>")
    return Markup("".join(parts))  # noqa: S704 (every value escaped above)


_MD_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")
"""CommonMark's backslash escapes: any ASCII punctuation."""
_PARK = 0xE000
_MD_PARKED = re.compile("[\ue021-\ue07e]")


def _markdown_block(text: str) -> str:
    """A TextBlock's Markdown: `- ` lines as a list, `**bold**`, other lines as paragraphs."""
    out: list[str] = []
    items: list[str] = []

    def bold(line: str) -> str:
        # A backslash-escaped character is shown as itself and takes no part in the markup:
        # it is parked in the private use area while `**bold**` is found, then written out.
        parked = _MD_ESCAPED.sub(lambda m: chr(_PARK + ord(m[1])), line)
        html = _MD_BOLD.sub(r"<b>\1</b>", str(escape(parked)))
        return _MD_PARKED.sub(lambda m: f"&#{ord(m[0]) - _PARK};", html)

    for line in text.split("\n"):
        if line.startswith("- "):
            items.append(f"<li>{bold(line[2:])}</li>")
            continue
        if items:
            out.append("<ul>" + "".join(items) + "</ul>")
            items = []
        out.append(f"<div>{bold(line)}</div>")
    if items:
        out.append("<ul>" + "".join(items) + "</ul>")
    return "".join(out)


def adaptive_card_html(card: Mapping[str, Any]) -> Markup:
    """An Adaptive Card as Teams lays it out."""
    parts = [
        '<div class="msg teams"><div class="who"><b>Workflows</b>'
        '<span>via okrlink</span></div><div class="card">'
    ]
    for element in card.get("body", ()):
        if element.get("type") != "TextBlock":
            parts.append(f"<pre>{escape(json.dumps(element, ensure_ascii=False))}</pre>")
            continue
        classes = [
            "tb",
            element.get("size", ""),
            element.get("weight", ""),
            element.get("spacing", ""),
            "sep" if element.get("separator") else "",
            "subtle" if element.get("isSubtle") else "",
        ]
        parts.append(
            f'<div class="{" ".join(c for c in classes if c)}">'
            f"{_markdown_block(element.get('text', ''))}</div>"
        )
    links = "".join(
        f'<a href="{escape(a.get("url", ""))}">{escape(a.get("title", ""))}</a>'
        for a in card.get("actions", ())
    )
    parts.append(f'<div class="act">{links}</div></div></div>')
    return Markup("".join(parts))  # noqa: S704 (every value escaped above)


def message_html(kind: str, message: Mapping[str, Any]) -> Markup:
    """One posted message, Slack or Teams."""
    if kind == "teams":
        cards = [a.get("content", {}) for a in message.get("attachments", ())]
        return Markup("".join(adaptive_card_html(card) for card in cards))  # noqa: S704
    return slack_html(message)


def page(messages: Iterable[tuple[str, Mapping[str, Any]]], *, title: str) -> str:
    """A whole page of messages, newest first."""
    body = "".join(message_html(kind, message) for kind, message in messages)
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{STYLE}</style></head><body>{body or '<p class=msg>No message yet.</p>'}"
        "</body></html>"
    )
