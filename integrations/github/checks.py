"""The "OKR impact" check run: which key results a PR advances, rendered for the Checks API."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote, urlsplit

from sync.core.progress import clamp01
from sync.write.check_run import KrImpact as KrImpact  # the core owns the value; rendered here

CHECK_NAME = "OKR impact"
# Checks API limits (docs: "Create a check run"): output.summary and output.text are at most
# 65,535 characters; an action's label 20, description 40, identifier 20.
MAX_OUTPUT_CHARS = 65_535
REFRESH_IDENTIFIER = "refresh"
REFRESH_ACTION: dict[str, str] = {
    "label": "Refresh",
    "description": "Recompute KR impact",
    "identifier": REFRESH_IDENTIFIER,
}
# Conclusions a repository may choose for a PR that advances KRs; the check never blocks a merge.
LINKED_CONCLUSIONS = frozenset({"neutral", "success"})
MAX_CELL_CHARS = 200

_STATUS_WORDS = {"on_track": "on track", "at_risk": "at risk", "off_track": "off track"}
# Characters that carry Markdown meaning inside a table cell; each is backslash-escaped.
_MARKDOWN_PUNCTUATION = frozenset("\\`*_~[]|!#()")
_HTML_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
# Characters kept as-is in link targets; everything else (spaces, parentheses, brackets, pipes,
# angle brackets, backticks) is percent-encoded so a URL cannot end the link early.
_URL_SAFE = ":/?#@!$&'*+,;=%~-._"

HOW_TO_LINK = (
    "This pull request is not linked to a key result yet. To link one:\n\n"
    "- put a Jira issue key (for example `PLAT-12`) in the title, the branch name or the "
    "description; the issue's key results are then shown here, or\n"
    "- add a line `KR: PLAT-1.2` (several keys separated by commas) to the description "
    "to link key results directly."
)
EXPLANATION = (
    "*Progress now* is each key result's progress today. *If this PR's issues are done* is "
    "its progress once every Jira issue linked to this pull request is done."
)


def escape_cell(value: str, *, limit: int = MAX_CELL_CHARS) -> str:
    """Make text safe for one Markdown table cell: one line, no Markdown, no HTML."""
    flat = " ".join(value.split())
    if len(flat) > limit:
        flat = flat[: limit - 1].rstrip() + "…"
    out: list[str] = []
    for char in flat:
        if char in _HTML_ENTITIES:
            out.append(_HTML_ENTITIES[char])
        elif char in _MARKDOWN_PUNCTUATION:
            out.append("\\" + char)
        else:
            out.append(char)
    return "".join(out)


def safe_url(url: str | None) -> str | None:
    """An http(s) URL fit for a Markdown link target, or None for anything else."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        return None
    return quote(url.strip(), safe=_URL_SAFE)


def percent(value: float) -> str:
    """Progress 0..1 as a whole percentage (clamped; NaN counts as 0)."""
    return f"{round(clamp01(value) * 100)}%"


def status_words(status: str) -> str:
    """`on_track` / `at-risk` / `Off track` -> the words shown to people."""
    normalised = status.strip().lower().replace("-", "_").replace(" ", "_")
    return _STATUS_WORDS.get(normalised, normalised.replace("_", " "))


def _row(impact: KrImpact) -> str:
    label = escape_cell(f"{impact.key} {impact.title}")
    url = safe_url(impact.url)
    kr = f"[{label}]({url})" if url else label
    now = percent(impact.progress_now)
    then = percent(impact.progress_if_done)
    gain = round(clamp01(impact.progress_if_done) * 100) - round(clamp01(impact.progress_now) * 100)
    if gain > 0:
        then = f"{then} (+{gain} pts)"
    cells = [
        kr,
        escape_cell(impact.objective_title),
        now,
        then,
        escape_cell(status_words(impact.status)),
        escape_cell(impact.owner) if impact.owner else "—",
    ]
    return "| " + " | ".join(cells) + " |"


_HEADER = (
    "| KR | Objective | Progress now | If this PR's issues are done | Status | Owner |\n"
    "| --- | --- | ---: | ---: | --- | --- |"
)


def truncate(text: str, *, limit: int = MAX_OUTPUT_CHARS) -> str:
    """Cut `text` to at most `limit` characters, ending with a note that it was cut."""
    if len(text) <= limit:
        return text
    note = "\n\n*Truncated: the rest does not fit in a GitHub check run.*"
    return text[: limit - len(note)].rstrip() + note


def _summary(impacts: Sequence[KrImpact], okr_page_url: str | None) -> str:
    footer = ""
    page = safe_url(okr_page_url)
    if page:
        footer = f"\n\n[Open the team's OKR page]({page})"
    parts = [_HEADER]
    used = len(_HEADER) + len(footer)
    for index, impact in enumerate(impacts):
        row = _row(impact)
        left = len(impacts) - index - 1
        note = _omitted_note(left + 1)
        # Keep room for the note about omitted rows in case a later row does not fit.
        reserve = len(_omitted_note(left)) + 1 if left else 0
        if used + 1 + len(row) + reserve > MAX_OUTPUT_CHARS:
            parts.append(note)
            break
        parts.append(row)
        used += 1 + len(row)
    return truncate("\n".join(parts) + footer)


def _omitted_note(count: int) -> str:
    plural = "key result is" if count == 1 else "key results are"
    return f"\n*{count} more {plural} not shown: the list does not fit in a GitHub check run.*"


def _title(count: int) -> str:
    if count == 0:
        return "No key result linked"
    return "Advances 1 key result" if count == 1 else f"Advances {count} key results"


def render_check_run(
    *,
    impacts: Sequence[KrImpact],
    okr_page_url: str | None,
    conclusion_when_linked: str = "neutral",
    no_kr_message: bool = True,
    text: str | None = None,
) -> dict[str, Any] | None:
    """The Checks API fields (without `head_sha`) of the "OKR impact" run, or None to post nothing.

    A PR linked to no KR gets a neutral run that explains how to link one, or nothing at all
    when `no_kr_message` is False. `text` is optional Markdown shown under the summary.
    """
    if conclusion_when_linked not in LINKED_CONCLUSIONS:
        raise ValueError(f"conclusion_when_linked must be one of {sorted(LINKED_CONCLUSIONS)}")
    if not impacts and not no_kr_message:
        return None
    if impacts:
        summary = _summary(impacts, okr_page_url)
        details: str | None = EXPLANATION if text is None else text
        conclusion = conclusion_when_linked
    else:
        page = safe_url(okr_page_url)
        summary = HOW_TO_LINK + (f"\n\n[Open the team's OKR page]({page})" if page else "")
        summary = truncate(summary)
        details = text
        conclusion = "neutral"
    output: dict[str, str] = {"title": _title(len(impacts)), "summary": summary}
    if details:
        output["text"] = truncate(details)
    body: dict[str, Any] = {
        "name": CHECK_NAME,
        "status": "completed",
        "conclusion": conclusion,
        "output": output,
        "actions": [dict(REFRESH_ACTION)],
    }
    details_url = safe_url(okr_page_url)
    if details_url:
        body["details_url"] = details_url
    return body
