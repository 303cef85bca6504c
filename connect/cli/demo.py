"""`okrlink demo`: a demo site with the example OKR file, served on embedded defaults."""

from __future__ import annotations

import click

from connect.cli.common import open_app
from connect.cli.server import run_server


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Load the demo and exit.")
def demo(host: str, port: int, no_serve: bool) -> None:
    """Start with embedded defaults, a demo site and the example OKR file loaded."""
    from connect.demo import load_demo

    app = open_app()
    urls = load_demo(app, base=f"http://{host}:{port}")
    for label, url in urls.items():
        click.echo(f"{label}: {url}")
    if not no_serve:
        run_server(app, host=host, port=port, worker=True)
