"""The cached Confluence panel as a hot path (`connect/http/hotpaths.py`): the load every reader
of a page makes, answered before Flask when the page is already cached.

It runs the Flask view's own pieces: the Connect JWT check (`verify_connect_call`), the
macro's parameters (`panel_request`), and `serve_panel` without a renderer, so a cache miss,
the dev token or any failed check goes on to Flask.
"""

from __future__ import annotations

import functools
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from connect.doors.atlassian_connect.verify import verify_connect_call
from connect.errors import ApiError
from connect.http.hotpaths import Answer, HotPath, query_string
from connect.ui.panel_page import MAX_CACHED_HEADER, PanelRequest, panel_request, serve_panel
from integrations.atlassian.qsh import MAX_CACHED_QUERY, without_token

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

PANEL_PATHS = {"/confluence/macro/okr-panel": False, "/confluence/macro/okr-panel/static": True}
"""The panel routes (path -> static rendering), as the Connect pages
(`connect/doors/atlassian_connect/pages.py`) register them."""


def panel_hot_paths(services: Any) -> dict[tuple[str, str], HotPath]:
    """The hot paths of the panel routes, bound to the app's services."""

    # partial, not a lambda: no Python frame of its own (see `cached_panel`)
    return {
        ("GET", path): functools.partial(cached_panel, services, static=static)
        for path, static in PANEL_PATHS.items()
    }


def cached_panel(services: Any, environ: WSGIEnvironment, *, static: bool) -> Answer | None:
    """The cached panel for a verified request, or None to let Flask answer.

    Written for few Python calls: in the server a load runs with the core's caches cold (the
    HTTP threads and the other worker ran in between), and a load of 19-22 µs in a loop took
    50-60 µs so; every function it enters is fetched again ("Cold caches: fewer and lighter
    calls" in docs/development/performance.md).
    """
    try:
        query = environ.get("QUERY_STRING", "")
        if not query.isascii():  # as `query_string` reads it, inline
            query = query_string(environ)
        params = without_token(query)
        accept_language = environ.get("HTTP_ACCEPT_LANGUAGE")
        if len(params) > MAX_CACHED_QUERY or len(accept_language or "") > MAX_CACHED_HEADER:
            return None  # longer than any page's or browser's: Flask answers, without a cache
        panel = _panel_request(params, accept_language, static)
        if panel is None:
            return None
        tenant, _claims = verify_connect_call(
            services.tenants,
            method="GET",
            path=environ["PATH_INFO"],
            query=query,
            authorization=environ.get("HTTP_AUTHORIZATION"),
            base_url=services.settings.base_url,
            allow_context_qsh=False,
            params=params,
        )
    except (ApiError, UnicodeError):
        return None
    return serve_panel(
        panel,
        cache=services.ui_page_cache,
        versions=services.ui_panel_versions,
        site_id=tenant.site_id,
        base_url=tenant.base_url,
        today=services.jobs.ports.clock.now().date(),
        if_none_match=environ.get("HTTP_IF_NONE_MATCH"),
        accept_encoding=environ.get("HTTP_ACCEPT_ENCODING"),
        render=None,
    )


@lru_cache(maxsize=1024)
def _panel_request(params: str, accept_language: str | None, static: bool) -> PanelRequest | None:
    """The panel a query (without its token) asks for; None for Flask to answer.

    Cached: a page's macro parameters repeat on every load while only the token changes.
    """
    args: dict[str, str] = {}
    for name, value in parse_qsl(params, keep_blank_values=True):
        args.setdefault(name, value)  # the first value, as Flask's request.args
    if "dev_token" in args:
        return None
    try:
        return panel_request(args, static=static, accept_language=accept_language)
    except ApiError:
        return None
