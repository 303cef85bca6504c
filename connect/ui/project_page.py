"""The Jira project page as either door shows it: the team's OKRs with their forms, the weekly
review tab, a KR's own page, and a check-in sent back with its errors.

The pages are the same through the Connect iframe and the Forge shell; only where their links
and forms point differs, so each door passes a `Link`: `link(route, **params)` gives the URL
of one of the page's routes (`page`, `kr`, `edit`, `check-in`, `close`, `monthly-score`) with
parameters named
`team`, `cycle`, `view`, `kr`, `saved`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Literal

from markupsafe import Markup, escape
from sqlalchemy.orm import Session

from connect.errors import NotFound
from connect.services import services
from connect.ui import panels
from connect.ui.editor import CycleLink, Editor
from connect.ui.i18n import translator
from connect.ui.kpi_history import load_kpi_history
from connect.ui.people import names_in
from connect.ui.project_forms import CHECKIN_FIELDS, MONTHLY_FORM, Posted, issue_csrf, now
from connect.ui.render import render_checkin_page, render_kr_page, render_panel, render_review
from connect.ui.retro import load_retro
from connect.ui.review import MonthlyForm, load_review
from connect.ui.viewmodel import KpiView, PanelView
from sync.core.spec import CycleSpec, quarter, quarter_of
from sync.cycles import team_cycles
from sync.db.model import Cycle, KeyResult
from sync.db.store import check_ins_of, find_cycle, find_kr
from sync.kpis import find_kpi
from sync.monthly import given_in_cycle
from sync.okrs import changes_of
from sync.permissions import Caller, Unavailable

Link = Callable[..., str]
"""`link(route, **params)`: the URL of one of the page's routes, as the door serves it."""
ROUTES = ("page", "kr", "edit", "preview", "check-in", "close", "monthly-score", "people", "issues")


@dataclass(frozen=True, slots=True)
class ProjectPage:
    """What to show: whose page, which cycle and tab, for whom, in which language."""

    site_id: int
    account: str | None
    team: str
    cycle: str = ""
    view: Literal["okrs", "review"] = "okrs"
    saved: str = ""  # the key just saved: its forms open to show their practice notes
    locale: str = "en"
    host_script: bool = True  # False through the Forge shell, which runs no page scripts
    values: Mapping[str, str] = field(default_factory=dict)  # a failed post's fields
    operator: bool = False  # the operator's development token: every form

    @property
    def caller(self) -> Caller:
        """The reader, as the permissions layer asks it."""
        return Caller(site_id=self.site_id, account_id=self.account, operator=self.operator)


@dataclass(frozen=True, slots=True)
class Allowed:
    """Which of the page's forms the reader may use (the posts are checked again)."""

    write: bool
    check_in: bool
    notice: str | None = None  # catalogue key: why forms are missing


def allowed(page: ProjectPage) -> Allowed:
    """Ask the permissions layer once for the page; Jira not answering hides every form."""
    permissions = services().permissions
    try:
        write = permissions.may_write(page.caller, page.team)
        check_in = write or permissions.may_check_in(page.caller, page.team)
    except Unavailable:
        return Allowed(write=False, check_in=False, notice="perm.unavailable")
    return Allowed(write=write, check_in=check_in, notice=None if write else "perm.read_only")


def _cycle_view(site_id: int, team: str, cycle: str, today: date) -> PanelView:
    """An empty page of the team's cycle (named, else the current quarter): its forms start it."""
    try:
        spec = quarter(cycle) if cycle else quarter_of(today)
    except ValueError:
        with services().store.session() as session:
            row = find_cycle(session, site_id, cycle)
        if row is None:
            raise NotFound(f"no cycle {cycle}", field="cycle") from None
        spec = CycleSpec(name=row.name, start=row.start, end=row.end)
    return PanelView(
        team=team, cycle=spec.name, cycle_start=spec.start, cycle_end=spec.end, objectives=()
    )


