"""The hottest routes, answered before Flask dispatches; anything unusual goes on to Flask.

Why by hand: Flask's request context, routing and response objects cost about as much as
the whole of a cached panel load or of a webhook's intake. On the 2-core bench machine a
bare WSGI callable serves about 5,500 requests/s under gunicorn and a trivial Flask route
about 3,500/s, while the targets are 3,000 verified panel loads/s and 1,000 recorded
webhooks/s. A hot path runs the same functions as its Flask view (the same JWT check, the
same recording or cache lookup, the same headers) and answers only the ordinary case; it
returns None for everything else (no or a bad token, a bad body, a cache miss, an error),
and Flask then answers the request from the start, as if the hot path were not there.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy.exc import OperationalError

from connect.ops.metrics import ROUTE_ENVIRON, UNMATCHED, now, observe_request

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 2 * 1024 * 1024
"""The largest request body accepted anywhere (Flask's MAX_CONTENT_LENGTH is set to it)."""

STATUS_LINES = {200: "200 OK", 304: "304 Not Modified"}


class Answer(NamedTuple):
    """A complete response: status, headers (with Content-Type and Content-Length), body.

    A NamedTuple: made in 0.2 µs, where a frozen dataclass took 0.5 (one per hot request)."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


HotPath = Callable[["WSGIEnvironment"], "Answer | None"]


def json_answer(body: dict[str, Any], status: int = 200) -> Answer:
    """A JSON answer, as compact as Flask's `jsonify` in production."""
    data = json.dumps(body, separators=(",", ":")).encode() + b"\n"
    return Answer(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))], data
    )


def query_string(environ: WSGIEnvironment) -> str:
    """The raw query string as Flask reads it: PEP 3333 carries it as latin-1, Flask as UTF-8."""
    raw: str = environ.get("QUERY_STRING", "")
    # ASCII (a query as browsers send it) reads the same both ways; `isascii` is a flag lookup.
    return raw if raw.isascii() else raw.encode("latin-1").decode()


def request_body(environ: WSGIEnvironment, *, limit: int) -> bytes | None:
    """The body of a request with a Content-Length up to `limit`, left readable for Flask."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None
    if length < 0 or length > limit:
        return None
    raw = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(raw)
    return raw if len(raw) == length else None


class HotPaths:
    """WSGI middleware: `(method, path) -> hot path`; Flask answers whatever they decline.

    Being the app's outermost layer, it also times every request (`connect/ops/metrics.py`): a
    hot path's under its own path, anything else under the route template Flask matched.
    Timing costs a request 4-7 µs of a core (two clock reads and one histogram observation,
    in-process or in prometheus_client's multiprocess mode; `bench/metrics.py`): about 1 % of
    a cached panel load as `bench/panels.py` serves it (about 660 µs of core per load at
    3,000/s on two cores, gunicorn, the kernel and wrk included).
    """

    def __init__(self, app: WSGIApplication, routes: dict[tuple[str, str], HotPath]) -> None:
        self.app = app
        self.routes = routes

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        started = now()
        route = (environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", ""))
        hot_path = self.routes.get(route)
        if hot_path is not None:
            try:
                answer = hot_path(environ)
            except OperationalError as exc:  # a lost database connection: expected, no trace
                log.warning(
                    "hot path: database connection lost (%s); Flask answers instead",
                    type(exc.orig).__name__,
                )
                answer = None
            except Exception:  # Flask answers it again, and reports the error its own way
                log.exception("hot path failed; Flask answers instead")
                answer = None
            if answer is not None:
                start_response(STATUS_LINES.get(answer.status, str(answer.status)), answer.headers)
                observe_request(route[1], answer.status, now() - started)
                return [answer.body]
        status = ["500"]

        def remember_status(
            line: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], object]:
            status[0] = line
            return start_response(line, headers, exc_info)

        body = self.app(environ, remember_status)
        observe_request(environ.get(ROUTE_ENVIRON, UNMATCHED), int(status[0][:3]), now() - started)
        return body
