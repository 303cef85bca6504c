"""Load the view values of the pages from the store, in a fixed number of queries.

A panel costs two statements however many objectives, KRs, check-ins and history points it
has: objectives joined with their KRs, parent objective, latest check-in and link count; then
every history point of those KRs. The team's KPIs cost one more, and their values over the
cycle (their charts) one more again when the team has any. Its cache key (`panel_version`)
costs one more.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    bindparam,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import BindParameter

from connect.ui.charts import KpiPoint
from connect.ui.i18n import PracticeNote
from connect.ui.kpi_history import load_kpi_series
from connect.ui.people import names_in
from connect.ui.viewmodel import (
    CheckInView,
    IssueKrView,
    KpiView,
    KrView,
    ObjectiveView,
    PanelView,
)
from sync import kpis
from sync.core.practice import DEFAULT_PROFILE, Finding, Profile, check_kpi, check_team_okrs
from sync.core.progress import objective_progress
from sync.core.spec import CycleSpec, KeyResultSpec, ObjectiveSpec, TeamOkrs, quarter_of
from sync.db.model import (
    CheckIn,
    Cycle,
    KeyResult,
    Kpi,
    Link,
    Objective,
    PracticeProfile,
    Snapshot,
    Team,
    WorkItem,
)
from sync.people import display
from sync.sources import source_state

SEARCH_LIMIT = 10
PANEL_LEVEL_CODES = frozenset({"too-many-objectives"})


class PanelQuery(NamedTuple):
    """A team's OKRs in a cycle (blank: the current one), maybe narrowed to one objective.

    A NamedTuple: it is part of every cached panel's keys, hashed three times a load, in C
    rather than by a dataclass's generated `__hash__` (0.1 µs each, `bench/panels.py`).
    """

    team: str
    cycle: str = ""
    objective: str = ""


def _given(value: object) -> bool:
    """A parameter that is set: a non-empty string, or a bound parameter."""
    return not isinstance(value, str) or bool(value)


def _cycle_filter(site_id: int, cycle: str, today: date) -> ColumnElement[bool]:
    """The named cycle, or the newest cycle of the site that contains `today`."""
    if _given(cycle):
        return Cycle.name == cycle
    other = aliased(Cycle, name="current_cycle")
    current = (
        select(other.id)
        .where(other.site_id == site_id, other.start <= today, other.end >= today)
        .order_by(other.start.desc())
        .limit(1)
        .scalar_subquery()
    )
    return Cycle.id == current


def _scope(query: Select[Any], site_id: int, panel: PanelQuery, today: date) -> Select[Any]:
    query = (
        query.join(Team, Team.id == Objective.team_id)
        .join(Cycle, Cycle.id == Objective.cycle_id)
        .where(
            Objective.site_id == site_id,
            Team.key == panel.team,
            _cycle_filter(site_id, panel.cycle, today),
        )
    )
    if _given(panel.objective):
        query = query.where(Objective.key == panel.objective)
    return query


def _kpi_versions() -> Any:
    """The sum of the team's KPI versions: a KPI's new value or health changes the panel."""
    team = aliased(Team, name="kpi_team")
    return (
        select(func.coalesce(func.sum(Kpi.version), 0))
        .join(team, team.id == Kpi.team_id)
        .where(Kpi.site_id == bindparam("site_id"), team.key == bindparam("team"))
        .scalar_subquery()
    )


def kpi_views(
    session: Session,
    site_id: int,
    team: str,
    *,
    start: date | None = None,
    end: date | None = None,
) -> tuple[KpiView, ...]:
    """The team's KPIs, in their order; a healthy one shows its value and nothing more.

    With a cycle (`start`, `end`), each KPI also carries its values recorded in it, for its
    chart: one more query, and only for a team that has KPIs.
    """
    rows = list(
        session.scalars(
            select(Kpi)
            .join(Team, Team.id == Kpi.team_id)
            .where(Kpi.site_id == site_id, Team.key == team)
            .order_by(Kpi.position, Kpi.key)
        )
    )
    series: Mapping[int, tuple[KpiPoint, ...]] = {}
    if rows and start is not None and end is not None:
        series = load_kpi_series(session, site_id, [k.id for k in rows], start=start, end=end)
    return tuple(
        KpiView(
            key=k.key,
            title=k.title,
            unit=k.unit,
            value=k.current,
            health=k.health,
            reason=k.reason,
            healthy_min=k.healthy_min,
            healthy_max=k.healthy_max,
            drop_alert=k.drop_alert,
            kind=k.kind,
            measure=k.measure,
            owner=k.owner,
            jql=k.jql,
            jql_field=k.jql_field,
            scope=dict(k.params or {}),
            warnings=tuple(
                practice_note(f) for f in check_kpi(kpis.as_spec(k)) if f.level == "warning"
            ),
            history=series.get(k.id, ()),
        )
        for k in rows
    )


@functools.cache
def _version_statement(*, named_cycle: bool, one_objective: bool) -> Select[Any]:
    """The data-version query, built once per shape and run with bound parameters."""
    panel = PanelQuery(
        team=bindparam("team"),  # type: ignore[arg-type]
        cycle=bindparam("cycle") if named_cycle else "",  # type: ignore[arg-type]
        objective=bindparam("objective") if one_objective else "",  # type: ignore[arg-type]
    )
    return _scope(
        select(
            func.count(func.distinct(Objective.id)),
            func.count(KeyResult.id),
            func.coalesce(func.sum(KeyResult.version), 0),
            func.max(KeyResult.updated_at),
            func.max(Cycle.id),
            _kpi_versions(),
        ).select_from(Objective),
        bindparam("site_id"),  # type: ignore[arg-type]
        panel,
        bindparam("today"),  # type: ignore[arg-type]
    ).outerjoin(KeyResult, KeyResult.objective_id == Objective.id)


def panel_version(
    connection: Connection | Session, site_id: int, panel: PanelQuery, *, today: date
) -> str:
    """A string that changes whenever anything the panel shows changes (one query).

    Every KR change bumps its `version` (check-ins, snapshots, edits, abandon), so the sum of
    versions with the counts and the newest `updated_at` moves on any change. This runs on
    every panel load, so its statement is built once and bound to each request's values.
    """
    statement = _version_statement(
        named_cycle=bool(panel.cycle), one_objective=bool(panel.objective)
    )
    row = connection.execute(
        statement,
        {
            "site_id": site_id,
            "team": panel.team,
            "cycle": panel.cycle,
            "objective": panel.objective,
            "today": today,
        },
    ).one()
    return "/".join(str(value) for value in row)


@functools.lru_cache(maxsize=16)
def _compiled_version(dialect: Dialect, named_cycle: bool, one_objective: bool) -> SQLCompiler:
    compiled = _version_statement(named_cycle=named_cycle, one_objective=one_objective).compile(
        dialect=dialect
    )
    assert isinstance(compiled, SQLCompiler)  # a SELECT compiles with the SQL compiler
    return compiled


def panel_version_sql(
    dialect: Dialect, site_id: int, panel: PanelQuery, *, today: date
) -> tuple[str, Any]:
    """`panel_version`'s SQL for a raw DB-API cursor, compiled once per dialect, with its args.

    Why: this query runs on every panel load, and SQLAlchemy's per-execution work (context,
    parameter processing, result wrapping) costs about 0.4 ms against 0.05 ms for the query
    itself on SQLite; the panel's throughput target leaves no room for it. The values are only
    joined into a cache key, so no result typing is needed; dates are bound as ISO strings on
    SQLite (how its Date type stores them) and as dates elsewhere.
    """
    compiled = _compiled_version(dialect, bool(panel.cycle), bool(panel.objective))
    sqlite = dialect.name == "sqlite"
    values = compiled.construct_params(
        {
            "site_id": site_id,
            "team": panel.team,
            "cycle": panel.cycle,
            "objective": panel.objective,
            "today": today.isoformat() if sqlite else today,
        }
    )
    positions = compiled.positiontup
    assert values is not None  # None only for a compiled DDL statement
    return compiled.string, tuple(values[name] for name in positions) if positions else values


def run_version_sql(dbapi_connection: Any, sql: str, args: Any) -> str:
    """Run `panel_version_sql`'s statement on a DB-API connection; the version string."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(sql, args)
        row = cursor.fetchone()
    finally:
        cursor.close()
    return "/".join(str(value) for value in row or ())


