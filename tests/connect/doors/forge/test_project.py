"""The Jira project page through the Forge door: the same forms as the Connect page, sent by the
shell through the bridge, saved by the same code; FIT, CSRF and site protect every one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import responses
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from connect.services import services_of
from sync.db.model import KeyResult, MonthlyScore
from tests.support.app import ACCOUNT, install, signed_url
from tests.support.forge import (
    LIFECYCLE_MODULE,
    STRANGER_KEY,
    UI_MODULE,
    fit,
    fit_claims,
    forge_headers,
    installed_event,
)
from tests.support.ui import form_values, parse, the_form

PAGE = "/forge/project/page"
FORMS = "/forge/project/forms"
CYCLE = "2026-Q4"
PRINCIPAL = fit_claims()["principal"]
GLOBEX = {
    "installation": "ari:cloud:ecosystem::installation/5b1c1d6e-0000-4000-8000-00000000beef",
    "cloud_id": "7f1f6b5e-2c1d-4a55-9f0e-0c0ffee00002",
    "site_url": "https://globex.atlassian.net",
}
KR_FIELDS = {
    "title": "Cut p99 from 900 to 300 ms",
    "baseline": "900",
    "target": "300",
    "owner": "SRE lead",
}


def headers(**claims: Any) -> dict[str, str]:
    """A Custom UI call's headers (the project page module's FIT)."""
    return forge_headers(fit(fit_claims(**{"module": UI_MODULE, **claims})))


@pytest.fixture
def forge_site(client: FlaskClient, forge_keys: responses.RequestsMock) -> dict[str, str]:
    """A Jira site installed through the Forge door only; the headers of its admin API."""
    installed = client.post(
        "/forge/lifecycle", json=installed_event(), headers=headers(module=LIFECYCLE_MODULE)
    )
    assert installed.status_code == 200, installed.json
    return {"X-Okrlink-Site": "https://acme.atlassian.net"}


def open_page(client: FlaskClient, *, claims: dict[str, str] | None = None, **body: str) -> str:
    response = client.post(
        PAGE, json={"team": "PLAT", "cycle": CYCLE, **body}, headers=headers(**(claims or {}))
    )
    assert response.status_code == 200, response.json
    assert response.json["status"] == 200
    return str(response.json["html"])


def shell_post(
    html: str, name: str, target: str = "", /, locale: str = "en", **fields: str
) -> dict[str, Any]:
    """What the shell sends for the form: its action's parameters, its `data-form`, its fields
    as they stand with `fields` typed in, its CSRF token apart, and the reader's locale."""
    form = the_form(html, name, target)
    action = urlsplit(form.attrs["action"])
    assert action.path == FORMS
    values = {**form_values(form), **fields}
    csrf = values.pop("csrf_token")
    return {
        **dict(parse_qsl(action.query)),
        "form": form.attrs["data-form"],
        "fields": values,
        "csrf": csrf,
        "locale": locale,
    }


def submit(
    client: FlaskClient,
    html: str,
    name: str,
    target: str = "",
    /,
    claims: dict[str, str] | None = None,
    locale: str = "en",
    **fields: str,
) -> TestResponse:
    body = shell_post(html, name, target, locale=locale, **fields)
    return client.post(FORMS, json=body, headers=headers(**(claims or {})))


def saved(response: TestResponse) -> str:
    assert response.status_code == 200, response.json
    assert response.json["status"] == 200
    return str(response.json["html"])


def write_okrs(client: FlaskClient) -> str:
    """PLAT-1 with one KR, PLAT-1.1, written through the Forge page; the page after."""
    page = saved(submit(client, open_page(client), "new-objective", title="Reliability"))
    return saved(submit(client, page, "new-key-result", "PLAT-1", **KR_FIELDS))


def okrs_of(html: str) -> list[tuple[str, str]]:
    root = parse(html)
    return [
        (n.attrs["data-objective"], n.find("h2").text) for n in root.find_all(data_objective=True)
    ] + [
        (n.attrs["data-kr"], n.find(class_="kt").text + n.attrs.get("data-progress", ""))
        for n in root.find_all(data_kr=True)
    ]


# --- the page and its forms -----------------------------------------------------------------