def _cycle_links(
    session: Session, site_id: int, team: str, shown: str, link: Link
) -> tuple[CycleLink, ...]:
    """The team's cycles for the page's cycle list, each with the cycle that holds it."""
    rows = team_cycles(session, site_id, team)
    names = {row.id: row.name for row in rows}
    missing = {row.parent_id for row in rows if row.parent_id and row.parent_id not in names}
    for parent_id in missing:
        parent = session.get(Cycle, parent_id)
        if parent is not None:
            names[parent.id] = parent.name
    return tuple(
        CycleLink(
            name=row.name,
            start=row.start,
            end=row.end,
            parent=names.get(row.parent_id) if row.parent_id else None,
            url=link("page", team=team, cycle=row.name),
            current=row.name == shown,
        )
        for row in rows
    )


def _tabs(link: Link, carried: dict[str, str], *, review: bool, lang: str) -> Markup:
    """The project page's tabs: its OKRs, and the weekly review."""
    t = translator(lang)
    okrs_url = link("page", **carried)
    review_url = link("page", **carried, view="review")
    return Markup(  # noqa: S704 - every part is escaped here
        '<nav class="meta" data-tabs>'
        + (
            f'<a href="{escape(okrs_url)}" data-tab="okrs">{escape(t("review.okrs_tab"))}</a>'
            if review
            else f'<strong data-tab="okrs">{escape(t("review.okrs_tab"))}</strong>'
        )
        + " "
        + (
            f'<strong data-tab="review">{escape(t("review.tab"))}</strong>'
            if review
            else f'<a href="{escape(review_url)}" data-tab="review">{escape(t("review.tab"))}</a>'
        )
        + "</nav>"
    )


def render_project_page(page: ProjectPage, link: Link, *, failed: Posted | None = None) -> str:
    """The team's OKRs with every form (a closed cycle: read-only, with its retrospective), or
    the review tab; `failed` reopens the refused form with its errors and the posted values."""
    site_id, team, lang = page.site_id, page.team, page.locale
    store = services().store
    with store.session() as session:
        view = panels.load_panel(
            session, site_id, panels.PanelQuery(team=team, cycle=page.cycle), today=now().date()
        )
    if view is None:  # no OKRs in the cycle yet: its forms start them; the team's KPIs show
        empty = _cycle_view(site_id, team, page.cycle, now().date())
        with store.session() as session:
            kpis = panels.kpi_views(
                session, site_id, team, start=empty.cycle_start, end=empty.cycle_end
            )
            names = names_in(session, site_id, (k.owner for k in kpis))  # the KPIs' owners
        view = replace(empty, kpis=kpis, names=names)
    carried = {"team": team, "cycle": view.cycle}
    tabs = _tabs(link, carried, review=page.view == "review", lang=lang)
    if page.view == "review":
        with store.session() as session:
            review = load_review(session, site_id, team=team, cycle=view.cycle, now=now())
        if review is not None:
            monthly = None
            if review.month is not None:  # a month's last week: its score is asked
                monthly = MonthlyForm(
                    action_url=link("monthly-score", **carried),
                    csrf_token=issue_csrf(site_id=site_id, account=page.account),
                )
                if failed is not None and failed.form == MONTHLY_FORM:
                    monthly = replace(
                        monthly, target=failed.target, errors=failed.errors, values=page.values
                    )
            return render_review(
                review, locale=lang, tabs=tabs, host_script=page.host_script, monthly_form=monthly
            )
    with store.session() as session:
        retro = load_retro(session, site_id, team=team, cycle=view.cycle)
    if retro is not None:  # a closed cycle is read-only: no forms
        with store.session() as session:
            given = given_in_cycle(session, site_id, view.cycle)
        return render_panel(
            view,
            mode="full",
            locale=lang,
            is_editor=True,
            tabs=tabs,
            retro=retro,
            host_script=page.host_script,
            monthly_given=given,
        )
    csrf = issue_csrf(site_id=site_id, account=page.account)
    may = allowed(page)
    editor = Editor(
        action_url=link("edit", **carried),
        csrf_token=csrf,
        saved=page.saved,
        writable=may.write,
        # The picker is the page's script: a door whose pages run none keeps the typed owner.
        people_url=link("people", team=team) if page.host_script else "",
        issues_url=link("issues", team=team) if page.host_script else "",
        preview_url=link("preview", **carried),
    )
    with store.session() as session:
        editor = replace(
            editor,
            kpi_history=load_kpi_history(session, site_id, team),
            cycles=_cycle_links(session, site_id, team, view.cycle, link),
        )
    if failed is not None:
        editor = replace(
            editor,
            form=failed.form,
            target=failed.target,
            errors=failed.errors,
            values=page.values,
            preview=failed.preview,
        )
    if view.objectives:
        editor = replace(editor, close_url=link("close", **carried), kr_url=link("kr", team=team))
    with store.session() as session:
        given = given_in_cycle(session, site_id, view.cycle)
    return render_panel(
        view,
        mode="full",
        locale=lang,
        is_editor=True,
        csrf_token=csrf,
        checkin_url=link("check-in", **carried) if may.check_in or page.account else None,
        checkin_owner=None if may.check_in else page.account or None,
        editor=editor,
        tabs=tabs,
        host_script=page.host_script,
        monthly_given=given,
        notice=may.notice,
    )


