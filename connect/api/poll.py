"""REST API routes of the sync: poll a JQL key result now (`/api/v1/key-results/<key>/poll`)."""

from __future__ import annotations

from flask import Blueprint, Response, g, jsonify

from connect.api.okrs import authenticate, enqueue_write_backs, kr_json
from connect.errors import ApiError, Conflict, NotFound, ValidationError
from connect.permissions import require_check_in
from connect.services import services
from sync.apply.jql import poll_key_result
from sync.db.store import find_kr
from sync.engine.snapshots import recompute
from sync.errors import Permanent, SourceMissing, Transient

blueprint = Blueprint("api_sync", __name__, url_prefix="/api/v1")
blueprint.before_request(authenticate)
blueprint.after_request(enqueue_write_backs)


class TrackerUnavailable(ApiError):
    """Jira is rate limiting or unreachable; the scheduled poll will try again."""

    http_status = 503
    default_code = "tracker_unavailable"
    default_message = "Jira is not answering now; try again later."


@blueprint.post("/key-results/<key>/poll")
def poll_key_result_now(key: str) -> Response:
    """Measure a JQL key result now; its value goes into the KR and its history."""
    jobs = services().jobs
    with services().store.session() as session:
        kr = find_kr(session, g.site_id, key)
        if kr is None:
            raise NotFound(f"no key result {key}", field="key")
        require_check_in(kr.objective.team.key, owner=kr.owner)
        if kr.kind != "jql" or not (kr.jql or "").strip():
            raise ValidationError(f"{key} is not measured by a JQL query", field="kind")
        if jobs.ports.tracker is None:
            raise ValidationError("no Jira installation to query", field="jql")
        try:
            poll_key_result(
                session, kr, tracker=jobs.ports.tracker, permissions=jobs.ports.permissions
            )
        except SourceMissing as exc:  # lasting until Jira is installed: asking again won't help
            raise Conflict(
                f"this site has no Jira to query: {exc}", field="jql", code="no_jira"
            ) from exc
        except Transient as exc:
            raise TrackerUnavailable(str(exc)) from exc
        except Permanent as exc:
            raise ValidationError(f"Jira refused the query: {exc}", field="jql") from exc
        if recompute(session, g.site_id, [kr.id], now=jobs.ports.clock.now()):
            g.flush_site = g.site_id
        return jsonify(kr_json(kr))
