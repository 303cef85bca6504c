"""Cached Confluence panels answered before Flask dispatches: the page view every reader makes.

Why by hand: Flask's request context, routing and response objects cost about as much as the
whole cached panel. On the 2-core bench machine a bare WSGI callable serves about 5,500
requests/s under gunicorn and a trivial Flask route about 3,500/s, while the panel's target is
3,000 verified loads/s. So a panel load whose page is already cached is answered here, by the
same JWT check (`verify_connect_call`), data-version query, cache key, ETag and headers as the
Flask view (`serve_panel`). Anything else (another route, no or a bad token, a bad parameter,
the dev token, a cache miss) goes on to Flask untouched, which answers errors and renders.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from connect.errors import OkrlinkError
from connect.security import verify_connect_call
from connect.ui.panel_page import PanelAnswer, PanelRequest, panel_request, serve_panel

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

PANEL_PATHS = {"/confluence/macro/okr-panel": False, "/confluence/macro/okr-panel/static": True}
"""The panel routes (path -> static rendering), as `connect/ui/views.py` registers them."""

STATUS_LINES = {200: "200 OK", 304: "304 Not Modified"}


class CachedPanelFastPath:
    """WSGI middleware: answer a verified panel load from the page cache, else call Flask."""

    def __init__(self, app: WSGIApplication, services: Any) -> None:
        self.app = app
        self.services = services

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse
                 ) -> Iterable[bytes]:  # fmt: skip
        static = PANEL_PATHS.get(environ.get("PATH_INFO", ""))
        if static is not None and environ.get("REQUEST_METHOD") == "GET":
            answer = self.cached_answer(environ, static=static)
            if answer is not None:
                start_response(STATUS_LINES[answer.status], answer.headers)
                return [answer.body]
        return self.app(environ, start_response)

    def cached_answer(self, environ: WSGIEnvironment, *, static: bool) -> PanelAnswer | None:
        """The cached panel for a verified request, or None to let Flask answer."""
        services = self.services
        try:
            # PEP 3333 carries the query as latin-1; Flask decodes its bytes as UTF-8.
            query = environ.get("QUERY_STRING", "").encode("latin-1").decode()
            params = "&".join(part for part in query.split("&") if not part.startswith("jwt="))
            panel = _panel_request(params, environ.get("HTTP_ACCEPT_LANGUAGE"), static)
            if panel is None:
                return None
            tenant, _claims = verify_connect_call(
                services.extras["tenants"],
                method="GET",
                path=environ["PATH_INFO"],
                query=query,
                authorization=environ.get("HTTP_AUTHORIZATION"),
                base_url=services.settings.base_url,
                allow_context_qsh=False,
            )
        except (OkrlinkError, UnicodeError):
            return None
        return serve_panel(
            panel,
            cache=services.extras["ui_page_cache"],
            versions=services.extras["ui_panel_versions"],
            site_id=tenant.site_id,
            base_url=tenant.base_url,
            today=services.extras["jobs"].ports.clock.now().date(),
            if_none_match=environ.get("HTTP_IF_NONE_MATCH"),
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
    except OkrlinkError:
        return None
