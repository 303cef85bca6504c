"""The Jira project page through the Forge door: the same page, forms and KR pages as the
Connect iframe, asked for by the Custom UI shell through `invokeRemote`.

- `POST /forge/project/page` `{"team", "cycle", "view": "okrs"|"review", "kr", "saved",
  "locale"}` answers `{"status": 200, "html"}`: the project page (its OKRs tab or its review
  tab), or with `kr` that KR's own page.
- `POST /forge/project/forms` `{"team", "cycle", "locale", "form", "fields", "csrf"}` takes one
  of the page's forms (`form` is its `data-form`, `fields` its named values, a list for a field
  given more than once, `csrf` its `csrf_token`) and answers the page again: `{"status": 200,
  "html", "saved"}`, or `422` `{"status": 422, "html", "errors", "error"}` with the errors
  beside their fields and nothing saved. `preview-key-result` (a KR form's "Preview" button,
  its `fields` the KR form's own, `form` among them) saves nothing: it answers the page with
  the value beside the form and the typed values kept, and `preview` `{"value", "unit",
  "source_state", "message"}`.

The FIT authenticates every call (401 otherwise); the team is the Jira project key; the user is
the FIT's `principal`, who is the author of what the forms save, and whom the forms' CSRF token
is bound to (with the site), as the Connect door binds it to the JWT's `sub`. The forms go
through `connect/ui/project_forms.py`, as the Connect door's do, so both store the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Final
from urllib.parse import urlencode

from flask import Blueprint, Response, jsonify
from werkzeug.datastructures import MultiDict

from connect.doors.forge.routes import (
    json_body,
    require_module,
    text_field,
    verified_tenant,
    verify,
)
from connect.doors.forge.token import ForgeRequest
from connect.errors import BadRequest, ValidationError
from connect.ui.editor import FORMS as EDIT_FORMS
from connect.ui.editor import NEW_CYCLE_FORM
from connect.ui.i18n import translator
from connect.ui.kr_preview import PREVIEW_FORM, post_preview
from connect.ui.panel_page import TEAM_KEY
from connect.ui.project_forms import (
    CHECKIN_FORM,
    CLOSE_FORM,
    MONTHLY_FORM,
    Posted,
    Poster,
    check_csrf,
    post_check_in,
    post_close,
    post_edit,
    post_monthly_score,
)
from connect.ui.project_page import (
    ProjectPage,
    render_checkin_failure,
    render_project_kr_page,
    render_project_page,
)

PAGE_PATH: Final = "/forge/project/page"
FORMS_PATH: Final = "/forge/project/forms"
FORM_ROUTES: Final = frozenset({"edit", "preview", "check-in", "close", "monthly-score"})
FORMS: Final = frozenset({*EDIT_FORMS, CHECKIN_FORM, CLOSE_FORM, MONTHLY_FORM, PREVIEW_FORM})
VIEWS: Final = frozenset({"okrs", "review"})
FIELD_LIMIT: Final = 200
VALUE_LIMIT: Final = 10_000

blueprint = Blueprint("forge_project", __name__, url_prefix="/forge/project")


def forge_link(route: str, **params: str) -> str:
    """A link or form action of the page as the shell follows it: the remote route's path and
    the parameters it takes, which the shell sends through the bridge instead of navigating."""
    path = FORMS_PATH if route in FORM_ROUTES else PAGE_PATH
    return f"{path}?{urlencode(params)}"


def _page(
    forge: ForgeRequest, body: Mapping[str, Any], *, values: Mapping[str, str] | None = None
) -> ProjectPage:
    """Whose page the call asks for, from the verified FIT and the body's parameters."""
    tenant = verified_tenant(forge)
    team = text_field(body, "team", required=True)
    if not TEAM_KEY.fullmatch(team):
        raise ValidationError("team must be a Jira project key", field="team")
    view = text_field(body, "view") or "okrs"
    if view not in VIEWS:
        raise ValidationError("view must be okrs or review", field="view")
    return ProjectPage(
        site_id=tenant.site_id,
        account=forge.claims.account_id,
        team=team,
        cycle=text_field(body, "cycle"),
        view="review" if view == "review" else "okrs",
        saved=text_field(body, "saved"),
        locale=text_field(body, "locale") or "en",
        host_script=False,
        values=values or {},
    )