def test_the_forge_project_page_has_the_connect_pages_forms_and_no_script(
    app: Flask, client: FlaskClient, forge_site: dict[str, str]
) -> None:
    install(app, client_key="jira:globex", base_url="https://globex.atlassian.net")
    connect = client.get(
        signed_url(
            "/jira/project-page", {"projectKey": "PLAT", "cycle": CYCLE}, client_key="jira:globex"
        )
    )
    empty = open_page(client)
    assert (
        [f.attrs["data-form"] for f in parse(empty).find_all("form")]
        == [f.attrs["data-form"] for f in parse(connect.text).find_all("form")]
        == ["new-kpi", "new-cycle", "new-objective"]
    )
    assert "<script" not in empty
    page = write_okrs(client)
    forms = {f.attrs["data-form"] for f in parse(page).find_all("form")}
    assert forms == {
        "new-objective",
        "edit-objective",
        "new-key-result",
        "abandon-objective",
        "edit-key-result",
        "abandon-key-result",
        "check-in",
        "close-cycle",
        "new-kpi",
        "new-cycle",
    }
    assert all(f.attrs["action"].startswith(FORMS + "?") for f in parse(page).find_all("form"))
    tabs = {a.attrs["data-tab"]: a.attrs["href"] for a in parse(page).find_all("a", data_tab=True)}
    assert tabs == {"review": f"{PAGE}?team=PLAT&cycle={CYCLE}&view=review"}
    assert parse(page).find("a", data_kr_link=True).attrs["href"] == f"{PAGE}?team=PLAT&kr=PLAT-1.1"


def test_writing_through_the_forge_page_saves_and_coaches_beside_the_field(
    client: FlaskClient, forge_site: dict[str, str]
) -> None:
    page = saved(
        submit(
            client,
            open_page(client, locale="fr"),
            "new-objective",
            locale="fr",
            title="Faire grandir la communauté",
        )
    )
    answer = submit(
        client,
        page,
        "new-key-result",
        "PLAT-1",
        locale="fr",
        title="Créer cinq pages web",
        baseline="0",
        target="5",
    )
    page = saved(answer)
    assert answer.json["saved"] == "PLAT-1.1"
    form = the_form(page, "edit-key-result", "PLAT-1.1")
    notes = {n.attrs["data-practice"]: n.text for n in form.find_all(data_practice=True)}
    assert set(notes) == {"task-not-outcome", "no-owner"}
    assert "se lit comme une tâche" in notes["task-not-outcome"]
    assert parse(page).find("html").attrs["lang"] == "fr"


def test_a_kr_is_edited_checked_in_on_and_abandoned_with_its_reason(
    client: FlaskClient, forge_site: dict[str, str]
) -> None:
    page = write_okrs(client)
    page = saved(submit(client, page, "edit-key-result", "PLAT-1.1", target="250"))
    assert parse(page).find(data_kr="PLAT-1.1").find(class_="kt")
    page = saved(submit(client, page, "check-in", "PLAT-1.1", value="575", what="Cache rolled"))
    assert parse(page).find(data_kr="PLAT-1.1").attrs["data-progress"] == "0.50"
    kr_page = client.post(PAGE, json={"team": "PLAT", "kr": "PLAT-1.1"}, headers=headers())
    assert kr_page.status_code == 200
    shown = parse(kr_page.json["html"])
    assert shown.find(data_what=True).text == "Cache rolled"
    change = shown.find(data_change="update").find(data_field="target")
    assert change.text == "target: 300.0 → 250.0"
    # No Jira answers for this site: the author's account reads "Unknown user", never its id.
    assert "by Unknown user" in shown.find(data_check_ins=True).text
    assert PRINCIPAL not in shown.find(data_check_ins=True).text
    page = saved(
        submit(
            client,
            page,
            "abandon-key-result",
            "PLAT-1.1",
            abandon_reason="Latency moved to the edge team",
        )
    )
    kr = parse(page).find(data_kr="PLAT-1.1")
    assert kr.attrs["data-state"] == "abandoned"
    assert "Latency moved to the edge team" in kr.text


def test_a_kpi_is_created_and_edited_through_the_forge_page_and_the_strip_follows(
    client: FlaskClient, forge_site: dict[str, str]
) -> None:
    page = saved(
        submit(
            client,
            open_page(client),
            "new-kpi",
            key="PLAT-K1",
            title="Change failure rate",
            kind="metric",
            current="9",
            unit="%",
            healthy_max="15",
        )
    )
    kpi = parse(page).find(data_kpi="PLAT-K1")
    assert (kpi.attrs["data-health"], kpi.attrs["data-value"]) == ("healthy", "9.0")
    page = saved(submit(client, page, "edit-kpi", "PLAT-K1", healthy_max="8"))
    assert parse(page).find(data_kpi="PLAT-K1").attrs["data-health"] == "breached"
    refused = submit(client, page, "edit-kpi", "PLAT-K1", healthy_min="20", healthy_max="10")
    assert refused.status_code == 422
    assert refused.json["error"]["field"] == "healthy_min"


