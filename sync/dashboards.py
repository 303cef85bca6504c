"""A site's OKRs for the team's dashboards: read-only dashboard tokens, and the board they read.

The board is what `/api/v1/metrics` serves (Grafana, Datadog) and what Geckoboard datasets
receive: the active KRs of every team's open cycles (a cycle is open for a team until the team
closes it), their objectives, and the teams' KPIs. Its numbers are the ones the panels show:
each KR's stored snapshot (progress, score, status: what `connect/ui/panels.py` puts in its
`KrView`), an objective's progress by the same `objective_progress` over the same KRs, and a
KR's confidence from its latest check-in that gave one (the last point of the panel's
confidence series). The whole site costs two statements, whatever its size.

Tokens: `okd_` and 43 URL-safe characters (256 random bits). Only their SHA-256 is stored; a
lookup finds the row by that hash (indexed, unique) and compares it again in constant time.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Dialect, Integer, ScalarSelect, Select, bindparam, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler

from sync.core.progress import objective_progress
from sync.db.model import (
    CheckIn,
    Cycle,
    CycleClose,
    DashboardToken,
    KeyResult,
    Kpi,
    Objective,
    Team,
)
from sync.errors import Invalid

TOKEN_PREFIX = "okd_"  # noqa: S105 (a prefix, not a secret)
"""Every dashboard token starts so: the API tells one apart from the admin token by it."""
TOKEN_BYTES = 32
HINT_CHARS = 8
MAX_NAME = 64
ACTIVE = "active"


# --- tokens --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TokenView:
    """A token as lists show it: never the token, only its first characters."""

    id: int
    site_id: int
    name: str
    hint: str
    created_at: datetime
    revoked_at: datetime | None

    @property
    def state(self) -> str:
        return "revoked" if self.revoked_at is not None else "active"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _view(row: DashboardToken) -> TokenView:
    return TokenView(row.id, row.site_id, row.name, row.hint, row.created_at, row.revoked_at)


def create_token(
    session: Session, site_id: int, *, name: str, now: datetime
) -> tuple[TokenView, str]:
    """A new token of the site, and the token itself (shown this once, never stored)."""
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise Invalid(f"name must have 1 to {MAX_NAME} characters", field="name")
    token = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    row = DashboardToken(
        site_id=site_id,
        name=name,
        token_hash=_hash(token),
        hint=token[: len(TOKEN_PREFIX) + HINT_CHARS] + "…",
        created_at=now,
    )
    session.add(row)
    session.flush()
    return _view(row), token


def list_tokens(session: Session, site_id: int | None = None) -> list[TokenView]:
    """Every token (of one site when given), revoked ones too, oldest first."""
    query = select(DashboardToken).order_by(DashboardToken.id)
    if site_id is not None:
        query = query.where(DashboardToken.site_id == site_id)
    return [_view(row) for row in session.scalars(query)]


def revoke_token(session: Session, token_id: int, *, now: datetime) -> TokenView | None:
    """Revoke a token (at once: the next scrape with it is refused); None when unknown."""
    row = session.get(DashboardToken, token_id)
    if row is None:
        return None
    if row.revoked_at is None:
        row.revoked_at = now
    return _view(row)


def token_site(session: Session, token: str) -> int | None:
    """The site a live token reads; None for an unknown, malformed or revoked one."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 128:
        return None
    digest = _hash(token)
    row = session.execute(
        select(DashboardToken.token_hash, DashboardToken.site_id, DashboardToken.revoked_at).where(
            DashboardToken.token_hash == digest
        )
    ).first()
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        return None
    return None if row.revoked_at is not None else int(row.site_id)


# --- the board -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KrFigures:
    """One active KR's numbers, as its panel shows them."""

    key: str
    title: str
    progress: float
    score: float
    status: str
    value: float | None
    target: float | None
    baseline: float | None
    unit: str
    confidence: float | None


@dataclass(frozen=True, slots=True)
class ObjectiveFigures:
    """An active objective of an open cycle: its progress and its active KRs."""

    team: str
    cycle: str
    key: str
    title: str
    progress: float
    krs: tuple[KrFigures, ...]


@dataclass(frozen=True, slots=True)
class KpiFigures:
    """A team's KPI: its value and whether it is inside its healthy range."""

    team: str
    key: str
    title: str
    value: float | None
    healthy: bool
    healthy_min: float | None
    healthy_max: float | None
    unit: str