def _panel_kr_ids(site_id: int, panel: PanelQuery, today: date) -> Select[Any]:
    return _scope(select(KeyResult.id).select_from(Objective), site_id, panel, today).join(
        KeyResult, KeyResult.objective_id == Objective.id
    )


def _latest_checkins(kr_ids: Select[Any]) -> Any:
    """Each panel KR's check-ins ranked newest first (rank 1 is the latest)."""
    ranked = (
        select(
            CheckIn.kr_id,
            CheckIn.at,
            CheckIn.author,
            CheckIn.status,
            CheckIn.score,
            CheckIn.value,
            CheckIn.what,
            CheckIn.why,
            CheckIn.next,
            CheckIn.confidence,
            CheckIn.decisions,
            CheckIn.risks,
            CheckIn.learnings,
            func.row_number()
            .over(partition_by=CheckIn.kr_id, order_by=(CheckIn.at.desc(), CheckIn.id.desc()))
            .label("rank"),
        )
        .where(CheckIn.kr_id.in_(kr_ids))
        .subquery("ranked_checkins")
    )
    return ranked


def _link_counts(kr_ids: Select[Any]) -> Any:
    """How many Jira links each panel KR has (the practice checks ask)."""
    return (
        select(Link.kr_id, func.count(Link.id).label("links"))
        .where(Link.kr_id.in_(kr_ids), Link.target_kind == "jira")
        .group_by(Link.kr_id)
        .subquery("link_counts")
    )


