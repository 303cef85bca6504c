"""The Confluence OKR panel as a cached page: from the request's parameters to its answer.

One function serves both ways in: the Flask view (which renders on a miss) and the WSGI
fast path in `connect/http/panel.py` (which only answers hits). Both so get the same cache
key, ETag, 304 and headers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Literal

from werkzeug.http import parse_accept_header, parse_etags

from connect.errors import BadRequest
from connect.http.hotpaths import Answer
from connect.ui.cache import CachedPage, PageCache
from connect.ui.headers import page_headers
from connect.ui.i18n import pick_locale
from connect.ui.panels import PanelQuery
from connect.ui.versions import PanelVersions

TEAM_KEY = re.compile(r"[A-Za-z0-9_.-]{1,64}")


@dataclass(frozen=True, slots=True)
class PanelRequest:
    """What a panel load asks for: whose OKRs, which view, in which language."""

    query: PanelQuery
    mode: Literal["full", "compact", "review", "retro"]
    static: bool
    locale: str


_MODES: dict[str, Literal["full", "compact", "review", "retro"]] = {
    "compact": "compact",
    "review": "review",
    "retro": "retro",
}


def team_param(args: Mapping[str, str], name: str = "team") -> str:
    """The team key parameter, or a 400 saying where to give it."""
    team = args.get(name, "").strip()
    if not TEAM_KEY.fullmatch(team):
        raise BadRequest(f"give the team key in the {name} parameter", code="team_missing")
    return team


def panel_request(
    args: Mapping[str, str], *, accept_language: str | None, static: bool
) -> PanelRequest:
    """The macro's parameters (team, cycle, objective, view) and the reader's locale."""
    query = PanelQuery(
        team=team_param(args),
        cycle=args.get("cycle", "").strip(),
        objective=args.get("objective", "").strip(),
    )
    return PanelRequest(
        query=query,
        mode=_MODES.get(args.get("view", ""), "full"),
        static=static,
        locale=pick_locale(query=args, accept_language=accept_language),
    )


def serve_panel(
    panel: PanelRequest,
    *,
    cache: PageCache,
    versions: PanelVersions,
    site_id: int,
    base_url: str | None,
    today: date,
    if_none_match: str | None,
    accept_encoding: str | None = None,
    render: Callable[[PanelRequest], str] | None,
) -> Answer | None:
    """The panel's answer, keyed by its data version; None on a miss when `render` is None.

    `render(panel)` builds the page on a miss. A matching weak ETag gets a 304; any other answer
    carries the cached page, gzipped when the client takes it.
    """
    version = versions.version(site_id, panel.query, today=today)
    key: Hashable = ("panel", site_id, panel.query, panel.mode, panel.static, panel.locale, version)
    if if_none_match:
        etag = cache.etag_for(key)
        if parse_etags(if_none_match).contains_weak(etag[3:-1]):
            return Answer(304, [("ETag", etag), ("Cache-Control", "private, no-cache")], b"")
    page: CachedPage | None
    if render is None:
        page = cache.get(key)
        if page is None:
            return None
    else:
        page = cache.get_or_render(key, lambda: render(panel))
    headers = [*_panel_headers(not panel.static, base_url), ("ETag", page.etag)]
    if accepts_gzip(accept_encoding):
        body = page.gzipped
        headers.append(("Content-Encoding", "gzip"))
    else:
        body = page.body
    headers.append(("Content-Length", str(len(body))))
    return Answer(200, headers, body)


@lru_cache(maxsize=1024)
def _panel_headers(scripts: bool, base_url: str | None) -> tuple[tuple[str, str], ...]:
    """A panel's headers but for its ETag and body: the same on every load of a site's panels."""
    return (
        ("Content-Type", "text/html; charset=utf-8"),
        *(
            header
            for header in page_headers(scripts=scripts, private=False, base_url=base_url)
            if header[0] != "Vary"
        ),
        ("Vary", "Accept-Language, Accept-Encoding"),
    )


@lru_cache(maxsize=256)
def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether an Accept-Encoding header takes gzip (every browser's does)."""
    if not accept_encoding:
        return False
    return parse_accept_header(accept_encoding).quality("gzip") > 0  # `*` counts too
