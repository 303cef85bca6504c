"""A local stand-in for Slack and Teams webhooks, with `OKRLINK_DEV=1` only (the demo).

`POST /dev/chat/slack` and `/dev/chat/teams` take a message as the real webhooks do (answering
`200 ok` and `202`); `GET /dev/chat` shows what arrived, newest first, laid out as Slack and
Teams would show it. Messages are kept in `dev-chat.jsonl` under the data directory, so the
worker and the server may be different processes.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, request

from connect.chat.preview import page
from connect.services import settings

blueprint = Blueprint("dev_chat", __name__)
KINDS = ("slack", "teams")
SHOWN = 20
_lock = threading.Lock()


def _log() -> Path:
    return settings().data_dir / "dev-chat.jsonl"


@blueprint.post("/dev/chat/<kind>")
def receive(kind: str) -> Response:
    """Keep one message, as Slack (200 `ok`) or a Teams Workflows trigger (202) answer."""
    body = request.get_json(silent=True)
    if kind not in KINDS or not isinstance(body, dict):
        return Response("invalid_payload", status=400, mimetype="text/plain")
    with _lock, _log().open("a", encoding="utf-8") as handle:
        handle.write(json.dumps({"kind": kind, "message": body}, ensure_ascii=False) + "\n")
    return Response("ok", status=200) if kind == "slack" else Response("", status=202)


@blueprint.get("/dev/chat")
def show() -> Response:
    """The messages received, newest first."""
    path = _log()
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    entries: list[dict[str, Any]] = [json.loads(line) for line in lines[-SHOWN:]]
    html = page(
        ((e["kind"], e["message"]) for e in reversed(entries)),
        title="okrlink · local chat receiver",
    )
    return Response(html, mimetype="text/html", headers={"Cache-Control": "no-store"})
