"""`GET /api/v1/metrics`: one site's OKRs and KPIs for dashboards, in the Prometheus text format.

Who may read it: a dashboard token of the site (`okrlink dashboards token create`), sent as
`Authorization: Bearer okd_…`; nothing else (not the admin token, not a Connect JWT), and the
token reads its own site and nothing more. Without one, or with a revoked one: 401.

The series are those of the issue that asked for them, labelled by `team`, `cycle`,
`objective`, `kr` or `kpi` (never by a person). Values are the panels' (`sync.dashboards`).
A scrape that asks for OpenMetrics (`Accept: application/openmetrics-text`, as Prometheus
does) gets OpenMetrics 1.0.0; anything else gets the Prometheus text format 0.0.4. The text is
what prometheus_client writes for `BoardCollector` (a collector over the board in a registry of
its own), byte for byte, but written by `exposition`: the client's encoder was measured too
slow for the goal (see there; `bench/dashboards.py` times a scrape of 50 teams x 15 KRs).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from flask import Blueprint, Response, g, request
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString
from sqlalchemy.orm import Session

from connect.errors import AuthError
from connect.services import services
from connect.ui.viewmodel import STATUSES
from sync.dashboards import (
    TOKEN_PREFIX,
    Board,
    KpiFigures,
    ObjectiveFigures,
    TeamVersion,
    load_board,
    team_versions,
    token_site,
)

blueprint = Blueprint("api_metrics", __name__, url_prefix="/api/v1")

OBJECTIVE_LABELS = ("team", "cycle", "objective")
KR_LABELS = (*OBJECTIVE_LABELS, "kr")
KPI_LABELS = ("team", "kpi")

SERIES: dict[str, str] = {
    "okrlink_kr_progress": "Progress of an active key result, 0 to 1.",
    "okrlink_kr_score": "Score of an active key result, 0 to 1 (0.7 is a good stretch result).",
    "okrlink_kr_value": "Current value of an active key result, in its unit.",
    "okrlink_kr_target": "Target of an active key result, in its unit.",
    "okrlink_kr_baseline": "Baseline of an active key result, in its unit.",
    "okrlink_kr_confidence": "Confidence of the latest check-in that gave one, 0 to 1.",
    "okrlink_kr_status": "1 for the key result's current status, 0 for the others.",
    "okrlink_objective_progress": "Progress of an objective: its active key results' mean.",
    "okrlink_kpi_value": "Current value of a team's KPI, in its unit.",
    "okrlink_kpi_healthy": "1 when the KPI is inside its healthy range, 0 when breached.",
    "okrlink_kpi_healthy_min": "Lower end of the KPI's healthy range.",
    "okrlink_kpi_healthy_max": "Upper end of the KPI's healthy range.",
}
"""Every series the endpoint serves, and its help text (the shipped dashboards name only these)."""


class BoardCollector(Collector):
    """The board as prometheus_client gauge families; a series without a value (no target
    yet) is left out. The reference `exposition` is held to, byte for byte."""

    def __init__(self, board: Board) -> None:
        self.board = board

    def collect(self) -> Iterator[Metric]:
        def family(name: str, labels: tuple[str, ...]) -> GaugeMetricFamily:
            return GaugeMetricFamily(name, SERIES[name], labels=labels)

        objective = family("okrlink_objective_progress", OBJECTIVE_LABELS)
        progress = family("okrlink_kr_progress", KR_LABELS)
        score = family("okrlink_kr_score", KR_LABELS)
        value = family("okrlink_kr_value", KR_LABELS)
        target = family("okrlink_kr_target", KR_LABELS)
        baseline = family("okrlink_kr_baseline", KR_LABELS)
        confidence = family("okrlink_kr_confidence", KR_LABELS)
        status = family("okrlink_kr_status", (*KR_LABELS, "status"))
        for o in self.board.objectives:
            objective.add_metric((o.team, o.cycle, o.key), o.progress)
            for kr in o.krs:
                labels = (o.team, o.cycle, o.key, kr.key)
                progress.add_metric(labels, kr.progress)
                score.add_metric(labels, kr.score)
                for family_of, number in (
                    (value, kr.value),
                    (target, kr.target),
                    (baseline, kr.baseline),
                    (confidence, kr.confidence),
                ):
                    if number is not None:
                        family_of.add_metric(labels, number)
                for name in STATUSES:
                    status.add_metric((*labels, name), 1.0 if kr.status == name else 0.0)
        kpi_value = family("okrlink_kpi_value", KPI_LABELS)
        healthy = family("okrlink_kpi_healthy", KPI_LABELS)
        healthy_min = family("okrlink_kpi_healthy_min", KPI_LABELS)
        healthy_max = family("okrlink_kpi_healthy_max", KPI_LABELS)
        for k in self.board.kpis:
            kpi = (k.team, k.key)
            healthy.add_metric(kpi, 1.0 if k.healthy else 0.0)
            for family_of, number in (
                (kpi_value, k.value),
                (healthy_min, k.healthy_min),
                (healthy_max, k.healthy_max),
            ):
                if number is not None:
                    family_of.add_metric(kpi, number)
        yield from (
            progress,
            score,
            value,
            target,
            baseline,
            confidence,
            status,
            objective,
            kpi_value,
            healthy,
            healthy_min,
            healthy_max,
        )


TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"
_KR_SERIES = tuple(name for name in SERIES if name.startswith("okrlink_kr_"))
_KPI_SERIES = tuple(name for name in SERIES if name.startswith("okrlink_kpi_"))
_ORDER = (*_KR_SERIES, "okrlink_objective_progress", *_KPI_SERIES)
_HEADERS = tuple(f"# HELP {name} {SERIES[name]}\n# TYPE {name} gauge\n" for name in _ORDER)


def _label(value: str) -> str:
    """A label value as the text formats quote it (prometheus_client's own escaping)."""
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


Chunk = tuple[str, ...]
"""Some teams' lines of each series, in `_ORDER`: the page is the chunks joined series by series."""


def exposition(board: Board, *, openmetrics: bool = False) -> bytes:
    """The board in the Prometheus text format 0.0.4 (or OpenMetrics 1.0.0): byte for byte
    what prometheus_client's `generate_latest` writes for `BoardCollector` (a test holds it
    to that), written directly.

    Why not through prometheus_client: its encoder validates and escapes every label of every
    sample: for 50 teams x 15 KRs (7,300 samples) it took 238-539 ms alone, and the scrape
    served that way 635 ms, against a goal of 50 ms (2026-12-07, a shared 2-core machine at a
    load average of 7-11). Here each KR's labels are quoted once and its nine samples share
    them: 8-22 ms for the same text on the same machine. `bench/dashboards.py` prints both.
    """
    return assemble([chunk(board.objectives, board.kpis)], openmetrics=openmetrics)


def chunk(objectives: Iterable[ObjectiveFigures], kpis: Iterable[KpiFigures]) -> Chunk:
    """The lines of each series for these objectives and KPIs (one team's, or a whole board's,
    in the board's order): the same text whichever format the page is asked in."""
    numbers: dict[float, str] = {}

    def number(value: float) -> str:
        found = numbers.get(value)
        if found is None:
            found = numbers[value] = floatToGoString(value)
        return found

    lines: dict[str, list[str]] = {name: [] for name in SERIES}
    objective_lines = lines["okrlink_objective_progress"]
    progress, score, value = (
        lines["okrlink_kr_progress"],
        lines["okrlink_kr_score"],
        lines["okrlink_kr_value"],
    )
    target, baseline, confidence = (
        lines["okrlink_kr_target"],
        lines["okrlink_kr_baseline"],
        lines["okrlink_kr_confidence"],
    )
    status = lines["okrlink_kr_status"]
    for o in objectives:
        cycle, objective, team = _label(o.cycle), _label(o.key), _label(o.team)
        objective_lines.append(
            f'okrlink_objective_progress{{cycle="{cycle}",objective="{objective}",'
            f'team="{team}"}} {number(o.progress)}\n'
        )
        for kr in o.krs:
            head = f'{{cycle="{cycle}",kr="{_label(kr.key)}",objective="{objective}"'
            labels = f'{head},team="{team}"}} '
            progress.append(f"okrlink_kr_progress{labels}{number(kr.progress)}\n")
            score.append(f"okrlink_kr_score{labels}{number(kr.score)}\n")
            for series, name, figure in (
                (value, "okrlink_kr_value", kr.value),
                (target, "okrlink_kr_target", kr.target),
                (baseline, "okrlink_kr_baseline", kr.baseline),
                (confidence, "okrlink_kr_confidence", kr.confidence),
            ):
                if figure is not None:
                    series.append(f"{name}{labels}{number(figure)}\n")
            for name in STATUSES:
                one = "1.0" if kr.status == name else "0.0"
                status.append(f'okrlink_kr_status{head},status="{name}",team="{team}"}} {one}\n')
    for k in kpis:
        labels = f'{{kpi="{_label(k.key)}",team="{_label(k.team)}"}} '
        lines["okrlink_kpi_healthy"].append(
            f"okrlink_kpi_healthy{labels}{'1.0' if k.healthy else '0.0'}\n"
        )
        for name, figure in (
            ("okrlink_kpi_value", k.value),
            ("okrlink_kpi_healthy_min", k.healthy_min),
            ("okrlink_kpi_healthy_max", k.healthy_max),
        ):
            if figure is not None:
                lines[name].append(f"{name}{labels}{number(figure)}\n")
    return tuple("".join(lines[name]) for name in _ORDER)


def assemble(chunks: Sequence[Chunk], *, openmetrics: bool) -> bytes:
    """The page: each series' help and type, then its lines from every chunk in turn."""
    parts: list[str] = []
    for index, header in enumerate(_HEADERS):
        parts.append(header)
        parts.extend(c[index] for c in chunks)
    if openmetrics:
        parts.append("# EOF\n")
    return "".join(parts).encode("utf-8")


def wants_openmetrics(accept: str) -> bool:
    """Whether the scraper lists OpenMetrics among what it takes (Prometheus does first)."""
    return any(
        part.split(";")[0].strip() == "application/openmetrics-text" for part in accept.split(",")
    )


def dashboard_token() -> str | None:
    """The bearer token of the request when it is a dashboard token's shape, else None."""
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header.startswith("Bearer ") else ""
    return token if token.startswith(TOKEN_PREFIX) else None


def dashboard_token_site(token: str) -> int | None:
    """The site a live dashboard token reads; None when unknown or revoked."""
    with services().store.session() as session:
        return token_site(session, token)


@blueprint.before_request
def authenticate_dashboard() -> None:
    token = dashboard_token()
    if token is None:
        raise AuthError(
            "send `Authorization: Bearer <dashboard token>` "
            "(okrlink dashboards token create --site SITE)",
            code="dashboard_token_required",
        )
    site_id = dashboard_token_site(token)
    if site_id is None:
        raise AuthError("unknown or revoked dashboard token", code="dashboard_token_invalid")
    g.site_id = site_id


class Pages:
    """The text of each team's part of the page, kept with the team's version, and the last
    page served per (site, format), kept with every team's version it was made at.

    Why: the goal is a scrape of 50 teams x 15 KRs in under 50 ms, also right after a change;
    reading and writing the whole site took 60-124 ms. A change touches one team: one
    statement (`team_versions`, asked on every scrape, so a change committed by any process
    shows on the next scrape) says which teams moved, and only those are read (two
    statements) and written again; the other teams' parts are reused as they are. With
    nothing moved, the page made last is served as it is. Per process; at most `LIMIT` pages
    and `TEAM_LIMIT` team parts are kept (all are dropped when full).
    """

    LIMIT = 256
    TEAM_LIMIT = 20_000

    def __init__(self) -> None:
        self._pages: dict[tuple[int, bool], tuple[list[TeamVersion], bytes]] = {}
        self._chunks: dict[tuple[int, int], tuple[tuple[Any, ...], Chunk]] = {}
        self._lock = threading.Lock()

    def page(self, site_id: int, *, openmetrics: bool) -> bytes:
        with services().store.session() as session:
            teams = team_versions(session, site_id)
            kept = self._pages.get((site_id, openmetrics))
            if kept is not None and kept[0] == teams:
                return kept[1]
            chunks = self._chunks_of(session, site_id, teams)
        text = assemble(chunks, openmetrics=openmetrics)
        with self._lock:
            if len(self._pages) >= self.LIMIT:
                self._pages.clear()
            self._pages[(site_id, openmetrics)] = (teams, text)
        return text

    def _chunks_of(self, session: Session, site_id: int, teams: list[TeamVersion]) -> list[Chunk]:
        """Every team's part, written again only for the teams whose version moved.

        A part is kept with the version read before its rows (in the same transaction, and
        later statements never see older data), so a part is never older than its version: a
        change that lands in between is read again on the next scrape, never missed.
        """
        found: dict[int, Chunk] = {}
        moved: list[TeamVersion] = []
        for team in teams:
            kept = self._chunks.get((site_id, team.team_id))
            if kept is not None and kept[0] == team.version:
                found[team.team_id] = kept[1]
            else:
                moved.append(team)
        if moved:
            # Most teams moved (a first scrape): read the whole site rather than list them.
            keys = None if 2 * len(moved) > len(teams) else [team.key for team in moved]
            board = load_board(session, site_id, teams=keys)
            objectives: dict[str, list[ObjectiveFigures]] = {}
            kpis: dict[str, list[KpiFigures]] = {}
            for objective in board.objectives:
                objectives.setdefault(objective.team, []).append(objective)
            for kpi in board.kpis:
                kpis.setdefault(kpi.team, []).append(kpi)
            fresh = {
                team.team_id: chunk(objectives.get(team.key, ()), kpis.get(team.key, ()))
                for team in moved
            }
            found.update(fresh)
            with self._lock:
                if len(self._chunks) + len(fresh) > self.TEAM_LIMIT:
                    self._chunks.clear()
                for team in moved:
                    self._chunks[(site_id, team.team_id)] = (team.version, fresh[team.team_id])
        return [found[team.team_id] for team in teams]


@blueprint.get("/metrics")
def okr_metrics() -> Response:
    """The site's OKRs and KPIs as gauges; read-only, nothing is written."""
    openmetrics = wants_openmetrics(request.headers.get("Accept", ""))
    response = Response(
        services().api_metric_pages.page(g.site_id, openmetrics=openmetrics),
        content_type=OPENMETRICS_CONTENT_TYPE if openmetrics else TEXT_CONTENT_TYPE,
    )
    response.headers["Cache-Control"] = "no-store"
    return response
