"""The headers every iframe page carries: its CSP (our inline style and script by hash, framed only
by the tenant's Atlassian site), and no caching by anyone but the reader's browser."""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

from connect.ui.assets import csp_hash

ATLASSIAN_FRAME_ANCESTORS = "https://*.atlassian.net"
CONNECT_SCRIPT_ORIGIN = "https://connect-cdn.atl-paas.net"


@lru_cache(maxsize=1024)
def frame_ancestors(base_url: str | None) -> str:
    """Atlassian's hosts, plus the tenant's own origin when it is a custom domain."""
    sources = [ATLASSIAN_FRAME_ANCESTORS]
    if base_url:
        parts = urlsplit(base_url)
        if parts.scheme == "https" and parts.hostname:
            origin = f"https://{parts.netloc}"
            if origin not in sources:
                sources.append(origin)
    return " ".join(sources)


@lru_cache(maxsize=1024)
def content_security_policy(*, scripts: bool, base_url: str | None) -> str:
    """Our stylesheet; our resize script and Atlassian's `all.js` when `scripts`; nothing else."""
    script = f"{csp_hash('okrlink.js')} {CONNECT_SCRIPT_ORIGIN}" if scripts else "'none'"
    return (
        f"default-src 'none'; style-src {csp_hash('okrlink.css')}; script-src {script}; "
        f"img-src 'self' data:; form-action 'self'; base-uri 'none'; "
        f"frame-ancestors {frame_ancestors(base_url)}"
    )


def page_headers(*, scripts: bool, private: bool, base_url: str | None) -> list[tuple[str, str]]:
    """Headers of an iframe page; `private` pages carry tokens and are never stored."""
    return [
        ("Content-Security-Policy", content_security_policy(scripts=scripts, base_url=base_url)),
        ("Cache-Control", "no-store" if private else "private, no-cache"),
        ("Referrer-Policy", "no-referrer"),
        ("X-Content-Type-Options", "nosniff"),
        ("Vary", "Accept-Language"),
    ]
