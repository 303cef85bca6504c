"""Confluence Cloud REST answers as the retrospective's publication meets them (the content
API: `POST /wiki/rest/api/content`, `GET /wiki/rest/api/content?spaceKey=&title=&type=page`)."""

from __future__ import annotations

from typing import Any

WIKI = "https://acme.atlassian.net/wiki"
CONFLUENCE_KEY = "confluence:acme-client-key"
CONTENT = f"{WIKI}/rest/api/content"
TITLE = "PLAT 2026-Q4 retrospective"
PAGE_URL = f"{WIKI}/spaces/PLAT/pages/393217/PLAT+2026-Q4+retrospective"
# What Confluence Cloud answers to POST /wiki/rest/api/content (fields okrlink reads, and more).
CREATED = {
    "id": "393217",
    "type": "page",
    "status": "current",
    "title": TITLE,
    "space": {"id": 98305, "key": "PLAT", "name": "Platform", "type": "global"},
    "version": {"number": 1, "minorEdit": False},
    "_links": {
        "webui": "/spaces/PLAT/pages/393217/PLAT+2026-Q4+retrospective",
        "base": WIKI,
        "context": "/wiki",
        "self": f"{WIKI}/rest/api/content/393217",
    },
}
# What it answers to GET /wiki/rest/api/content?spaceKey=PLAT&title=...&type=page.
NOT_FOUND: dict[str, Any] = {
    "results": [],
    "start": 0,
    "limit": 25,
    "size": 0,
    "_links": {"base": WIKI, "context": "/wiki", "self": CONTENT},
}
FOUND = {
    "results": [
        {
            "id": "393217",
            "type": "page",
            "status": "current",
            "title": TITLE,
            "_expandable": {"container": "/rest/api/space/PLAT", "space": "/rest/api/space/PLAT"},
            "_links": {
                "webui": "/spaces/PLAT/pages/393217/PLAT+2026-Q4+retrospective",
                "edit": "/pages/resumedraft.action?draftId=393217",
                "tinyui": "/x/AQAG",
                "self": f"{WIKI}/rest/api/content/393217",
            },
        }
    ],
    "start": 0,
    "limit": 25,
    "size": 1,
    "_links": {"base": WIKI, "context": "/wiki", "self": CONTENT},
}
REFUSED = {"statusCode": 403, "message": "Not permitted to create page in space PLAT"}