def test_the_review_tab_is_served_through_the_forge_page(
    client: FlaskClient, forge_site: dict[str, str]
) -> None:
    write_okrs(client)
    review = parse(open_page(client, view="review"))
    assert review.find(data_view="review")
    assert review.find("a", data_tab="okrs").attrs["href"] == f"{PAGE}?team=PLAT&cycle={CYCLE}"


def test_the_author_is_the_fits_principal(
    client: FlaskClient, admin: dict[str, str], forge_site: dict[str, str]
) -> None:
    page = write_okrs(client)
    saved(submit(client, page, "edit-key-result", "PLAT-1.1", target="250"))
    changes = client.get(
        "/api/v1/key-results/PLAT-1.1/changes", headers={**admin, **forge_site}
    ).json["changes"]
    assert [c["author"] for c in changes] == [PRINCIPAL, PRINCIPAL]


# --- every form: a bad value, a forged token, another site's key ----------------------------

BAD_VALUES: dict[str, tuple[str, dict[str, str], str]] = {
    "new-objective": ("", {"title": " "}, "title"),
    "edit-objective": ("PLAT-1", {"title": ""}, "title"),
    "abandon-objective": ("PLAT-1", {"abandon_reason": " "}, "abandon_reason"),
    "new-key-result": ("PLAT-1", {**KR_FIELDS, "target": "fast"}, "target"),
    "edit-key-result": ("PLAT-1.1", {"baseline": "lots"}, "baseline"),
    "abandon-key-result": ("PLAT-1.1", {"abandon_reason": ""}, "abandon_reason"),
    "check-in": ("PLAT-1.1", {"confidence": "7"}, "confidence"),
    "close-cycle": ("", {"score:PLAT-1.1": "0.9"}, "reason:PLAT-1.1"),
}


@pytest.mark.parametrize("name", sorted(BAD_VALUES))
def test_a_bad_value_is_422_with_the_field_beside_it_and_saves_nothing(
    client: FlaskClient, forge_site: dict[str, str], name: str
) -> None:
    page = write_okrs(client)
    target, fields, field = BAD_VALUES[name]
    before = okrs_of(open_page(client))
    refused = submit(client, page, name, target, **fields)
    assert refused.status_code == 422, refused.json
    assert refused.json["status"] == 422
    assert refused.json["error"]["field"] == field
    assert refused.json["errors"][field]
    form = the_form(refused.json["html"], name, target)
    if name != "check-in":  # the check-in's own page marks its error by its id
        assert form.find(data_error=field).text == refused.json["errors"][field]
    else:
        assert form.find("input", name=field).attrs["aria-invalid"] == "true"
    assert okrs_of(open_page(client)) == before


@pytest.mark.parametrize("name", sorted(BAD_VALUES))
def test_a_forged_csrf_token_is_403_and_changes_nothing(
    client: FlaskClient, forge_site: dict[str, str], name: str
) -> None:
    page = write_okrs(client)
    target = BAD_VALUES[name][0]
    before = okrs_of(open_page(client))
    body = shell_post(page, name, target, title="Forged", abandon_reason="Forged", value="900")
    for csrf in ("forged", body["csrf"][:-2] + "xx", None):
        answer = client.post(FORMS, json={**body, "csrf": csrf}, headers=headers())
        assert answer.status_code == 403, answer.json
        assert answer.json["error"]["code"] == "csrf"
    assert okrs_of(open_page(client)) == before


def test_a_csrf_token_of_another_user_is_403(
    client: FlaskClient, forge_site: dict[str, str]
) -> None:
    page = write_okrs(client)
    body = shell_post(page, "edit-key-result", "PLAT-1.1", title="Someone else's")
    claims = {**fit_claims(module=UI_MODULE), "principal": "557058:another-user"}
    answer = client.post(FORMS, json=body, headers=forge_headers(fit(claims)))
    assert answer.status_code == 403