def _answer(html: str, status: int = 200, **extra: Any) -> tuple[Response, int]:
    return jsonify({"status": status, "html": html, **extra}), status


@blueprint.post("/page")
def page() -> tuple[Response, int]:
    """The project page (or, with `kr`, one KR's page) for the shell, in its static mode."""
    forge = verify()
    require_module(forge, None)
    body = json_body()
    shown = _page(forge, body)
    kr = text_field(body, "kr")
    if kr:
        return _answer(render_project_kr_page(shown, forge_link, kr))
    return _answer(render_project_page(shown, forge_link))


def form_fields(body: Mapping[str, Any]) -> MultiDict[str, str]:
    """The posted form's `fields` as form data: each a text, or a list of texts."""
    raw = body.get("fields", {})
    if not isinstance(raw, Mapping) or len(raw) > FIELD_LIMIT:
        raise BadRequest("fields must be an object of the form's fields", code="malformed_body")
    fields: MultiDict[str, str] = MultiDict()
    for name, value in raw.items():
        values = value if isinstance(value, list) else [value]
        if not all(isinstance(v, str) and len(v) <= VALUE_LIMIT for v in values):
            raise ValidationError(f"{name} must be a text", field=str(name))
        for one in values:
            fields.add(str(name), one)
    return fields


@blueprint.post("/forms")
def forms() -> tuple[Response, int]:
    """One form of the page, saved as the Connect door saves it; the page again as the answer."""
    forge = verify()
    require_module(forge, None)
    body = json_body()
    fields = form_fields(body)
    shown = _page(forge, body, values={name: fields.get(name, "") for name in fields})
    csrf = body.get("csrf")
    check_csrf(
        csrf if isinstance(csrf, str) else None, site_id=shown.site_id, account=shown.account
    )
    form = text_field(body, "form", required=True)
    if form not in FORMS:
        raise ValidationError(f"form must be one of {', '.join(sorted(FORMS))}", field="form")
    poster = Poster(
        site_id=shown.site_id, account=shown.account, team=shown.team, cycle=shown.cycle
    )
    if form == CHECKIN_FORM:
        posted = post_check_in(poster, fields)
    elif form == CLOSE_FORM:
        posted = post_close(poster, fields)
    elif form == PREVIEW_FORM:  # a KR form's "Preview": the page again, the value beside it
        posted = post_preview(poster, fields)
        if not posted.ok:
            return _refused(shown, posted)
        html = render_project_page(shown, forge_link, failed=posted)
        preview = posted.preview.as_json() if posted.preview is not None else None
        return _answer(html, preview=preview)
    elif form == MONTHLY_FORM:  # the review tab's form: its answer is the review again
        posted = post_monthly_score(poster, fields)
        shown = replace(shown, view="review")
    else:
        posted = post_edit(poster, form, fields)
    if not posted.ok:
        return _refused(shown, posted)
    saved = posted.saved if form in EDIT_FORMS else ""
    html = render_project_page(
        ProjectPage(
            site_id=shown.site_id,
            account=shown.account,
            team=shown.team,
            cycle=posted.saved if form == NEW_CYCLE_FORM else shown.cycle,
            view=shown.view if form == MONTHLY_FORM else "okrs",
            saved=saved,
            locale=shown.locale,
            host_script=False,
        ),
        forge_link,
    )
    return _answer(html, saved=posted.saved)


def _refused(shown: ProjectPage, posted: Posted) -> tuple[Response, int]:
    """A 422 with the form again, its errors beside their fields, and the errors in words."""
    if posted.form == CHECKIN_FORM:
        carried = {"team": shown.team, "cycle": shown.cycle}
        html = render_checkin_failure(shown, forge_link, posted, carried)
    else:
        html = render_project_page(shown, forge_link, failed=posted)
    t = translator(shown.locale)
    errors = {name: t.maybe(message) for name, message in posted.errors.items()}
    first = next(iter(errors))
    error = {"code": "invalid", "message": errors[first], "field": first}
    return _answer(html, 422, errors=errors, error=error)
