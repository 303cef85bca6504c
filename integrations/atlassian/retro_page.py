"""A closed cycle's retrospective published as a Confluence page, signed as the app.

`POST /wiki/rest/api/content` (Confluence Cloud REST API) with a storage-format body: the
retrospective in words and the OKR panel macro with `view=retro`, so the page shows the
graded KRs live. The body is written here, escaped field by field, not through a template
engine: it is a dozen elements and must stay valid XHTML for Confluence's storage format.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from atlassian import Confluence

from integrations.atlassian.client import _call

MACRO_KEY = "okr-panel"


@dataclass(frozen=True, slots=True)
class GradedLine:
    key: str
    title: str
    score: float | None
    reason: str | None
    carried: bool


@dataclass(frozen=True, slots=True)
class RetroPage:
    id: str
    url: str


def storage_body(*, team: str, cycle: str, learned: str, differently: str,
                 krs: Sequence[GradedLine]) -> str:  # fmt: skip
    """The page in Confluence storage format (XHTML), every value escaped."""
    rows = "".join(
        f"<tr><td>{escape(kr.key)}</td><td>{escape(kr.title)}</td>"
        f"<td>{'' if kr.score is None else f'{kr.score:.1f}'}</td>"
        f"<td>{escape(kr.reason or '')}</td><td>{'carried over' if kr.carried else ''}</td></tr>"
        for kr in krs
    )
    macro = (
        f'<ac:structured-macro ac:name="{MACRO_KEY}" ac:schema-version="1">'
        f'<ac:parameter ac:name="team">{escape(team)}</ac:parameter>'
        f'<ac:parameter ac:name="cycle">{escape(cycle)}</ac:parameter>'
        '<ac:parameter ac:name="view">retro</ac:parameter></ac:structured-macro>'
    )
    return (
        f"<h2>What we learned</h2><p>{escape(learned) or '—'}</p>"
        f"<h2>What we would do differently</h2><p>{escape(differently) or '—'}</p>"
        "<h2>Final scores</h2><table><tbody><tr><th>KR</th><th>Title</th><th>Score</th>"
        f"<th>Why</th><th></th></tr>{rows}</tbody></table>{macro}"
    )


def publish_retro(confluence: Confluence, *, space: str, title: str, body: str) -> RetroPage:
    """Create the page in `space`; failures are the core's `Transient` or `Permanent`."""
    data: dict[str, Any] = {
        "type": "page",
        "title": title,
        "space": {"key": space},
        "body": {"storage": {"value": body, "representation": "storage"}},
    }
    answer = _call("publish the retrospective", confluence.post, "rest/api/content", data=data)
    links = answer.get("_links", {}) if isinstance(answer, dict) else {}
    return RetroPage(id=str(answer.get("id", "")) if isinstance(answer, dict) else "",
                     url=f"{links.get('base', '')}{links.get('webui', '')}")  # fmt: skip
