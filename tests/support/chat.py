"""Real local HTTP(S) receivers standing in for Slack and Teams webhooks (and Geckoboard's
Datasets API, which takes PUTs).

Each receiver is a threaded HTTP server on 127.0.0.1 that records every POST (path, headers,
JSON body), and every GET (what a followed redirect would send), and answers from a script: by
default what the real service answers (Slack `200 ok`, Teams Workflows `202`), or a queued
answer (`429` with `Retry-After`, `404`, `410`, `500`, a redirect).
TLS certificates come from `trustme`, a CA the test trusts through `REQUESTS_CA_BUNDLE`.
"""

from __future__ import annotations

import contextlib
import json
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import trustme


@dataclass
class Answer:
    status: int
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Post:
    path: str
    headers: dict[str, str]
    body: Any
    method: str = "POST"


class Receiver:
    """A running receiver: its base URL, the posts it got, the answers it will give."""

    def __init__(self, base_url: str, default: Answer) -> None:
        self.base_url = base_url
        self.default = default
        self.posts: list[Post] = []
        self.answers: list[Answer] = []
        self.lock = threading.Lock()

    def url(self, path: str) -> str:
        return self.base_url + path

    def answer_next(self, *answers: Answer) -> None:
        with self.lock:
            self.answers.extend(answers)

    def _take(self, post: Post) -> Answer:
        with self.lock:
            self.posts.append(post)
            return self.answers.pop(0) if self.answers else self.default


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self._answer(json.loads(raw or b"null"))

        def do_GET(self) -> None:  # what a followed 301/302/303 would turn the POST into
            self._answer(None)

        def _answer(self, body: Any) -> None:
            answer = receiver._take(Post(self.path, dict(self.headers.items()), body, self.command))
            data = answer.body.encode()
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_PUT = do_POST

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


SLACK_OK = Answer(200, "ok", {"Content-Type": "text/html"})
TEAMS_OK = Answer(202, "", {})


@contextlib.contextmanager
def receiver(
    *,
    default: Answer = SLACK_OK,
    tls: trustme.CA | None = None,
    names: tuple[str, ...] = ("127.0.0.1", "localhost"),
) -> Iterator[Receiver]:
    """A receiver on a free loopback port, over HTTPS when given a CA (its certificate for
    `names`)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    scheme = "http"
    if tls is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.issue_cert(*names).configure_cert(context)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    found = Receiver(f"{scheme}://127.0.0.1:{server.server_address[1]}", default)
    server.RequestHandlerClass = _handler(found)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield found
    finally:
        server.shutdown()
        server.server_close()


def trust(ca: trustme.CA, directory: Path) -> str:
    """Write the CA's certificate as a bundle file; returns its path for REQUESTS_CA_BUNDLE."""
    path = directory / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)
