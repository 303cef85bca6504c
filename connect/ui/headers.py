"""The headers every iframe page carries: its CSP (our inline style and script by hash, framed only
by the tenant's own site), and no caching by anyone but the reader's browser."""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

from connect.ui.assets import csp_hash

CONNECT_SCRIPT_ORIGIN = "https://connect-cdn.atl-paas.net"
# A page opened without a tenant (a development link) is never framed.
NO_FRAMING = "'none'"


@lru_cache(maxsize=1024)
def frame_ancestors(base_url: str | None) -> str:
    """The tenant's own origin (its base URL's scheme and host), and nothing else.

    Connect pages are framed by the product page of the site that installed the app. Forge
    pages are not framed by us at all: the Custom UI shell, hosted by Atlassian, fetches the
    panel's HTML through `invokeRemote` and renders it itself, so no Atlassian host needs to
    be named here either.
    """
    if base_url:
        parts = urlsplit(base_url)
        if parts.scheme in ("https", "http") and parts.hostname:
            return f"{parts.scheme}://{parts.netloc}"
    return NO_FRAMING


@lru_cache(maxsize=1024)
def content_security_policy(*, scripts: bool, base_url: str | None, gadget: bool = False) -> str:
    """Our stylesheet; our resize script and Atlassian's `all.js` when `scripts`; on the
    dashboard gadget's page (`gadget`), its script too and its requests to us (it loads the
    panel); nothing else."""
    script = f"{csp_hash('okrlink.js')} {CONNECT_SCRIPT_ORIGIN}" if scripts else "'none'"
    if scripts and gadget:
        script = f"{csp_hash('okrlink.js')} {csp_hash('gadget.js')} {CONNECT_SCRIPT_ORIGIN}"
    # The gadget loads its panel, and the owner and issue pickers ask our own people and
    # issue searches as the person types.
    connect = "connect-src 'self'; " if gadget or scripts else ""
    return (
        f"default-src 'none'; style-src {csp_hash('okrlink.css')}; script-src {script}; "
        f"{connect}img-src 'self' data:; form-action 'self'; base-uri 'none'; "
        f"frame-ancestors {frame_ancestors(base_url)}"
    )


def page_headers(
    *, scripts: bool, private: bool, base_url: str | None, gadget: bool = False
) -> list[tuple[str, str]]:
    """Headers of an iframe page; `private` pages carry tokens and are never stored."""
    policy = content_security_policy(scripts=scripts, base_url=base_url, gadget=gadget)
    return [
        ("Content-Security-Policy", policy),
        ("Cache-Control", "no-store" if private else "private, no-cache"),
        ("Referrer-Policy", "no-referrer"),
        ("X-Content-Type-Options", "nosniff"),
        ("Vary", "Accept-Language"),
    ]
