"""`POST /webhooks/jira` as a hot path (`connect/http/hotpaths.py`): a verified delivery is
recorded and answered before Flask; anything unusual goes on to the door's Flask view.

It runs the view's own pieces: the Connect JWT check (`verify_connect_call`) and
`record_jira_delivery`, so the two answer every delivery byte for byte alike.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from connect.doors.atlassian_connect.verify import verify_connect_call
from connect.doors.atlassian_connect.webhook import (
    DELIVERY_ENVIRON,
    WEBHOOK_PATH,
    record_jira_delivery,
)
from connect.http.hotpaths import (
    MAX_BODY_BYTES,
    Answer,
    HotPath,
    json_answer,
    query_string,
    request_body,
)
from sync.errors import OkrlinkError

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

    from connect.services import Services


def jira_webhook_hot_path(services: Services) -> HotPath:
    """`POST /webhooks/jira` before Flask: verified, recorded and answered, or left to Flask."""

    def hot_path(environ: WSGIEnvironment) -> Answer | None:
        raw = request_body(environ, limit=MAX_BODY_BYTES)
        if raw is None:
            return None
        try:
            tenant, _claims = verify_connect_call(
                services.tenants,
                method="POST",
                path=WEBHOOK_PATH,
                query=query_string(environ),
                authorization=environ.get("HTTP_AUTHORIZATION"),
                base_url=services.settings.base_url,
                allow_context_qsh=False,
            )
            delivery = environ.get(DELIVERY_ENVIRON)
            answer = record_jira_delivery(services, tenant, raw=raw, delivery_header=delivery)
        except (OkrlinkError, UnicodeError):
            return None
        return json_answer(answer)

    return hot_path
