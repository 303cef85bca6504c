"""The project page's form posts, for whichever door brought them: writing OKRs, check-ins,
the month's score (the review tab, a month's last week), closing the cycle.

The Connect iframe posts HTML forms, the Forge shell sends the same fields through the bridge;
both doors verify their own token and then hand the fields here, so a post stores the same
thing through either door. A post either saves (and says which key) or saves nothing and
names the fields it refuses, with the message shown beside each; a key of another site or team
is a 404, a closed cycle a 409, a forged CSRF token a 403.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from connect.errors import Conflict, ForbiddenError, NotFound, ValidationError
from connect.permissions import confine_jql, require_check_in, require_write
from connect.services import services
from connect.ui.editor import (
    CYCLE_FORM_FIELDS,
    KPI_ERRORS,
    NEW_CYCLE_FORM,
    TARGETS,
    parse_kpi_form,
    parse_kr_form,
    parse_number,
)
from connect.ui.editor import FORMS as EDIT_FORMS
from sync.core.progress import STATUSES
from sync.core.spec import quarter, quarter_of
from sync.cycles import OVERLAP, close_cycle, create_cycle, parse_close, parse_cycle
from sync.db.store import find_cycle, find_kr, find_objective, find_team
from sync.engine.snapshots import recompute
from sync.errors import Closed, Duplicate, Invalid, OkrlinkError
from sync.kpis import create_kpi, find_kpi, update_kpi
from sync.monthly import record_monthly_score
from sync.okrs import (
    abandon,
    asana_keys,
    create_key_result,
    create_objective,
    get_or_create_cycle,
    record_check_in,
    update_key_result,
    update_objective,
)
from sync.permissions import Caller
from sync.preview import Preview
from sync.retro import publish_closed_cycle

log = logging.getLogger(__name__)

PURPOSE = "check-in"
"""The project page's forms (check-in, writing, close) share the one CSRF token the page carries."""
CHECKIN_FORM = "check-in"
CLOSE_FORM = "close-cycle"
MONTHLY_FORM = "monthly-score"
MONTHLY_FIELDS = ("month", "score", "reason")
MONTHLY_MESSAGES = {
    "score": "error.score_range",
    "month": "error.bad_month",
    "required": "error.required",
    "one_line": "error.one_line",
}
CHECKIN_FIELDS = (
    "value",
    "status",
    "score",
    "confidence",
    "what",
    "why",
    "next",
    "decisions",
    "risks",
    "learnings",
)
FIELD_MESSAGES = {
    "score": "error.score_range",
    "status": "error.status",
    "what": "error.required",
    "confidence": "error.confidence_range",
}

Fields = MultiDict[str, str]


@dataclass(frozen=True, slots=True)
class Poster:
    """Who posts, for which site, team and cycle (`cycle` empty: the current quarter)."""

    site_id: int
    account: str | None
    team: str
    cycle: str = ""
    operator: bool = False  # the operator's development token: every write

    @property
    def caller(self) -> Caller:
        """Who posts, as the permissions layer asks it."""
        return Caller(site_id=self.site_id, account_id=self.account, operator=self.operator)


@dataclass(frozen=True, slots=True)
class Posted:
    """What a post did: the key it saved, or (nothing saved) the refused fields' messages."""

    form: str
    saved: str = ""
    errors: Mapping[str, str] = field(default_factory=dict)
    target: str = ""  # the objective or KR the failed form edits
    preview: Preview | None = None  # a KR form previewed: what its source gives now

    @property
    def ok(self) -> bool:
        return not self.errors


def now() -> datetime:
    return services().jobs.ports.clock.now()


def check_csrf(token: str | None, *, site_id: int, account: str | None) -> None:
    """A 403 unless `token` is the page's form token for this site and user."""
    if not services().ui_form_tokens.check(
        token, site_id=site_id, account=account, purpose=PURPOSE
    ):
        raise ForbiddenError("the form expired or did not come from this page", code="csrf")


def issue_csrf(*, site_id: int, account: str | None) -> str:
    return services().ui_form_tokens.issue(site_id=site_id, account=account, purpose=PURPOSE)


# --- writing OKRs ------------------------------------------------------------------------------


