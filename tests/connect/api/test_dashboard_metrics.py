"""`GET /api/v1/metrics`: a site's OKRs for Grafana and Datadog, read with a dashboard token.

Parsed with prometheus_client's own parsers and checked value by value against the panel
(its view model, and the page it renders); refusals (401 without a live token, 403 for a
dashboard token anywhere else) store nothing; one site's token never shows another's KRs.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as openmetrics_latest
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import event, func, select

from connect.api.metrics import SERIES, BoardCollector, exposition
from connect.app import create_app
from connect.services import services_of
from connect.settings import Settings
from connect.ui.panels import PanelQuery, load_panel
from connect.ui.viewmodel import STATUSES, PanelView
from sync.dashboards import (
    Board,
    KpiFigures,
    KrFigures,
    ObjectiveFigures,
    create_token,
    load_board,
    revoke_token,
)
from sync.db.model import CheckIn, DashboardToken, Objective
from sync.db.store import local_site
from tests.support.app import (
    CLIENT_KEY,
    MACRO_PARAMS,
    PANEL,
    PANEL_NOW,
    panel_site,
    signed_url,
)
from tests.support.base import ADMIN_TOKEN
from tests.support.digest import import_team

METRICS = "/api/v1/metrics"
CYCLE = "2026-Q4"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
def site(app: Flask) -> int:
    """The example's team PLAT (2026-Q4, KPIs too) on an installed Atlassian site."""
    return panel_site(app)


def token_for(app: Flask, site_id: int, name: str = "grafana") -> str:
    services = services_of(app)
    with services.store.session() as session:
        _view, token = create_token(session, site_id, name=name, now=PANEL_NOW)
    return token