@pytest.mark.parametrize("name", sorted(set(BAD_VALUES) - {"new-objective"}))
def test_a_key_of_another_site_is_404_and_changes_nothing_there(
    client: FlaskClient, forge_site: dict[str, str], name: str
) -> None:
    page = write_okrs(client)
    before = okrs_of(open_page(client))
    globex = open_page(client, claims=GLOBEX)  # another site, its own forms and token
    body = shell_post(
        globex, "new-objective", title="Hijacked", abandon_reason="Hijacked", value="900"
    )
    ours = shell_post(page, name, BAD_VALUES[name][0])
    body["form"] = ours["form"]
    body["fields"] = {**ours["fields"], "title": "Hijacked", "abandon_reason": "Hijacked"}
    answer = client.post(FORMS, json=body, headers=headers(**GLOBEX))
    assert answer.status_code == 404, answer.json
    assert okrs_of(open_page(client)) == before
    kr_page = client.post(PAGE, json={"team": "PLAT", "kr": "PLAT-1.1"}, headers=headers(**GLOBEX))
    assert kr_page.status_code == 404


def test_a_closed_cycle_is_409(client: FlaskClient, forge_site: dict[str, str]) -> None:
    page = write_okrs(client)
    closing = shell_post(page, "close-cycle", learned="Drills pay")
    closed = client.post(FORMS, json=closing, headers=headers())
    assert closed.status_code == 200, closed.json
    assert parse(closed.json["html"]).find(data_closed=True)
    body = shell_post(page, "edit-key-result", "PLAT-1.1", target="1")
    again = client.post(FORMS, json=body, headers=headers())
    assert again.status_code == 409
    assert again.json["error"]["code"] == "cycle_closed"


BAD_FITS: dict[str, Callable[[], str]] = {
    "expired": lambda: fit(fit_claims(lifetime=-3600)),
    "signed by another key": lambda: fit(key=STRANGER_KEY),
    "unsigned": lambda: fit(algorithm="none"),
}


@pytest.mark.parametrize("name", sorted(BAD_VALUES))
def test_a_forged_fit_is_401_and_changes_nothing(
    client: FlaskClient, forge_site: dict[str, str], name: str
) -> None:
    page = write_okrs(client)
    before = okrs_of(open_page(client))
    body = shell_post(page, name, BAD_VALUES[name][0], title="Forged", abandon_reason="Forged")
    for bad in BAD_FITS.values():
        answer = client.post(FORMS, json=body, headers=forge_headers(bad()))
        assert answer.status_code == 401, answer.json
        assert (
            client.post(PAGE, json={"team": "PLAT"}, headers=forge_headers(bad())).status_code
            == 401
        )
    assert okrs_of(open_page(client)) == before


def test_a_malformed_call_is_refused_with_its_field(
    client: FlaskClient, forge_site: dict[str, str]
) -> None:
    page = open_page(client)
    body = shell_post(page, "new-objective", title="Reliability")
    for changed, status, field in (
        ({"form": "delete-everything"}, 422, "form"),
        ({"team": "PLAT; DROP"}, 422, "team"),
        ({"fields": {"title": 7}}, 422, "title"),
        ({"fields": ["title"]}, 400, None),
    ):
        answer = client.post(FORMS, json={**body, **changed}, headers=headers())
        assert answer.status_code == status, (changed, answer.json)
        assert answer.json["error"]["field"] == field
    assert not parse(open_page(client)).find_all(data_objective=True)


# --- the same post stores the same through either door -----------------------------------


def _connect_page(client: FlaskClient) -> str:
    response = client.get(
        signed_url(
            "/jira/project-page", {"projectKey": "PLAT", "cycle": CYCLE}, client_key="jira:globex"
        )
    )
    assert response.status_code == 200
    return response.text


def _connect_submit(
    client: FlaskClient, html: str, name: str, target: str = "", /, **fields: str
) -> str:
    form = the_form(html, name, target)
    response = client.post(form.attrs["action"], data={**form_values(form), **fields})
    assert response.status_code == 303, response.text
    return client.get(response.headers["Location"]).text


STEPS: list[tuple[str, str, dict[str, str]]] = [
    ("new-objective", "", {"title": "Reliability", "parent": "ACME-9"}),
    ("new-key-result", "PLAT-1", {**KR_FIELDS, "issues": "PLAT-12, PLAT-40"}),
    ("new-key-result", "PLAT-1", {"title": "Create five web pages", "target": "5"}),
    ("edit-key-result", "PLAT-1.1", {"target": "250", "weight": "2"}),
    ("edit-objective", "PLAT-1", {"title": "A reliable platform", "parent": ""}),
    ("check-in", "PLAT-1.1", {"value": "575", "confidence": "0.6", "risks": "Vendor\nFreeze"}),
    ("abandon-key-result", "PLAT-1.2", {"abandon_reason": "Moved to the web team"}),
]