class _FormErrors(OkrlinkError):
    """Fields of a form that are not numbers: nothing is saved, they are shown beside them."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(", ".join(errors))
        self.errors = errors


def post_edit(poster: Poster, form: str, fields: Fields) -> Posted:
    """Save one writing form (`data-form` in `EDIT_FORMS`); a practice finding saves (the page
    shows it beside its field), a bad value saves nothing and is named in `errors`."""
    if form not in EDIT_FORMS:
        raise ValidationError(f"form must be one of {', '.join(EDIT_FORMS)}", field="form")
    require_write(poster.team, poster.caller)
    target = fields.get(TARGETS[form], "") if form in TARGETS else ""
    errors: dict[str, str] = {}
    changed: list[int] = []
    try:
        with services().store.session() as session:
            saved, kr_ids = _edit(session, poster, form, fields)
            if kr_ids:
                changed = recompute(session, poster.site_id, kr_ids, now=now())
    except _FormErrors as failed:
        errors = failed.errors
    except Closed as closed:
        raise Conflict(closed.message, code="cycle_closed", field="cycle") from closed
    except (Invalid, Duplicate) as invalid:
        errors = {invalid.field or "title": _form_message(invalid)}
    if errors:
        return Posted(form=form, errors=errors, target=target)
    if changed:
        services().jobs.flush_soon(poster.site_id)
    return Posted(form=form, saved=saved)


def _edit(session: Session, poster: Poster, form: str, fields: Fields) -> tuple[str, list[int]]:
    """Apply one writing form through the domain; returns the key saved and KRs to re-derive.

    Values that are not numbers are refused here; the domain refuses the rest (`Invalid`).
    """
    site_id, team, cycle = poster.site_id, poster.team, poster.cycle
    author, at = poster.account, now()
    if form in ("new-kpi", "edit-kpi"):
        return _edit_kpi(session, poster, form, fields)
    if form == NEW_CYCLE_FORM:
        data = {name: fields.get(name, "") for name in CYCLE_FORM_FIELDS}
        made, _new = create_cycle(session, site_id, parse_cycle({**data, "team": team}))
        return made.name, []
    if form == "new-objective":
        cycle_row = find_cycle(session, site_id, cycle) if cycle else None
        if cycle_row is None:
            try:
                spec = quarter(cycle) if cycle[:4].isdigit() else quarter_of(at.date())
            except ValueError:
                raise NotFound(f"no cycle {cycle}", field="cycle") from None
            cycle_row = get_or_create_cycle(session, site_id, spec)
        created = create_objective(
            session,
            site_id,
            cycle_row,
            team=team,
            title=fields.get("title", ""),
            parent=fields.get("parent", "").strip() or None,
            description=fields.get("description", ""),
            author=author,
            at=at,
        )
        return created.key, []
    if form in ("edit-objective", "abandon-objective", "new-key-result"):
        key = fields.get("objective", "")
        objective = find_objective(session, site_id, key, cycle or None)
        if objective is None or objective.team.key != team:
            raise NotFound(f"no objective {key}", field="objective")
        if form == "edit-objective":
            update_objective(
                session,
                objective,
                {
                    "title": fields.get("title", ""),
                    "description": fields.get("description", ""),
                    "parent": fields.get("parent", ""),
                },
                author=author,
                at=at,
            )
            return objective.key, []
        if form == "abandon-objective":
            krs = abandon(session, objective, fields.get("abandon_reason"), author=author, at=at)
            return objective.key, [kr.id for kr in krs]
        data, errors = parse_kr_form(fields, new=True)
        if errors:
            raise _FormErrors(errors)
        new_kr = create_key_result(session, objective, data, author=author, at=at)
        confine_jql(new_kr, data, poster.caller)
        for key in sorted(asana_keys(data.get("asana", []))):  # read now, as a link is
            services().asana_sync.on_link(session, site_id, new_kr, "asana", key)
        return new_kr.key, [new_kr.id]
    kr_key = fields.get("kr", "")
    kr = find_kr(session, site_id, kr_key)
    if kr is None or kr.objective.team.key != team:
        raise NotFound(f"no key result {kr_key}", field="kr")
    if form == "abandon-key-result":
        abandon(session, kr, fields.get("abandon_reason"), author=author, at=at)
        return kr.key, [kr.id]
    data, errors = parse_kr_form(fields, new=False)
    if errors:
        raise _FormErrors(errors)
    update_key_result(session, kr, data, author=author, at=at)
    confine_jql(kr, data, poster.caller)
    return kr.key, [kr.id]


def _edit_kpi(session: Session, poster: Poster, form: str, fields: Fields) -> tuple[str, list[int]]:
    """A KPI form through the domain's KPI writer (the API and the file import use it too).

    A KPI is the team's, not the cycle's: the cycle the page shows does not matter here.
    """
    data, errors = parse_kpi_form(fields, new=form == "new-kpi")
    kpi = None
    if form == "edit-kpi":
        key = fields.get("kpi", "")
        kpi = find_kpi(session, poster.site_id, key)
        if kpi is None or kpi.team.key != poster.team:
            raise NotFound(f"no KPI {key}", field="kpi")
    if errors:
        raise _FormErrors(errors)
    try:
        if kpi is None:
            kpi, touched = create_kpi(
                session, poster.site_id, poster.team, data, author=poster.account, now=now()
            )
        else:
            kpi, touched = update_kpi(session, kpi, data, author=poster.account, now=now())
    except Duplicate as taken:
        raise _FormErrors({"key": "error.kpi_key_taken"}) from taken
    except Invalid as invalid:
        name = invalid.field or "title"
        raise _FormErrors({name: KPI_ERRORS.get(name, _form_message(invalid))}) from invalid
    return kpi.key, sorted(touched)


def _form_message(error: Invalid | Duplicate) -> str:
    """A refusal as the page says it: a catalogue key when there is one, else the message."""
    if error.code == OVERLAP:
        return "error.cycle_overlap"
    if error.field in ("title", "abandon_reason") and "required" in error.message:
        return "error.required"
    if error.field == "abandon_reason":
        return "error.required"
    return error.message


# --- check-ins ---------------------------------------------------------------------------------


def parse_checkin_form(form: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The check-in form as `record_check_in` data, and the fields that are not numbers."""
    errors: dict[str, str] = {}
    data: dict[str, Any] = {
        "value": parse_number(form.get("value", ""), "value", errors),
        "score": parse_number(form.get("score", ""), "score", errors),
        "status": form.get("status", "").strip() or None,
        "confidence": parse_number(form.get("confidence", ""), "confidence", errors),
    }
    if data["confidence"] is not None and not 0 <= data["confidence"] <= 1:
        errors["confidence"] = "error.confidence_range"
    if data["score"] is not None and not 0 <= data["score"] <= 1:
        errors["score"] = "error.score_range"
    if data["status"] is not None and data["status"] not in STATUSES:
        errors["status"] = "error.status"
    for name in ("what", "why", "next", "decisions", "risks", "learnings"):
        data[name] = form.get(name, "")
    return data, errors