def scrape(client: FlaskClient, token: str) -> Samples:
    """Every sample of a scrape, by (name, labels), parsed by prometheus_client's parser."""
    response = client.get(METRICS, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    assert response.content_type.startswith("text/plain; version=0.0.4")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        assert family.type == "gauge"
        for sample in family.samples:
            key = (sample.name, frozenset(sample.labels.items()))
            assert key not in samples, key
            samples[key] = sample.value
    return samples


def kr_labels(o: str, kr: str, team: str = "PLAT", cycle: str = CYCLE) -> dict[str, str]:
    return {"team": team, "cycle": cycle, "objective": o, "kr": kr}


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def panel_view(app: Flask, site_id: int) -> PanelView:
    with services_of(app).store.session() as session:
        view = load_panel(
            session, site_id, PanelQuery(team="PLAT", cycle=CYCLE), today=date.today()
        )
    assert view is not None
    return view


def shown_progress(client: FlaskClient) -> dict[str, str]:
    """`data-progress` of each KR as the Confluence panel renders it."""
    page = client.get(signed_url(PANEL, {**MACRO_PARAMS, "cycle": CYCLE}))
    assert page.status_code == 200
    return dict(re.findall(r'data-kr="([^"]+)" data-progress="([^"]+)"', page.text))


def admin_on(site_client_key: str = CLIENT_KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_TOKEN}", "X-Okrlink-Site": site_client_key}


def record_numbers(client: FlaskClient) -> None:
    """Check-ins (values, a status, confidences) and a metric KPI out of its healthy range."""
    for key, body in (
        ("PLAT-1.1", {"value": 99.7, "confidence": 0.4}),
        ("PLAT-1.2", {"value": 1.1, "status": "at_risk"}),
        ("PLAT-2.2", {"value": 7.0, "confidence": 0.9}),
        ("PLAT-2.2", {"value": 7.2}),  # no confidence: the latest one given still counts
    ):
        answer = client.post(f"/api/v1/key-results/{key}/check-ins", headers=admin_on(), json=body)
        assert answer.status_code == 201, answer.json
    kpi = {
        "team": "PLAT",
        "key": "PLAT-K2",
        "title": "Support tickets a week",
        "healthy": {"min": 0, "max": 40},
    }
    made = client.post("/api/v1/kpis", headers=admin_on(), json=kpi)
    assert made.status_code == 201, made.json
    measured = client.post("/api/v1/kpis/PLAT-K2/values", headers=admin_on(), json={"value": 55})
    assert measured.status_code == 201, measured.json


# --- the values ----------------------------------------------------------------------------


def test_a_check_in_moves_the_next_scrape_to_what_the_panel_shows(
    app: Flask, client: FlaskClient, site: int
) -> None:
    token = token_for(app, site)
    before = scrape(client, token)
    labels = kr_labels("PLAT-1", "PLAT-1.1")
    assert value(before, "okrlink_kr_progress", **labels) == 0.0
    checked = client.post(
        "/api/v1/key-results/PLAT-1.1/check-ins",
        headers=admin_on(),
        json={"value": 99.8, "confidence": 0.6, "what": "Second region live"},
    )
    assert checked.status_code == 201, checked.json
    after = scrape(client, token)
    view = panel_view(app, site)
    kr = next(k for o in view.objectives for k in o.krs if k.key == "PLAT-1.1")
    assert kr.progress > 0.5
    assert value(after, "okrlink_kr_progress", **labels) == kr.progress
    assert (
        shown_progress(client)["PLAT-1.1"] == f"{value(after, 'okrlink_kr_progress', **labels):.2f}"
    )
    assert value(after, "okrlink_kr_value", **labels) == 99.8
    assert value(after, "okrlink_kr_confidence", **labels) == 0.6


def test_every_series_equals_the_panels_view_model(
    app: Flask, client: FlaskClient, site: int
) -> None:
    record_numbers(client)
    samples = scrape(client, token_for(app, site))
    view = panel_view(app, site)
    seen = 0
    for objective in view.objectives:
        assert value(
            samples,
            "okrlink_objective_progress",
            team="PLAT",
            cycle=CYCLE,
            objective=objective.key,
        ) == pytest.approx(objective.progress, abs=0)
        for kr in objective.krs:
            labels = kr_labels(objective.key, kr.key)
            confidence = kr.confidence[-1][1] if kr.confidence else None
            for name, expected in (
                ("okrlink_kr_progress", kr.progress),
                ("okrlink_kr_score", kr.score),
                ("okrlink_kr_value", kr.current),
                ("okrlink_kr_target", kr.target),
                ("okrlink_kr_baseline", kr.baseline),
                ("okrlink_kr_confidence", confidence),
            ):
                assert value(samples, name, **labels) == expected, (name, kr.key)
                seen += 1
            statuses = {
                s: value(samples, "okrlink_kr_status", **labels, status=s) for s in STATUSES
            }
            assert statuses == {s: float(s == kr.status) for s in STATUSES}
    assert seen == 6 * 8
    assert value(samples, "okrlink_kr_confidence", **kr_labels("PLAT-2", "PLAT-2.2")) == 0.9
    assert value(samples, "okrlink_kr_status", **kr_labels("PLAT-1", "PLAT-1.2"), status="at_risk")
    for kpi in view.kpis:
        where = {"team": "PLAT", "kpi": kpi.key}
        assert value(samples, "okrlink_kpi_value", **where) == kpi.value
        assert value(samples, "okrlink_kpi_healthy", **where) == float(not kpi.breached)
        assert value(samples, "okrlink_kpi_healthy_min", **where) == kpi.healthy_min
        assert value(samples, "okrlink_kpi_healthy_max", **where) == kpi.healthy_max
    assert [k.key for k in view.kpis] == ["PLAT-K1", "PLAT-K2"]
    assert value(samples, "okrlink_kpi_healthy", team="PLAT", kpi="PLAT-K2") == 0.0
    assert value(samples, "okrlink_kpi_value", team="PLAT", kpi="PLAT-K2") == 55.0


def test_only_documented_series_and_no_person_in_any_label(
    app: Flask, client: FlaskClient, site: int
) -> None:
    record_numbers(client)
    samples = scrape(client, token_for(app, site))
    assert {name for name, _ in samples} == set(SERIES)
    allowed = {"team", "cycle", "objective", "kr", "kpi", "status"}
    owners = {"SRE lead", "Release manager", "Platform tech lead", "Owner"}
    for _name, labels in samples:
        assert {k for k, _ in labels} <= allowed
        assert not {v for _, v in labels} & owners


def test_abandoned_krs_and_closed_cycles_drop_out(
    app: Flask, client: FlaskClient, site: int
) -> None:
    token = token_for(app, site)
    abandoned = client.post(
        "/api/v1/key-results/PLAT-1.2/abandon", headers=admin_on(), json={"reason": "Superseded"}
    )
    assert abandoned.status_code == 200, abandoned.json
    samples = scrape(client, token)
    assert {dict(labels).get("kr") for _, labels in samples} >= {"PLAT-1.1", "PLAT-1.3"}
    assert "PLAT-1.2" not in {dict(labels).get("kr") for _, labels in samples}
    view = panel_view(app, site)
    assert value(
        samples, "okrlink_objective_progress", team="PLAT", cycle=CYCLE, objective="PLAT-1"
    ) == next(o.progress for o in view.objectives if o.key == "PLAT-1")
    closed = client.post(f"/api/v1/cycles/{CYCLE}/close?team=PLAT", headers=admin_on(), json={})
    assert closed.status_code == 200, closed.json
    after = scrape(client, token)
    # The team's KPIs are the team's, not the cycle's: they stay.
    assert {name for name, _ in after} == {"okrlink_kpi_healthy", "okrlink_kpi_healthy_max"}


def test_openmetrics_when_the_scraper_asks_for_it(
    app: Flask, client: FlaskClient, site: int
) -> None:
    record_numbers(client)
    response = client.get(
        METRICS,
        headers={
            "Authorization": f"Bearer {token_for(app, site)}",
            "Accept": "application/openmetrics-text; version=1.0.0",
        },
    )
    assert response.status_code == 200
    assert response.content_type.startswith("application/openmetrics-text")
    assert response.text.endswith("# EOF\n")
    families = {f.name: f for f in openmetrics_families(response.text)}
    assert set(families) == set(SERIES)
    progress = {s.labels["kr"]: s.value for s in families["okrlink_kr_progress"].samples}
    assert progress == {
        kr.key: kr.progress for o in panel_view(app, site).objectives for kr in o.krs
    }


# --- who may read it -----------------------------------------------------------------------


def _stored_tokens(app: Flask) -> int:
    with services_of(app).store.session() as session:
        return session.scalar(select(func.count()).select_from(DashboardToken)) or 0


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "dashboard_token_required"),
        ({"Authorization": "Basic Z3JhZmFuYTpzZWNyZXQ="}, "dashboard_token_required"),
        ({"Authorization": f"Bearer {ADMIN_TOKEN}"}, "dashboard_token_required"),
        (
            {"Authorization": "Bearer okd_forged-token-that-was-never-made"},
            "dashboard_token_invalid",
        ),
    ],
)
def test_a_scrape_without_a_live_token_is_401(
    app: Flask, client: FlaskClient, site: int, headers: dict[str, str], code: str
) -> None:
    token_for(app, site)
    stored = _stored_tokens(app)
    response = client.get(METRICS, headers=headers)
    assert response.status_code == 401
    assert response.json["error"]["code"] == code
    assert "okrlink_" not in response.text
    assert _stored_tokens(app) == stored