def _stored(client: FlaskClient, headers: dict[str, str]) -> dict[str, Any]:
    """What the site stores for PLAT: its OKR file, and each KR's check-ins and changes (the
    author named as the door's user, ids and times left out)."""

    def plain(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            {k: v for k, v in row.items() if k not in ("id", "at", "created_at")} for row in rows
        ]

    stored: dict[str, Any] = {"file": client.get("/api/v1/export?team=PLAT", headers=headers).text}
    for kr in ("PLAT-1.1", "PLAT-1.2"):
        for what in ("check-ins", "changes"):
            answer = client.get(f"/api/v1/key-results/{kr}/{what}", headers=headers).json
            stored[f"{kr} {what}"] = plain(answer[what.replace("-", "_")])
    return stored


def test_the_same_posts_store_the_same_through_either_door(
    app: Flask, client: FlaskClient, admin: dict[str, str], forge_site: dict[str, str]
) -> None:
    install(app, client_key="jira:globex", base_url="https://globex.atlassian.net")
    forge, connect = open_page(client), _connect_page(client)
    for name, target, fields in STEPS:
        forge = saved(submit(client, forge, name, target, **fields))
        connect = _connect_submit(client, connect, name, target, **fields)
    through_forge = _stored(client, {**admin, **forge_site})
    through_connect = _stored(client, {**admin, "X-Okrlink-Site": "jira:globex"})
    assert through_forge["file"].count("key: PLAT-1.") == 2
    assert through_forge["PLAT-1.1 check-ins"][0]["author"] == PRINCIPAL
    assert through_connect["PLAT-1.1 check-ins"][0]["author"] == ACCOUNT
    text = str(through_connect).replace(ACCOUNT, PRINCIPAL)
    assert str(through_forge) == text


# --- the month's score on the review tab -----------------------------------------------------


def monthly_stored(app: Flask) -> list[tuple[str, str, float, str, str | None]]:
    with services_of(app).store.session() as session:
        rows = session.execute(
            select(
                KeyResult.key,
                MonthlyScore.month,
                MonthlyScore.score,
                MonthlyScore.reason,
                MonthlyScore.author,
            ).join(KeyResult, KeyResult.id == MonthlyScore.kr_id)
        ).all()
        return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]


def test_the_review_tab_asks_for_the_months_score_through_the_forge_door(
    app: Flask, client: FlaskClient, forge_site: dict[str, str]
) -> None:
    write_okrs(client)
    review = open_page(client, view="review")
    form = the_form(review, "monthly-score", "PLAT-1.1")
    assert urlsplit(form.attrs["action"]).path == FORMS
    assert "0.7 is a good stretch result" in form.text
    answer = submit(
        client, review, "monthly-score", "PLAT-1.1", score="0.3", reason="Rethink the cache plan"
    )
    page = parse(saved(answer))
    assert answer.json["saved"] == "PLAT-1.1"
    assert page.find("main").attrs["data-view"] == "review"
    assert page.find("li", data_kr="PLAT-1.1").find(data_monthly_given="0.30")
    assert page.find(data_monthly_missing="0")
    assert monthly_stored(app) == [
        ("PLAT-1.1", "2026-11", 0.3, "Rethink the cache plan", PRINCIPAL)
    ]


def test_a_refused_monthly_score_through_the_forge_door_saves_nothing(
    app: Flask, client: FlaskClient, forge_site: dict[str, str]
) -> None:
    write_okrs(client)
    review = open_page(client, view="review")
    answer = submit(client, review, "monthly-score", "PLAT-1.1", score="7", reason="Great")
    assert answer.status_code == 422
    assert answer.json["error"]["field"] == "score"
    assert answer.json["error"]["code"] == "invalid"
    assert answer.json["errors"] == {"score": "Enter a score between 0 and 1."}
    shown = the_form(answer.json["html"], "monthly-score", "PLAT-1.1")
    assert shown.find("input", name="score").attrs["aria-invalid"] == "true"
    assert monthly_stored(app) == []


def test_a_cycle_and_its_why_are_written_through_the_forge_page_too(
    client: FlaskClient, forge_site: dict[str, str]
) -> None:
    page = saved(submit(client, open_page(client), "new-cycle", name="2027-01"))
    assert parse(page).find("main").attrs["data-cycle"] == "2027-01"
    page = saved(
        submit(client, page, "new-objective", title="Calm releases", description="Fewer pages")
    )
    assert parse(page).find(data_objective="PLAT-1").find(data_why=True).text == "Fewer pages"
    refused = submit(client, page, "new-cycle", name="2027-Q1")
    assert refused.json["status"] == 422
    assert refused.json["error"]["code"] == "invalid"
    assert refused.json["error"]["field"] == "start"
