"""A KR's value before it is saved, for every door: the project page's "Preview" (Connect
iframe, Forge shell) and `POST /api/v1/key-results/preview`.

Who may preview is who may save: whoever may write the team's OKRs (`require_write`), and a
JQL query is confined to what the previewing account may browse, as its save would be. The
measuring is `sync.preview`'s; nothing is stored (the session is rolled back).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from connect.errors import NotFound, ValidationError
from connect.permissions import require_jql, require_write
from connect.services import services
from connect.ui.editor import parse_kr_form
from connect.ui.project_forms import Posted, Poster
from sync.db.model import Objective
from sync.db.store import find_kr, find_objective
from sync.errors import Invalid
from sync.permissions import Caller
from sync.preview import Preview, preview_key_result

PREVIEW_FORM: Final = "preview-key-result"
"""The form name the Forge shell sends a KR form's "Preview" button as."""
KR_FORMS: Final = ("new-key-result", "edit-key-result")


def preview(
    caller: Caller,
    data: Mapping[str, Any],
    *,
    objective: str | None = None,
    kr: str | None = None,
    team: str | None = None,
    cycle: str | None = None,
) -> Preview:
    """Preview a new KR of `objective`, or `kr` with `data` changed; 404 for a key of another
    site (or of another team than `team`, when the door knows the team)."""
    site_id = caller.site_id
    with services().store.session() as session:
        try:
            stored = find_kr(session, site_id, kr) if kr else None
            if kr and stored is None:
                raise NotFound(f"no key result {kr}", field="kr")
            parent: Objective | None = (
                stored.objective
                if stored is not None
                else find_objective(session, site_id, objective or "", cycle or None)
            )
            if parent is None or (team is not None and parent.team.key != team):
                raise NotFound(f"no objective {objective}", field="objective")
            require_write(parent.team.key, caller)
            return preview_key_result(
                session,
                site_id,
                data,
                kr=stored,
                cycle=(parent.cycle.start, parent.cycle.end),
                tracker=services().jobs.ports.tracker,
                confine=lambda jql: require_jql(jql, caller),
                now=services().jobs.ports.clock.now(),
            )
        finally:
            session.rollback()  # a preview reads; whatever it touched is not kept


def post_preview(poster: Poster, fields: Mapping[str, str]) -> Posted:
    """A KR form of the project page previewed: `Posted` with its `preview`, or (nothing
    previewed) the fields refused, with the messages a refused save shows beside them."""
    form = fields.get("form", "")
    if form not in KR_FORMS:
        raise ValidationError(f"form must be one of {', '.join(KR_FORMS)}", field="form")
    new = form == "new-key-result"
    target = fields.get("objective" if new else "kr", "")
    data, errors = parse_kr_form(fields, new=new)
    if errors:
        return Posted(form=form, errors=errors, target=target)
    try:
        shown = preview(
            poster.caller,
            data,
            objective=target if new else None,
            kr=None if new else target,
            team=poster.team,
            cycle=poster.cycle,
        )
    except Invalid as invalid:
        return Posted(form=form, errors={invalid.field or "title": invalid.message}, target=target)
    return Posted(form=form, target=target, preview=shown)