def _practice_columns(site_id: int) -> tuple[Any, ...]:
    """The site's practice thresholds and whether another team aligns to each objective, as
    columns of the panel's one query (the panel costs the same statements as before)."""
    other = aliased(Objective, name="aligned_objective")
    aligned = (
        select(other.id)
        .where(
            other.site_id == Objective.site_id,
            other.cycle_id == Objective.cycle_id,
            other.team_id != Objective.team_id,
            other.parent_key == Objective.key,
        )
        .exists()
        .label("aligned_to")
    )

    def threshold(column: Any) -> Any:
        return (
            select(column)
            .where(PracticeProfile.site_id == site_id)
            .scalar_subquery()
            .label(column.key)
        )

    return (
        aligned,
        threshold(PracticeProfile.max_objectives),
        threshold(PracticeProfile.min_krs),
        threshold(PracticeProfile.max_krs),
    )


def load_panel(
    session: Session, site_id: int, panel: PanelQuery, *, today: date
) -> PanelView | None:
    """The panel's view, or None when the team has no objectives in that cycle."""
    parent = aliased(Objective, name="parent_objective")
    ranked = _latest_checkins(_panel_kr_ids(site_id, panel, today))
    links = _link_counts(_panel_kr_ids(site_id, panel, today))
    query = _scope(
        select(
            Objective,
            Cycle.name,
            Cycle.start,
            Cycle.end,
            parent.title,
            KeyResult,
            ranked.c.at,
            ranked.c.author,
            ranked.c.status,
            ranked.c.score,
            ranked.c.value,
            ranked.c.what,
            ranked.c.why,
            ranked.c.next,
            ranked.c.confidence,
            ranked.c.decisions,
            ranked.c.risks,
            ranked.c.learnings,
            links.c.links,
            *_practice_columns(site_id),
        ).select_from(Objective),
        site_id,
        panel,
        today,
    )
    query = (
        query.outerjoin(
            parent,
            and_(
                parent.site_id == Objective.site_id,
                # In the same cycle, or in the longer cycle holding it (a quarter's year).
                or_(parent.cycle_id == Objective.cycle_id, parent.cycle_id == Cycle.parent_id),
                parent.key == Objective.parent_key,
            ),
        )
        .outerjoin(KeyResult, KeyResult.objective_id == Objective.id)
        .outerjoin(ranked, and_(ranked.c.kr_id == KeyResult.id, ranked.c.rank == 1))
        .outerjoin(links, links.c.kr_id == KeyResult.id)
        .order_by(Objective.position, Objective.key, KeyResult.position, KeyResult.key)
    )
    rows = session.execute(query).all()
    if not rows:
        return None
    kr_ids = [row.KeyResult.id for row in rows if row.KeyResult is not None]
    history, confidence = _history(session, site_id, kr_ids)
    first = rows[0]
    cycle = CycleSpec(name=first.name, start=first.start, end=first.end)
    objectives: dict[int, tuple[Objective, str | None, list[tuple[KeyResult, Any]]]] = {}
    for row in rows:
        entry = objectives.setdefault(row.Objective.id, (row.Objective, row.title, []))
        if row.KeyResult is not None:
            entry[2].append((row.KeyResult, row))
    profile = DEFAULT_PROFILE
    if first.max_objectives is not None:
        profile = Profile(
            max_objectives=first.max_objectives, min_krs=first.min_krs, max_krs=first.max_krs
        )
    warnings = _practice_warnings(
        panel.team,
        cycle,
        objectives.values(),
        profile=profile,
        company=any(row.aligned_to for row in rows),
        # The parent join looks in the same cycle: a parent it did not find is unknown.
        known_parents=frozenset(
            o.parent_key
            for o, title, _krs in objectives.values()
            if o.parent_key and title is not None
        ),
    )
    view = PanelView(
        team=panel.team,
        cycle=cycle.name,
        cycle_start=cycle.start,
        cycle_end=cycle.end,
        objectives=tuple(
            ObjectiveView(
                key=objective.key,
                title=objective.title,
                description=objective.description,
                parent_key=objective.parent_key,
                parent_title=parent_title,
                progress=objective_progress(
                    (kr.progress, kr.weight, kr.state == "active") for kr, _ in krs
                ),
                krs=tuple(
                    _kr_view(
                        kr,
                        row,
                        history.get(kr.id, ()),
                        warnings.get(kr.key, ()),
                        confidence.get(kr.id, ()),
                    )
                    for kr, row in krs
                ),
                warnings=warnings.get(objective.key, ()),
                state=objective.state,
                abandon_reason=objective.abandon_reason,
            )
            for objective, parent_title, krs in objectives.values()
        ),
        warnings=warnings.get("", ()),
        kpis=kpi_views(session, site_id, panel.team, start=cycle.start, end=cycle.end),
    )
    return replace(view, names=names_in(session, site_id, view.people))