@dataclass(frozen=True, slots=True)
class Board:
    objectives: tuple[ObjectiveFigures, ...]
    kpis: tuple[KpiFigures, ...]


def _latest_confidence() -> ScalarSelect[float | None]:
    """A KR's latest check-in confidence (index `ix_check_ins_kr_at`, read newest first)."""
    return (
        select(CheckIn.confidence)
        .where(CheckIn.kr_id == KeyResult.id, CheckIn.confidence.is_not(None))
        .order_by(CheckIn.at.desc(), CheckIn.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def load_board(
    session: Session,
    site_id: int,
    *,
    team: str | None = None,
    teams: Collection[str] | None = None,
) -> Board:
    """The site's board (of one team, or of some teams, when given): two statements, any
    number of teams. Objectives and KPIs come team by team, in the order of the team's key."""
    closed = (
        select(CycleClose.id)
        .where(
            CycleClose.site_id == Objective.site_id,
            CycleClose.team_id == Objective.team_id,
            CycleClose.cycle_id == Objective.cycle_id,
        )
        .exists()
    )
    query = (
        select(
            Team.key.label("team"),
            Cycle.name.label("cycle"),
            Objective.id.label("objective_id"),
            Objective.key.label("objective"),
            Objective.title.label("objective_title"),
            KeyResult.key.label("kr"),
            KeyResult.title.label("title"),
            KeyResult.state.label("state"),
            KeyResult.progress,
            KeyResult.score,
            KeyResult.status,
            KeyResult.current,
            KeyResult.target,
            KeyResult.baseline,
            KeyResult.unit,
            KeyResult.weight,
            _latest_confidence().label("confidence"),
        )
        .select_from(Objective)
        .join(Team, Team.id == Objective.team_id)
        .join(Cycle, Cycle.id == Objective.cycle_id)
        .outerjoin(KeyResult, KeyResult.objective_id == Objective.id)
        .where(Objective.site_id == site_id, Objective.state == "active", ~closed)
        .order_by(
            Team.key,
            Cycle.start,
            Cycle.name,
            Objective.position,
            Objective.key,
            KeyResult.position,
            KeyResult.key,
        )
    )
    kpi_query = (
        select(
            Team.key,
            Kpi.key,
            Kpi.title,
            Kpi.current,
            Kpi.health,
            Kpi.healthy_min,
            Kpi.healthy_max,
            Kpi.unit,
        )
        .select_from(Kpi)
        .join(Team, Team.id == Kpi.team_id)
        .where(Kpi.site_id == site_id)
        .order_by(Team.key, Kpi.position, Kpi.key)
    )
    if team is not None:
        query = query.where(Team.key == team)
        kpi_query = kpi_query.where(Team.key == team)
    if teams is not None:
        query = query.where(Team.key.in_(teams))
        kpi_query = kpi_query.where(Team.key.in_(teams))
    # Plain tuples from the connection: the ORM's per-row work would cost more than the query.
    connection = session.connection()
    grouped: dict[int, tuple[tuple[str, str, str, str], list[tuple[Any, ...]]]] = {}
    for row in connection.execute(query):
        (team_key, cycle, objective_id, objective, objective_title, kr, *rest) = row
        entry = grouped.setdefault(
            objective_id, ((team_key, cycle, objective, objective_title), [])
        )
        if kr is not None:
            entry[1].append((kr, *rest))
    objectives = tuple(
        ObjectiveFigures(
            team=team_key,
            cycle=cycle,
            key=objective,
            title=objective_title,
            # The panel's roll-up, over the same KRs (abandoned ones leave it).
            progress=objective_progress((kr[3], kr[10], kr[2] == ACTIVE) for kr in krs),
            krs=tuple(
                KrFigures(
                    key=key,
                    title=title,
                    progress=progress,
                    score=score,
                    status=status,
                    value=current,
                    target=target,
                    baseline=baseline,
                    unit=unit or "",
                    confidence=confidence,
                )
                for (
                    key,
                    title,
                    state,
                    progress,
                    score,
                    status,
                    current,
                    target,
                    baseline,
                    unit,
                    _weight,
                    confidence,
                ) in krs
                if state == ACTIVE
            ),
        )
        for (team_key, cycle, objective, objective_title), krs in grouped.values()
    )
    kpis = tuple(
        KpiFigures(
            team=team_key,
            key=key,
            title=title,
            value=current,
            healthy=health == "healthy",
            healthy_min=healthy_min,
            healthy_max=healthy_max,
            unit=unit or "",
        )
        for team_key, key, title, current, health, healthy_min, healthy_max, unit in (
            connection.execute(kpi_query)
        )
    )
    return Board(objectives=objectives, kpis=kpis)


@dataclass(frozen=True, slots=True)
class TeamVersion:
    """A team of the site and a value that moves whenever anything of its board moves."""

    team_id: int
    key: str
    version: tuple[Any, ...]


@functools.cache
def _team_versions_statement() -> Select[Any]:
    site_id = bindparam("site_id", type_=Integer)
    krs = (
        select(
            Objective.team_id.label("team_id"),
            func.count(KeyResult.id).label("krs"),
            func.sum(KeyResult.version).label("kr_versions"),
            func.max(KeyResult.updated_at).label("kr_updated"),
        )
        .select_from(KeyResult)
        .join(Objective, Objective.id == KeyResult.objective_id)
        .where(KeyResult.site_id == site_id)
        .group_by(Objective.team_id)
        .subquery("kr_parts")
    )
    objectives = (
        select(Objective.team_id.label("team_id"), func.count(Objective.id).label("objectives"))
        .where(Objective.site_id == site_id, Objective.state == ACTIVE)
        .group_by(Objective.team_id)
        .subquery("objective_parts")
    )
    kpis = (
        select(
            Kpi.team_id.label("team_id"),
            func.count(Kpi.id).label("kpis"),
            func.sum(Kpi.version).label("kpi_versions"),
            func.max(Kpi.updated_at).label("kpi_updated"),
        )
        .where(Kpi.site_id == site_id)
        .group_by(Kpi.team_id)
        .subquery("kpi_parts")
    )
    closes = (
        select(CycleClose.team_id.label("team_id"), func.count(CycleClose.id).label("closes"))
        .where(CycleClose.site_id == site_id)
        .group_by(CycleClose.team_id)
        .subquery("close_parts")
    )
    query = (
        select(
            Team.id,
            Team.key,
            krs.c.krs,
            krs.c.kr_versions,
            krs.c.kr_updated,
            objectives.c.objectives,
            kpis.c.kpis,
            kpis.c.kpi_versions,
            kpis.c.kpi_updated,
            closes.c.closes,
        )
        .outerjoin(krs, krs.c.team_id == Team.id)
        .outerjoin(objectives, objectives.c.team_id == Team.id)
        .outerjoin(kpis, kpis.c.team_id == Team.id)
        .outerjoin(closes, closes.c.team_id == Team.id)
        .where(Team.site_id == site_id)
        .order_by(Team.key)
    )
    return query


@functools.lru_cache(maxsize=8)
def _compiled_team_versions(dialect: Dialect) -> SQLCompiler:
    compiled = _team_versions_statement().compile(dialect=dialect)
    assert isinstance(compiled, SQLCompiler)  # a SELECT compiles with the SQL compiler
    return compiled


def team_versions(session: Session, site_id: int) -> list[TeamVersion]:
    """Every team of the site with its board's version, in the board's team order (one
    statement, four grouped scans of the site's rows, however many teams changed).

    Why per team: a scrape after a change re-reads and re-writes only the teams whose version
    moved (`connect/api/metrics.Pages`). A KR's change bumps its `version` and `updated_at`
    (check-ins, snapshots, edits, abandon, close; objective edits bump their KRs'), a KPI's
    value or definition its own; the counts of KRs, active objectives, KPIs and closed cycles
    move when one comes, goes, is abandoned or closed. The database is asked on every scrape,
    so a change made by another process shows on the next scrape of any process.

    It runs on every scrape, so its statement is built and compiled once per dialect and run
    as the driver's SQL, its values left as the driver gives them (they are only compared):
    SQLAlchemy's statement building and the parsing of SQLite's timestamps cost more than the
    query itself.
    """
    connection = session.connection()
    compiled = _compiled_team_versions(connection.dialect)
    values = compiled.construct_params({"site_id": site_id})
    assert values is not None  # None only for a compiled DDL statement
    positions = compiled.positiontup
    args = tuple(values[name] for name in positions) if positions else values
    rows = connection.exec_driver_sql(compiled.string, args).all()
    return [TeamVersion(int(team_id), key, tuple(parts)) for team_id, key, *parts in rows]
