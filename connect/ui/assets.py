"""Our stylesheet and resize script, inlined into every page (and the dashboard gadget's
script, into its page), and their CSP hashes.

The pages carry no other inline style or script, so a policy that allows exactly these two by
their SHA-256 (CSP Level 2 hash sources) is as strict as a per-response nonce, and leaves a page's
bytes the same on every load: the panel cache serves them, gzipped once, as they are.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from pathlib import Path

from markupsafe import Markup

STATIC = Path(__file__).resolve().parent / "static"


@functools.cache
def inline_asset(name: str) -> Markup:
    """One of our static files, whitespace-trimmed, trusted for inlining."""
    lines = (STATIC / name).read_text(encoding="utf-8").splitlines()
    text = "".join(line.strip() for line in lines)
    if name.endswith(".css"):
        # Bar widths as classes, not `style` attributes, which the policy does not allow.
        text += "".join(f".w{n}{{width:{n}%}}" for n in range(101))
    return Markup(text)  # noqa: S704 - our own file


def stylesheet() -> Markup:
    return inline_asset("okrlink.css")


def script() -> Markup:
    return inline_asset("okrlink.js")


def gadget_script() -> Markup:
    """The dashboard gadget's script (its page only): settings in, panel shown."""
    return inline_asset("gadget.js")


@functools.cache
def csp_hash(name: str) -> str:
    """The CSP hash source (`'sha256-…'`) of an inlined asset, exactly as the page carries it."""
    digest = hashlib.sha256(str(inline_asset(name)).encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"