Series = dict[int, tuple[tuple[datetime, float], ...]]
"""Per KR id, its (time, 0..1) points over the cycle, oldest first."""


@functools.cache
def _points_statement() -> Select[Any]:
    """The history and confidence points of some KRs, built once (bound to each load's values:
    building a union and its subquery costs more than running it)."""
    kr_ids: BindParameter[list[int]] = bindparam("kr_ids", expanding=True)
    progress = select(
        Snapshot.kr_id,
        Snapshot.at,
        Snapshot.progress.label("value"),
        literal(0).label("series"),
        Snapshot.id.label("row_id"),
    ).where(Snapshot.site_id == bindparam("site_id"), Snapshot.kr_id.in_(kr_ids))
    confidence = select(
        CheckIn.kr_id, CheckIn.at, CheckIn.confidence, literal(1), CheckIn.id
    ).where(
        CheckIn.site_id == bindparam("site_id"),
        CheckIn.kr_id.in_(kr_ids),
        CheckIn.confidence.is_not(None),
    )
    both = union_all(progress, confidence).subquery("points")
    return select(both.c.kr_id, both.c.at, both.c.value, both.c.series).order_by(
        both.c.kr_id, both.c.at, both.c.row_id
    )


def _history(session: Session, site_id: int, kr_ids: Sequence[int]) -> tuple[Series, Series]:
    """Every history point of the KRs and the confidence of every check-in that gave one, in
    one query (the panel stays at two statements); the last point of each day is kept."""
    if not kr_ids:
        return {}, {}
    rows = session.execute(_points_statement(), {"site_id": site_id, "kr_ids": list(kr_ids)})
    daily: tuple[dict[int, dict[date, tuple[datetime, float]]], ...] = ({}, {})
    for kr_id, at, value, series in rows:
        daily[series].setdefault(kr_id, {})[at.date()] = (at, value)
    series = tuple(
        {kr_id: tuple(days.values()) for kr_id, days in by_kr.items()} for by_kr in daily
    )
    return series[0], series[1]