def test_a_connect_jwt_does_not_read_the_metrics(
    app: Flask, client: FlaskClient, site: int
) -> None:
    response = client.get(signed_url(METRICS, context=True))
    assert response.status_code == 401
    assert response.json["error"]["code"] == "dashboard_token_required"


def test_a_revoked_token_is_refused_at_once(app: Flask, client: FlaskClient, site: int) -> None:
    services = services_of(app)
    with services.store.session() as session:
        made, token = create_token(session, site, name="grafana", now=PANEL_NOW)
    assert scrape(client, token)
    with services.store.session() as session:
        assert revoke_token(session, made.id, now=PANEL_NOW) is not None
    response = client.get(METRICS, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json["error"]["code"] == "dashboard_token_invalid"


def test_only_the_tokens_hash_is_stored(app: Flask, site: int) -> None:
    token = token_for(app, site)
    assert token.startswith("okd_") and len(token) >= 40
    with services_of(app).store.session() as session:
        row = session.scalars(select(DashboardToken)).one()
        stored = (row.name, row.token_hash, row.hint)
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in stored
    assert row.hint == token[:12] + "…"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/api/v1/key-results", None),
        ("get", "/api/v1/kpis", None),
        ("post", "/api/v1/objectives", {"team": "PLAT", "cycle": CYCLE, "title": "Sneak in"}),
        ("post", "/api/v1/key-results/PLAT-1.1/check-ins", {"value": 99.99}),
        ("post", "/api/v1/key-results/PLAT-2.1/poll", None),
    ],
)
def test_a_dashboard_token_grants_nothing_else(
    app: Flask,
    client: FlaskClient,
    site: int,
    method: str,
    path: str,
    body: dict[str, object] | None,
) -> None:
    token = token_for(app, site)

    def counts() -> tuple[int, int]:
        with services_of(app).store.session() as session:
            objectives = session.scalar(select(func.count()).select_from(Objective)) or 0
            check_ins = session.scalar(select(func.count()).select_from(CheckIn)) or 0
        return objectives, check_ins

    before = counts()
    response = getattr(client, method)(
        path, headers={"Authorization": f"Bearer {token}", "X-Okrlink-Site": CLIENT_KEY}, json=body
    )
    assert response.status_code == 403
    assert response.json["error"]["code"] == "dashboard_token_read_only"
    assert counts() == before
    ops = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert ops.status_code == 401  # the service's own metrics are the operators'