def render_checkin_failure(
    page: ProjectPage, link: Link, failed: Posted, carried: Mapping[str, str]
) -> str:
    """The refused check-in on a page of its own: its errors beside their fields, its values."""
    with services().store.session() as session:
        where = panels.find_kr_panel(session, page.site_id, failed.target)
        view = (
            panels.load_panel(session, page.site_id, where, today=now().date()) if where else None
        )
    kr = next(
        (k for o in (view.objectives if view else ()) for k in o.krs if k.key == failed.target),
        None,
    )
    if kr is None:
        raise NotFound(f"no key result {failed.target}", field="kr")
    values = {name: page.values.get(name, "") for name in CHECKIN_FIELDS}
    return render_checkin_page(
        kr,
        locale=page.locale,
        csrf_token=issue_csrf(site_id=page.site_id, account=page.account),
        action_url=link("check-in", **carried),
        errors=failed.errors,
        values=values,
        host_script=page.host_script,
    )


def render_project_kr_page(page: ProjectPage, link: Link, key: str) -> str:
    """A KR of the team on its own: every check-in and every change to its definition; a KR of
    another team or site is a 404."""
    with services().store.session() as session:
        kr = _team_kr(session, page, key)
        trend = panels.load_kr_trend(session, page.site_id, kr)
        check_ins = check_ins_of(session, kr)
        changes = changes_of(session, page.site_id, kr.cycle_id, kr.key)
        people = [kr.owner, *(c.author for c in check_ins), *(c.author for c in changes)]
        for change in changes:  # an owner changed reads as names on both sides
            people += [(change.before or {}).get("owner"), (change.after or {}).get("owner")]
        return render_kr_page(
            kr,
            check_ins=check_ins,
            changes=changes,
            names=names_in(session, page.site_id, people),
            locale=page.locale,
            back_url=link("page", team=page.team),
            host_script=page.host_script,
            trend=trend,
            kpi=_kr_kpi(session, page.site_id, kr),
        )


def _kr_kpi(session: Session, site_id: int, kr: KeyResult) -> KpiView | None:
    """The KPI a KR takes its value from, with its values over the KR's cycle (None when the
    KR takes none, or names a KPI that is gone)."""
    if not kr.kpi:
        return None
    row = find_kpi(session, site_id, kr.kpi)
    if row is None:
        return None
    views = panels.kpi_views(session, site_id, row.team.key, start=kr.cycle.start, end=kr.cycle.end)
    return next((view for view in views if view.key == row.key), None)


def _team_kr(session: Session, page: ProjectPage, key: str) -> KeyResult:
    kr = find_kr(session, page.site_id, key)
    if kr is None or kr.objective.team.key != page.team:
        raise NotFound(f"no key result {key}", field="kr")
    return kr