def _kr_view(
    kr: KeyResult,
    row: Any,
    history: tuple[tuple[datetime, float], ...],
    warnings: tuple[PracticeNote, ...],
    confidence: tuple[tuple[datetime, float], ...] = (),
) -> KrView:
    checkin = None
    if row.at is not None:
        checkin = CheckInView(
            at=row.at,
            author=row.author,
            status=row.status,
            score=row.score,
            value=row.value,
            what=row.what or "",
            why=row.why or "",
            next=row.next or "",
            confidence=row.confidence,
            decisions=tuple(row.decisions or ()),
            risks=tuple(row.risks or ()),
            learnings=tuple(row.learnings or ()),
        )
    growth = None
    if kr.total is not None and kr.total_at_start is not None:
        growth = kr.total - kr.total_at_start
    return KrView(
        key=kr.key,
        title=kr.title,
        kind=kr.kind,
        unit=kr.unit or "",
        baseline=kr.baseline,
        current=kr.current,
        target=kr.target,
        progress=kr.progress,
        score=kr.score,
        status=kr.status,
        owner=kr.owner,
        state=kr.state,
        abandon_reason=kr.abandon_reason,
        last_checkin=checkin,
        history=history,
        done=kr.done,
        total=kr.total,
        scope_growth=growth,
        warnings=warnings,
        source_state=source_state(kr),
        source_kind="github" if kr.kind == "github" else "jira",
        weight=kr.weight,
        jql=kr.jql,
        confidence=confidence,
        jql_field=kr.jql_field,
        measure=kr.measure,
        kpi=kr.kpi,
        scope=dict(kr.params or {}),
        asana_goal=kr.asana_goal,
        asana_field=kr.asana_field,
    )


def _practice_warnings(
    team: str,
    cycle: CycleSpec,
    objectives: Any,
    *,
    profile: Profile = DEFAULT_PROFILE,
    company: bool = False,
    known_parents: frozenset[str] | None = None,
) -> dict[str, tuple[PracticeNote, ...]]:
    """Practice notes by objective or KR key ("" for the whole panel), from loaded rows."""
    specs = tuple(
        ObjectiveSpec(
            key=objective.key,
            title=objective.title,
            parent=objective.parent_key,
            description=objective.description,
            key_results=tuple(
                KeyResultSpec(
                    key=kr.key,
                    title=kr.title,
                    kind=kr.kind,
                    baseline=kr.baseline,
                    target=kr.target,
                    current=kr.current,
                    unit=kr.unit or "",
                    owner=kr.owner,
                    weight=kr.weight,
                    state=kr.state,
                    abandon_reason=kr.abandon_reason,
                    jql=kr.jql,
                    jql_field=kr.jql_field,
                    measure=kr.measure,
                    # Only whether an issues KR links anything matters to the checks.
                    issues=("linked",) if row.links else (),
                )
                for kr, row in krs
            ),
        )
        for objective, _parent, krs in objectives
    )
    found: dict[str, list[PracticeNote]] = {}
    okrs = TeamOkrs(team=team, cycle=cycle, objectives=specs)
    for finding in check_team_okrs(
        okrs, profile=profile, company=company, known_parents=known_parents
    ):
        if finding.level != "warning":
            continue
        where = "" if finding.code in PANEL_LEVEL_CODES else (finding.key or "")
        found.setdefault(where, []).append(practice_note(finding))
    return {key: tuple(notes) for key, notes in found.items()}


def practice_note(finding: Finding) -> PracticeNote:
    """A warning as the catalogue says it (`practice.<code>`, by kind for `no-number`)."""
    code = finding.code
    if code == "no-number":
        code = f"{code}.{finding.params['kind']}"
    elif code == "counts-activity":
        code = f"{code}.{finding.params['activity']}"
    return PracticeNote(f"practice.{code}", finding.params)


def current_cycle_name(today: date) -> str:
    """The quarter containing `today`, as the empty panel names it."""
    return quarter_of(today).name


def first_team(session: Session, site_id: int, *, cycle: str, today: date) -> str | None:
    """The first team (by key) with objectives in the cycle (blank: the current one)."""
    return session.scalar(
        select(Team.key)
        .join(Objective, Objective.team_id == Team.id)
        .join(Cycle, Cycle.id == Objective.cycle_id)
        .where(Team.site_id == site_id, _cycle_filter(site_id, cycle, today))
        .order_by(Team.key)
        .limit(1)
    )