def post_check_in(poster: Poster, fields: Fields) -> Posted:
    """Record a check-in on the KR the form names; bad values are named in `errors`."""
    kr_key = fields.get("kr", "")
    data, errors = parse_checkin_form(fields)
    changed: list[int] = []
    with services().store.session() as session:
        kr = find_kr(session, poster.site_id, kr_key)
        if kr is None:
            raise NotFound(f"no key result {kr_key}", field="kr")
        require_check_in(kr.objective.team.key, owner=kr.owner, caller=poster.caller)
        if not errors:
            try:
                record_check_in(session, kr, data, author=poster.account, at=now())
            except Invalid as error:
                name = error.field if error.field in CHECKIN_FIELDS else "what"
                errors[name] = FIELD_MESSAGES.get(name, error.message)
            else:
                changed = recompute(session, poster.site_id, [kr.id], now=now())
    if errors:
        return Posted(form=CHECKIN_FORM, errors=errors, target=kr_key)
    if changed:
        services().jobs.flush_soon(poster.site_id)
    return Posted(form=CHECKIN_FORM, saved=kr_key)


# --- the month's score ------------------------------------------------------------------------


def post_monthly_score(poster: Poster, fields: Fields) -> Posted:
    """Store the month's score the review tab's form gives for a KR of the team.

    Whoever may check in on the KR may score its month (the permissions layer's check-in rule:
    Edit issues on the team's project, or the KR's owner); the author is the poster's verified
    account. A KR of another team or site is a 404; a bad score, month or reason saves nothing
    and is named in `errors`.
    """
    kr_key = fields.get("kr", "")
    errors: dict[str, str] = {}
    with services().store.session() as session:
        kr = find_kr(session, poster.site_id, kr_key)
        if kr is None or kr.objective.team.key != poster.team:
            raise NotFound(f"no key result {kr_key}", field="kr")
        require_check_in(kr.objective.team.key, owner=kr.owner, caller=poster.caller)
        data = {name: fields.get(name, "") for name in MONTHLY_FIELDS}
        score_text = data["score"].strip()
        try:
            data_score: Any = float(score_text) if score_text else None
        except ValueError:
            data_score = score_text
        try:
            record_monthly_score(
                session, kr, {**data, "score": data_score}, author=poster.account, at=now()
            )
        except Closed as closed:
            raise Conflict(closed.message, code="cycle_closed", field="cycle") from closed
        except Invalid as invalid:
            name = invalid.field if invalid.field in MONTHLY_FIELDS else "score"
            message = MONTHLY_MESSAGES.get(name if name != "reason" else invalid.code)
            errors[name] = message or invalid.message
    if errors:
        return Posted(form=MONTHLY_FORM, errors=errors, target=kr_key)
    return Posted(form=MONTHLY_FORM, saved=kr_key)