def test_a_token_reads_its_own_site_only(app: Flask, client: FlaskClient, site: int) -> None:
    with services_of(app).store.session() as session:
        other = local_site(session).id
        import_team(session, other, now=PANEL_NOW, team="OPS")
    mine, theirs = token_for(app, site), token_for(app, other)
    acme = scrape(client, mine)
    local = scrape(client, theirs)
    assert {dict(labels)["team"] for _, labels in acme} == {"PLAT"}
    assert {dict(labels)["team"] for _, labels in local} == {"OPS"}
    assert not {dict(labels).get("kr") for _, labels in acme} & {
        dict(labels).get("kr") for _, labels in local
    } - {None}
    # The site header of the admin API changes nothing for a dashboard token.
    response = client.get(
        METRICS, headers={"Authorization": f"Bearer {theirs}", "X-Okrlink-Site": CLIENT_KEY}
    )
    assert "PLAT-1.1" not in response.text and "OPS-1.1" in response.text


# --- the text, byte for byte ---------------------------------------------------------------


def odd_board() -> Board:
    """Keys with quotes, backslashes, newlines and accents; numbers Go formats its own way."""
    krs = (
        KrFigures('Q"1\\a\nb', "t", 0.123456789, 1e-7, "at_risk", 1234567.0, None, 0.0, "%", 0.6),
        KrFigures("Réseau-1", "t", 1.0, 0.7, "off_track", -3.5, 12.0, 1e21, "", None),
    )
    return Board(
        objectives=(
            ObjectiveFigures('É"q', "2026-Q4", "O\\1", "t", 1 / 3, krs),
            ObjectiveFigures("PLAT", "2027-Q1", "PLAT-9", "t", 0.0, ()),
        ),
        kpis=(
            KpiFigures("PLAT", "K\n1", "t", float("inf"), False, None, 2.0, ""),
            KpiFigures("PLAT", "K2", "t", None, True, -1.0, None, ""),
        ),
    )


@pytest.mark.parametrize("board", [odd_board(), Board((), ())], ids=["odd", "empty"])
def test_the_text_is_prometheus_clients_own_byte_for_byte(board: Board) -> None:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(BoardCollector(board))
    assert exposition(board) == generate_latest(registry)
    assert exposition(board, openmetrics=True) == openmetrics_latest(registry)


# --- the page kept between changes ---------------------------------------------------------


def test_an_unchanged_board_is_served_without_reading_it_again(
    app: Flask, client: FlaskClient, site: int
) -> None:
    token = token_for(app, site)
    engine = services_of(app).store.engine
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", count)
    try:
        first = client.get(METRICS, headers={"Authorization": f"Bearer {token}"})
        made = len(statements)
        second = client.get(METRICS, headers={"Authorization": f"Bearer {token}"})
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert first.data == second.data
    assert len(statements) - made == 2  # the token, the teams' versions
    assert made - 2 >= 2  # the first scrape also read the board