def find_kr_panel(session: Session, site_id: int, kr_key: str) -> PanelQuery | None:
    """The panel (team, cycle, objective) a KR is shown in; newest cycle first."""
    row = session.execute(
        select(Team.key, Cycle.name, Objective.key)
        .select_from(KeyResult)
        .join(Objective, Objective.id == KeyResult.objective_id)
        .join(Team, Team.id == Objective.team_id)
        .join(Cycle, Cycle.id == KeyResult.cycle_id)
        .where(KeyResult.site_id == site_id, KeyResult.key == kr_key)
        .order_by(Cycle.start.desc())
        .limit(1)
    ).first()
    return None if row is None else PanelQuery(team=row[0], cycle=row[1], objective=row[2])


# --- the Jira issue panel ------------------------------------------------------------------


def _issue_kr(kr: KeyResult, objective_title: str, via: str | None) -> IssueKrView:
    return IssueKrView(
        key=kr.key,
        title=kr.title,
        objective_title=objective_title,
        progress=kr.progress,
        score=kr.score,
        status=kr.status,
        owner=kr.owner,
        via=via,
    )


def issue_krs(session: Session, site_id: int, issue_key: str) -> list[IssueKrView]:
    """Active KRs the issue contributes to, directly or through its epic (one query)."""
    epic = (
        select(WorkItem.parent_key)
        .where(WorkItem.site_id == site_id, WorkItem.key == issue_key)
        .limit(1)
        .scalar_subquery()
    )
    rows = session.execute(
        select(KeyResult, Objective.title, Link.target_key)
        .join(Link, Link.kr_id == KeyResult.id)
        .join(Objective, Objective.id == KeyResult.objective_id)
        .join(Cycle, Cycle.id == KeyResult.cycle_id)
        .where(
            Link.site_id == site_id,
            KeyResult.site_id == site_id,
            Link.target_kind == "jira",
            or_(Link.target_key == issue_key, Link.target_key == epic),
            KeyResult.state == "active",
        )
        .order_by(Cycle.start.desc(), KeyResult.key)
    ).all()
    found: dict[str, IssueKrView] = {}
    for kr, objective_title, target in rows:
        via = None if target == issue_key else target
        if kr.key not in found or (via is None and found[kr.key].via is not None):
            found[kr.key] = _issue_kr(kr, objective_title, via)
    return _named(session, site_id, list(found.values()))


def _named(session: Session, site_id: int, krs: list[IssueKrView]) -> list[IssueKrView]:
    """The issue panel's KRs with their owners by name (it edits no owner)."""
    names = names_in(session, site_id, (kr.owner for kr in krs))
    return [replace(kr, owner=display(kr.owner, names)) for kr in krs]


def _like(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_krs(session: Session, site_id: int, text: str) -> list[IssueKrView]:
    """Active KRs whose key or title contains every word of `text`, newest cycle first."""
    words = text.split()[:8]
    if not words:
        return []
    query = (
        select(KeyResult, Objective.title)
        .join(Objective, Objective.id == KeyResult.objective_id)
        .join(Cycle, Cycle.id == KeyResult.cycle_id)
        .where(KeyResult.site_id == site_id, KeyResult.state == "active")
        .order_by(Cycle.start.desc(), KeyResult.key)
        .limit(SEARCH_LIMIT)
    )
    for word in words:
        pattern = _like(word)
        query = query.where(
            or_(
                KeyResult.key.ilike(pattern, escape="\\"),
                KeyResult.title.ilike(pattern, escape="\\"),
            )
        )
    found = [_issue_kr(kr, title, None) for kr, title in session.execute(query).all()]
    return _named(session, site_id, found)


@dataclass(frozen=True, slots=True)
class KrTrend:
    """What a KR's own page charts: its progress and check-in confidence over its cycle."""

    key: str
    title: str
    status: str
    progress: float
    start: date
    end: date
    history: tuple[tuple[datetime, float], ...]
    confidence: tuple[tuple[datetime, float], ...]


def load_kr_trend(session: Session, site_id: int, kr: KeyResult) -> KrTrend:
    """The KR's chart values (one query, the panel's history query for one KR)."""
    history, confidence = _history(session, site_id, [kr.id])
    status = "none" if kr.state != "active" else kr.status
    return KrTrend(
        key=kr.key,
        title=kr.title,
        status=status,
        progress=kr.progress,
        start=kr.cycle.start,
        end=kr.cycle.end,
        history=history.get(kr.id, ()),
        confidence=confidence.get(kr.id, ()),
    )
