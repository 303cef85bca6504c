"""MkDocs hooks: the reference pages are generated from the code at every build, so they cannot
drift, and the screenshots the browser tests take are served from where they are made.

A page holds a marker comment (`<!-- generated: cli -->`, `rest-api`, `settings`) and
`on_page_markdown` replaces it with Markdown made from the click commands, the OpenAPI document
and `Settings` (`connect/reference.py`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

from connect.reference import render

MARKER = re.compile(r"<!--\s*generated:\s*(?P<name>[a-z-]+)\s*-->")
SCREENSHOTS = Path(__file__).resolve().parents[1] / "bench" / "screenshots"


def on_files(files: Files, config: Any) -> Files:
    for shot in sorted(SCREENSHOTS.glob("*.png")):
        files.append(File.generated(config, f"screenshots/{shot.name}", abs_src_path=str(shot)))
    return files


def on_page_markdown(markdown: str, **_: Any) -> str:
    return MARKER.sub(lambda match: render(match["name"]), markdown)