# --- closing the cycle -------------------------------------------------------------------------


def post_close(poster: Poster, fields: Fields) -> Posted:
    """Close the team's cycle: final scores (the derived score unless changed, with a reason),
    the retrospective, the KRs ticked to carry over; the retrospective page is published to
    the Confluence space the form names, when it names one."""
    require_write(poster.team, poster.caller)
    scores: dict[str, dict[str, Any]] = {}
    errors: dict[str, str] = {}
    for name in fields:
        if name.startswith("score:"):
            key = name[6:]
            value = parse_number(fields.get(name, ""), name, errors)
            if value is not None:
                scores[key] = {"score": value, "reason": fields.get(f"reason:{key}", "")}
    data = {
        "scores": scores,
        "carry_over": fields.getlist("carry_over"),
        "retro": {
            "learned": fields.get("learned", ""),
            "differently": fields.get("differently", ""),
            "space": fields.get("space", ""),
        },
    }
    if not errors:
        try:
            with services().store.session() as session:
                cycle_row = find_cycle(session, poster.site_id, poster.cycle)
                if cycle_row is None or find_team(session, poster.site_id, poster.team) is None:
                    raise NotFound(f"no cycle {poster.cycle} of team {poster.team}", field="cycle")
                report = close_cycle(
                    session,
                    poster.site_id,
                    team=poster.team,
                    cycle=cycle_row,
                    request=parse_close(data),
                    author=poster.account,
                    at=now(),
                )
                recompute(
                    session,
                    poster.site_id,
                    [kr.id for kr in [*report.scored, *report.carried]],
                    now=now(),
                )
        except Closed as closed:
            raise Conflict(closed.message, code="cycle_closed", field="cycle") from closed
        except Invalid as invalid:
            errors[_close_field(invalid.field)] = invalid.message
    if errors:
        return Posted(form=CLOSE_FORM, errors=errors)
    if fields.get("space", "").strip():
        page = publish_closed_cycle(
            services().jobs, poster.site_id, team=poster.team, cycle=poster.cycle
        )
        if "error" in page:  # queued or parked: the retrospective view says which
            log.warning(
                "retrospective of %s %s not published (%s): %s",
                poster.team,
                poster.cycle,
                page["status"],
                page["error"],
            )
    # After the page's own try, so a flush does not take up its row while it is being written.
    services().jobs.flush_soon(poster.site_id)
    return Posted(form=CLOSE_FORM, saved=poster.cycle)


def _close_field(name: str | None) -> str:
    """The form field of a refusal: `scores.PLAT-1.1.reason` is `reason:PLAT-1.1`."""
    if name and name.startswith("scores."):
        key, _, part = name[7:].rpartition(".")
        if part in ("reason", "score"):
            return f"{part}:{key}"
        return f"score:{name[7:]}"
    return name or "learned"
