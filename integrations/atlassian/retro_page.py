"""A closed cycle's retrospective published as a Confluence page, signed as the app.

`POST /wiki/rest/api/content` (Confluence Cloud REST API) with a storage-format body: the
retrospective in words and the OKR panel macro with `view=retro`, so the page shows the
graded KRs live. The body is written here, escaped field by field, not through a template
engine: it is a dozen elements and must stay valid XHTML for Confluence's storage format.

Publication is retried by the outbound queue, so it must be idempotent: `ConfluenceWiki`
first looks the title up in the space (`GET /wiki/rest/api/content?spaceKey=&title=&type=page`)
and reuses a page found there (one created by a try whose answer was lost), creating one only
when there is none. Titles are unique in a Confluence space, so the lookup is exact.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING, Any

from atlassian import Confluence

from integrations.atlassian.client import RetryAfterAdapter, _call, confluence_client
from integrations.errors import SourceMissing, Transient
from sync.retro import PublishedPage, RetroObjective, RetroView

if TYPE_CHECKING:
    from sync.tenants import Tenant

MACRO_KEY = "okr-panel"


@dataclass(frozen=True, slots=True)
class GradedLine:
    key: str
    title: str
    score: float | None
    reason: str | None
    carried: bool


RetroPage = PublishedPage
"""A published page: its content id and address (the core's value)."""

TenantLookup = Callable[[int, str], "tuple[Tenant, str | None] | None"]


def storage_body(
    *,
    team: str,
    cycle: str,
    learned: str,
    differently: str,
    krs: Sequence[GradedLine],
    objectives: Sequence[RetroObjective] = (),
) -> str:
    """The page in Confluence storage format (XHTML), every value escaped."""
    whys = "".join(
        f"<li><strong>{escape(o.key)}</strong> {escape(o.title)}"
        f"{f' — {escape(o.description)}' if o.description else ''}</li>"
        for o in objectives
    )
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
    goals = f"<h2>Objectives and why</h2><ul>{whys}</ul>" if whys else ""
    return (
        f"{goals}<h2>What we learned</h2><p>{escape(learned) or '—'}</p>"
        f"<h2>What we would do differently</h2><p>{escape(differently) or '—'}</p>"
        "<h2>Final scores</h2><table><tbody><tr><th>KR</th><th>Title</th><th>Score</th>"
        f"<th>Why</th><th></th></tr>{rows}</tbody></table>{macro}"
    )


def _page(found: Mapping[str, Any], base: str) -> RetroPage:
    links = found.get("_links") or {}
    return RetroPage(
        id=str(found.get("id", "")), url=f"{links.get('base') or base}{links.get('webui', '')}"
    )


def find_page(confluence: Confluence, *, space: str, title: str) -> RetroPage | None:
    """The current page titled `title` in `space`, if there is one."""
    params = {"spaceKey": space, "title": title, "type": "page"}
    answer = _call("look up the retrospective", confluence.get, "rest/api/content", params=params)
    if not isinstance(answer, Mapping):
        raise Transient("look up the retrospective: unexpected answer")
    results = answer.get("results") or []
    if not results:
        return None
    base = str((answer.get("_links") or {}).get("base", ""))
    return _page(results[0], base)


def publish_retro(confluence: Confluence, *, space: str, title: str, body: str) -> RetroPage:
    """The page titled `title` in `space`: the existing one, else created with `body`.

    Failures are the core's `Transient` or `Permanent`."""
    existing = find_page(confluence, space=space, title=title)
    if existing is not None:
        return existing
    data: dict[str, Any] = {
        "type": "page",
        "title": title,
        "space": {"key": space},
        "body": {"storage": {"value": body, "representation": "storage"}},
    }
    answer = _call("publish the retrospective", confluence.post, "rest/api/content", data=data)
    if not isinstance(answer, Mapping):
        raise Transient("publish the retrospective: unexpected answer")
    return _page(answer, "")


def retro_body(retro: RetroView) -> str:
    """The storage body of a closed cycle's retrospective."""
    return storage_body(
        team=retro.team,
        cycle=retro.cycle,
        learned=retro.learned,
        differently=retro.differently,
        krs=[GradedLine(kr.key, kr.title, kr.score, kr.reason, kr.carried) for kr in retro.krs],
        objectives=retro.objectives,
    )


class ConfluenceWiki:
    """The `Wiki` port on Confluence Cloud: each site's Confluence installation, called as the
    app. No retry in the call itself: the outbound queue retries, after `Retry-After` when
    Confluence gives one, so a request publishing at once never waits on a busy Confluence."""

    def __init__(self, *, tenants: TenantLookup, app_key: str) -> None:
        self.tenants = tenants
        self.app_key = app_key

    def publish_retro(self, site_id: int, *, space: str, title: str, retro: RetroView) -> RetroPage:
        found = self.tenants(site_id, "confluence")
        if found is None or not found[1]:
            raise SourceMissing("okrlink is not installed on this site's Confluence")
        tenant, secret = found
        client = confluence_client(
            base_url=tenant.base_url,
            app_key=self.app_key,
            shared_secret=secret or "",
            adapter=RetryAfterAdapter(max_attempts=1),
        )
        return publish_retro(client, space=space, title=title, body=retro_body(retro))
