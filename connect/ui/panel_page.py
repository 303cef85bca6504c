"""The Confluence OKR panel as a cached page: from the request's parameters to its answer.

One function serves every way in: the Flask views (the macro, the Connect dashboard gadget's
panel, the Forge dashboard gadget), which render on a miss with `render_panel_request`, and
the WSGI fast path in `connect/http/panel.py` (which only answers hits). All so get the same
cache key, ETag, 304 and headers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Literal

from werkzeug.http import parse_accept_header, parse_etags

from connect.errors import BadRequest
from connect.http.hotpaths import Answer
from connect.services import services
from connect.ui import panels
from connect.ui.cache import CachedPage, PageCache
from connect.ui.headers import page_headers
from connect.ui.i18n import pick_locale
from connect.ui.panels import PanelQuery
from connect.ui.render import render_empty_panel, render_panel, render_retro, render_review
from connect.ui.retro import load_retro
from connect.ui.review import load_review
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


def render_panel_request(panel: PanelRequest, *, site_id: int, now: datetime) -> str:
    """The page a panel request asks for, rendered from the store: the team's OKRs (full or
    compact), its weekly review or its retrospective; the empty panel when there is none."""
    store = services().store

    def empty() -> str:
        cycle = panel.query.cycle or panels.current_cycle_name(now.date())
        return render_empty_panel(team=panel.query.team, cycle=cycle, locale=panel.locale)

    query, scripts = panel.query, not panel.static
    if panel.mode == "retro":
        with store.session() as session:
            retro = load_retro(session, site_id, team=query.team, cycle=query.cycle)
        if retro is None:
            return empty()
        return render_retro(retro, locale=panel.locale, host_script=scripts)
    if panel.mode == "review":
        with store.session() as session:
            review = load_review(session, site_id, team=query.team, cycle=query.cycle, now=now)
        if review is None:
            return empty()
        return render_review(review, locale=panel.locale, host_script=scripts)
    with store.session() as session:
        view = panels.load_panel(session, site_id, query, today=now.date())
    if view is None:
        return empty()
    return render_panel(
        view, mode=panel.mode, locale=panel.locale, static=panel.static, host_script=scripts
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
    # Fewer Python calls on SQLite's every load: see `connect/http/panel.py`.
    version = (
        versions.sqlite_version(site_id, panel.query, today)
        if versions.watch_data_version
        else versions.version(site_id, panel.query, today=today)
    )
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
    gzipped = accept_encoding is not None and (  # `accepts_gzip`, written out: one call fewer
        _takes_gzip_cached if len(accept_encoding) <= MAX_CACHED_HEADER else _takes_gzip
    )(accept_encoding)
    body = page.gzipped if gzipped else page.body
    headers = _answer_headers(not panel.static, base_url, page.etag, gzipped, len(body))
    return Answer(200, list(headers), body)


@lru_cache(maxsize=1024)
def _answer_headers(
    scripts: bool, base_url: str | None, etag: str, gzipped: bool, length: int
) -> tuple[tuple[str, str], ...]:
    """A cached page's headers: the same on every load of it (built once, not per load)."""
    return (
        *_panel_headers(scripts, base_url),
        ("ETag", etag),
        *((("Content-Encoding", "gzip"),) if gzipped else ()),
        ("Content-Length", str(length)),
    )


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


MAX_CACHED_HEADER = 512
"""The longest header value a cache keeps: browsers' are a few dozen characters, while
`okrlink web` reads header values of hundreds of kilobytes."""


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether an Accept-Encoding header takes gzip (every browser's does)."""
    if not accept_encoding:
        return False
    cached = len(accept_encoding) <= MAX_CACHED_HEADER
    return (_takes_gzip_cached if cached else _takes_gzip)(accept_encoding)


def _takes_gzip(accept_encoding: str) -> bool:
    return parse_accept_header(accept_encoding).quality("gzip") > 0  # `*` counts too


_takes_gzip_cached = lru_cache(maxsize=256)(_takes_gzip)
"""`_takes_gzip` for values up to `MAX_CACHED_HEADER`, which its callers check (a `short_cache`
would be one Python call more on every panel load)."""