@pytest.mark.parametrize(
    ("path", "body", "series"),
    [
        ("/api/v1/kpis/PLAT-K2/values", {"value": 12}, "okrlink_kpi_value"),
        ("/api/v1/kpis/PLAT-K2", {"healthy": {"min": 0, "max": 10}}, "okrlink_kpi_healthy_max"),
        ("/api/v1/key-results/PLAT-2.2/check-ins", {"confidence": 0.3}, "okrlink_kr_confidence"),
    ],
)
def test_every_kind_of_change_reaches_the_next_scrape(
    app: Flask, client: FlaskClient, site: int, path: str, body: dict[str, object], series: str
) -> None:
    record_numbers(client)
    token = token_for(app, site)
    before = scrape(client, token)
    method = client.patch if path.count("/") == 4 else client.post
    answer = method(path, headers=admin_on(), json=body)
    assert answer.status_code in (200, 201), answer.json
    after = scrape(client, token)
    changed = {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}
    assert series in {name for name, _ in changed}, changed


# --- each team's part kept, made again when the team moves ---------------------------------


def fresh_page(app: Flask, site_id: int) -> bytes:
    """The page as it would be made from nothing: the whole board read now, written whole."""
    with services_of(app).store.session() as session:
        return exposition(load_board(session, site_id))


def served(client: FlaskClient, token: str) -> bytes:
    response = client.get(METRICS, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    return response.data


def test_a_change_in_one_team_makes_that_teams_part_again_and_no_other(
    app: Flask, client: FlaskClient, site: int
) -> None:
    with services_of(app).store.session() as session:
        import_team(session, site, now=PANEL_NOW, team="OPS")
    token = token_for(app, site)
    before = scrape(client, token)
    assert value(before, "okrlink_kr_progress", **kr_labels("OPS-1", "OPS-1.1", "OPS")) == 0.1
    checked = client.post(
        "/api/v1/key-results/PLAT-1.1/check-ins", headers=admin_on(), json={"value": 99.8}
    )
    assert checked.status_code == 201, checked.json
    engine = services_of(app).store.engine
    statements: list[tuple[str, list[object]]] = []

    def record(*args: object) -> None:
        parameters = args[3]
        values = parameters.values() if isinstance(parameters, dict) else parameters
        statements.append((str(args[2]), list(values or ())))  # type: ignore[call-overload]

    event.listen(engine, "before_cursor_execute", record)
    try:
        page = served(client, token)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    # The token, the teams' versions, then PLAT's objectives and KPIs only.
    assert len(statements) == 4, [sql for sql, _ in statements]
    bound = [parameter for _sql, parameters in statements for parameter in parameters]
    assert "PLAT" in bound and "OPS" not in bound
    assert page == fresh_page(app, site)
    after = scrape(client, token)
    labels = kr_labels("PLAT-1", "PLAT-1.1")
    shown = next(
        kr for o in panel_view(app, site).objectives for kr in o.krs if kr.key == "PLAT-1.1"
    )
    assert value(after, "okrlink_kr_progress", **labels) == pytest.approx(shown.progress)
    assert value(after, "okrlink_kr_progress", **labels) != value(
        before, "okrlink_kr_progress", **labels
    )
    ops = {key: number for key, number in before.items() if ("team", "OPS") in key[1]}
    assert ops and all(after[key] == number for key, number in ops.items())


def test_kept_parts_never_cross_sites_and_a_change_elsewhere_shows_at_once(
    app: Flask, client: FlaskClient, site: int, settings: Settings
) -> None:
    # Another site with a team of the same key and KRs of the same keys.
    with services_of(app).store.session() as session:
        other = local_site(session).id
        import_team(session, other, now=PANEL_NOW, team="PLAT")
    mine, theirs = token_for(app, site), token_for(app, other)
    their_page = served(client, theirs)
    assert served(client, mine) == fresh_page(app, site)
    assert their_page == fresh_page(app, other)
    assert their_page != fresh_page(app, site)
    # Another process (its own engine and its own kept parts) records a check-in.
    elsewhere = create_app(settings)
    elsewhere.config["TESTING"] = True
    try:
        checked = elsewhere.test_client().post(
            "/api/v1/key-results/PLAT-1.1/check-ins", headers=admin_on(), json={"value": 99.9}
        )
        assert checked.status_code == 201, checked.json
    finally:
        services_of(elsewhere).store.dispose()
    mine_now = served(client, mine)
    assert mine_now == fresh_page(app, site)
    assert 'kr="PLAT-1.1",objective="PLAT-1",team="PLAT"} 0.0\n' not in mine_now.decode()
    assert served(client, theirs) == their_page == fresh_page(app, other)
