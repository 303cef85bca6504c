"""`okrlink demo`: a demo site with the example OKR file, served on embedded defaults."""

from __future__ import annotations

import logging

import click

from connect.cli.common import open_app, server_logging
from connect.cli.server import run_server
from connect.ops.logs import announce

log = logging.getLogger("okrlink")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Load the demo and exit.")
@click.option("--reset", is_flag=True, help="Forget the demo's data and load it afresh.")
def demo(host: str, port: int, no_serve: bool, reset: bool) -> None:
    """Start with embedded defaults, a demo site and the example OKR file loaded.

    The demo keeps what you change across restarts; `--reset` starts over.
    """
    from connect.demo.seed import api_token, load_demo, open_demo, reset_demo

    server_logging()
    app = open_app(build=open_demo)
    if reset:
        reset_demo(app)
        log.info("demo data forgotten (--reset)")
    # Served, the demo also sends its weekly digest to its own local receiver (`/dev/chat`).
    urls = load_demo(app, base="" if no_serve else f"http://{host}:{port}")
    log.info("demo site loaded: okrlink-demo.atlassian.net, team PLAT")
    token = api_token(app)
    if no_serve:
        announce(ready_block(f"http://{host}:{port}", urls, token))
        return
    run_server(
        app,
        host=host,
        port=port,
        worker=True,
        ready=lambda base: announce(ready_block(base, urls, token)),
    )


def ready_block(base: str, urls: dict[str, str], token: str) -> str:
    """What the user needs, printed last: the pages, the API token and the line to paste."""
    pages = {label: url for label, url in urls.items() if url.startswith(("/", "http"))}
    notes = [note for label, note in urls.items() if label not in pages]
    width = max(map(len, pages)) + 2
    lines = ["", f"okrlink demo is ready at {base} (development only; Ctrl-C stops it):"]
    lines += [f"  {label + ':':{width}}{_absolute(base, url)}" for label, url in pages.items()]
    lines += [f"  Note: {note}" for note in notes]
    lines += [
        "The REST API is open for this demo with a development-only admin token. Paste this in",
        "the shell where you try the README's examples; they then act on the demo's data:",
        f"  export OKRLINK_DEV=1 OKRLINK_ADMIN_TOKEN={token}",
    ]
    return "\n".join(lines)


def _absolute(base: str, url: str) -> str:
    return base + url if url.startswith("/") else url
