"""Creating and editing a team's KPIs on the Jira project page: the same fields, rules and
stored result as the OKR file and `/api/v1/kpis`, practice notes beside the field they concern,
errors beside bad values, and the health strip and the Confluence panel showing the result."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from connect.services import services_of
from sync.core.practice import check_kpi
from sync.core.spec import KpiSpec
from tests.support.app import (
    ACCOUNT,
    CLIENT_KEY,
    MACRO_PARAMS,
    PANEL,
    install,
    panel_site,
    signed_url,
)
from tests.support.base import FakeClock
from tests.support.ui import Node, field_names, follow, parse, submit, the_form

PAGE = "/jira/project-page"
OTHER_KEY, OTHER_SECRET = "jira:globex-client-key", "another-shared-secret-of-32-characters-xyz"
CFR = {
    "key": "PLAT-K1",
    "title": "Change failure rate",
    "kind": "metric",
    "current": "9",
    "unit": "%",
    "healthy_max": "15",
    "drop_alert": "20",
}
KPI_FIELDS = [
    "title",
    "kind",
    "measure",
    "current",
    "unit",
    "healthy_min",
    "healthy_max",
    "drop_alert",
    "owner",
    "jql",
    "jql_field",
    "repository",
    "environment",
    "window_days",
    "incident_jql",
    "incident_window_hours",
]


@pytest.fixture
def site(app: Flask) -> int:
    return install(app)


def open_page(client: FlaskClient, **params: str) -> str:
    response = client.get(signed_url(PAGE, {"projectKey": "PLAT", "cycle": "2026-Q4", **params}))
    assert response.status_code == 200, response.text
    return response.text


def strip(html: str) -> dict[str, tuple[str, str]]:
    """The health strip: KPI key -> (health, value)."""
    return {
        n.attrs["data-kpi"]: (n.attrs["data-health"], n.attrs["data-value"])
        for n in parse(html).find_all(data_kpi=True)
    }


def beside(form: Node, note: Node) -> str:
    """The name of the control in the same field block (`div.f`) as `note`."""
    for block in form.find_all("div"):
        if "f" in block.attrs.get("class", "").split() and note in list(block.iter()):
            return next(n for n in block.iter() if n.tag in {"input", "select"}).attrs["name"]
    raise AssertionError("note outside any field")


def api_kpis(client: FlaskClient, admin: dict[str, str]) -> dict[str, dict[str, Any]]:
    headers = {**admin, "X-Okrlink-Site": CLIENT_KEY}
    return {k["key"]: k for k in client.get("/api/v1/kpis", headers=headers).json["kpis"]}


def test_a_team_creates_a_kpi_on_the_project_page_and_the_strip_shows_it(
    client: FlaskClient, site: int
) -> None:
    page = open_page(client)
    assert not strip(page)
    assert field_names(the_form(page, "new-kpi")) == ["key", *KPI_FIELDS]
    page = follow(client, submit(client, page, "new-kpi", **CFR))
    assert strip(page) == {"PLAT-K1": ("healthy", "9.0")}
    assert field_names(the_form(page, "edit-kpi", "PLAT-K1")) == KPI_FIELDS
    row = parse(page).find(data_kpi_row="PLAT-K1")
    assert row.find(data_kpi_health="healthy")
    assert "Change failure rate" in row.text


def test_an_empty_key_takes_the_teams_next_one(client: FlaskClient, site: int) -> None:
    page = follow(client, submit(client, open_page(client), "new-kpi", **CFR))
    page = follow(
        client,
        submit(
            client,
            page,
            "new-kpi",
            title="Availability",
            unit="%",
            healthy_min="99.5",
            healthy_max="100",
        ),
    )
    assert set(strip(page)) == {"PLAT-K1", "PLAT-K2"}


def test_an_edit_moves_the_health_and_is_kept_in_the_kpis_history(
    client: FlaskClient, site: int, clock: FakeClock
) -> None:
    page = follow(client, submit(client, open_page(client), "new-kpi", **CFR))
    clock.current += timedelta(days=1)
    page = follow(
        client,
        submit(
            client,
            page,
            "edit-kpi",
            "PLAT-K1",
            healthy_max="8",
            title="Change failure rate (production)",
        ),
    )
    assert strip(page) == {"PLAT-K1": ("breached", "9.0")}
    form = the_form(page, "edit-kpi", "PLAT-K1")
    assert form.find("input", name="healthy_max").attrs["value"] == "8"
    history = parse(page).find(data_kpi_history="PLAT-K1")
    events = [(li.attrs["data-event"], li.text) for li in history.find_all("li")]
    assert [what for what, _ in events] == ["value", "changed", "value", "created"]
    assert "breached" in events[0][1] and "healthy" in events[2][1]
    assert "healthy_max, title" in events[1][1]


def test_each_definition_change_keeps_its_author_and_fields(
    app: Flask, client: FlaskClient, site: int
) -> None:
    from sync.history import kpi_changes_of

    page = follow(client, submit(client, open_page(client), "new-kpi", **CFR))
    follow(client, submit(client, page, "edit-kpi", "PLAT-K1", healthy_max="12"))
    follow(client, submit(client, page, "edit-kpi", "PLAT-K1", healthy_max="12"))  # no change
    with services_of(app).store.session() as session:
        changes = kpi_changes_of(session, site, "PLAT-K1")
        seen = [(c.action, c.author, c.before, c.after) for c in changes]
    assert [action for action, *_ in seen] == ["create", "update"]
    assert seen[1] == ("update", ACCOUNT, {"healthy_max": 15.0}, {"healthy_max": 12.0})


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_a_kpi_without_a_range_or_owned_by_a_person_saves_with_the_findings_beside_the_fields(
    client: FlaskClient, site: int, lang: str
) -> None:
    fields = {**CFR, "healthy_max": "", "drop_alert": "", "owner": "jane.doe@example.com"}
    page = follow(client, submit(client, open_page(client, lang=lang), "new-kpi", **fields))
    assert strip(page) == {"PLAT-K1": ("healthy", "9.0")}
    form = the_form(page, "edit-kpi", "PLAT-K1")
    assert parse(page).find(data_kpi_row="PLAT-K1").find("details").attrs.get("open") is not None
    notes = {n.attrs["data-practice"]: n for n in form.find_all(data_practice=True)}
    assert set(notes) == {"kpi-no-range", "kpi-person-owner"}
    assert beside(form, notes["kpi-no-range"]) == "healthy_min"
    assert beside(form, notes["kpi-person-owner"]) == "owner"
    spec = KpiSpec(key="PLAT-K1", title="Change failure rate", owner="jane.doe@example.com")
    said = {f.code: f.message for f in check_kpi(spec)}  # what `okrlink check` says
    for code, note in notes.items():
        if lang == "en":
            assert note.text == said[code]
        else:
            assert note.text != said[code] and "KPI PLAT-K1" in note.text
    if lang == "fr":
        assert "n’a pas de plage saine" in notes["kpi-no-range"].text
    page = follow(
        client, submit(client, page, "edit-kpi", "PLAT-K1", owner="Platform team", healthy_max="15")
    )
    assert not the_form(page, "edit-kpi", "PLAT-K1").find_all(data_practice=True)


@pytest.mark.parametrize(
    ("fields", "name", "message"),
    [
        ({"healthy_min": "lots"}, "healthy_min", "Enter a number."),
        (
            {"healthy_min": "20", "healthy_max": "10"},
            "healthy_min",
            "The healthy minimum is above the maximum: swap them.",
        ),
        ({"kind": "vibes"}, "kind", "Choose metric, jql or github."),
        (
            {"kind": "github", "measure": "happiness"},
            "measure",
            "Choose the measure of a github KPI.",
        ),
        ({"kind": "jql", "jql": ""}, "jql", "Give the JQL query whose count it tracks."),
        ({"drop_alert": "0"}, "drop_alert", "Give 1 to 100 (% of the healthy range)."),
        ({"window_days": "a month"}, "window_days", "Enter a number."),
        ({"title": " "}, "title", "This field is required."),
    ],
)
def test_a_bad_value_saves_nothing_and_is_shown_beside_its_field_with_the_values_kept(
    client: FlaskClient,
    site: int,
    admin: dict[str, str],
    fields: dict[str, str],
    name: str,
    message: str,
) -> None:
    response = submit(client, open_page(client), "new-kpi", **{**CFR, **fields})
    assert response.status_code == 422
    form = the_form(response.text, "new-kpi")
    assert form.find(data_error=name).text == message
    control = next(n for n in form.iter() if n.attrs.get("name") == name)
    assert control.attrs.get("aria-invalid") == "true"
    kept = {**CFR, **fields}
    assert form.find("input", name="title").attrs["value"] == kept["title"]
    assert form.find("input", name="unit").attrs["value"] == "%"
    assert api_kpis(client, admin) == {}


def test_a_bad_edit_changes_nothing_and_keeps_what_was_typed(
    client: FlaskClient, site: int, admin: dict[str, str]
) -> None:
    page = follow(client, submit(client, open_page(client), "new-kpi", **CFR))
    before = api_kpis(client, admin)
    response = submit(
        client, page, "edit-kpi", "PLAT-K1", title="Renamed", healthy_min="20", healthy_max="10"
    )
    assert response.status_code == 422
    form = the_form(response.text, "edit-kpi", "PLAT-K1")
    assert form.find(data_error="healthy_min").text
    assert form.find("input", name="title").attrs["value"] == "Renamed"
    assert form.find("input", name="healthy_min").attrs["value"] == "20"
    assert api_kpis(client, admin) == before


def test_a_taken_key_is_refused_beside_the_key_field(client: FlaskClient, site: int) -> None:
    page = follow(client, submit(client, open_page(client), "new-kpi", **CFR))
    response = submit(client, page, "new-kpi", **{**CFR, "title": "Another"})
    assert response.status_code == 422
    assert the_form(response.text, "new-kpi").find(data_error="key").text == (
        "This key is taken: choose another or leave it empty."
    )


@pytest.mark.parametrize("name", ["new-kpi", "edit-kpi"])
def test_a_forged_csrf_token_is_refused_and_changes_nothing(
    client: FlaskClient, site: int, admin: dict[str, str], name: str
) -> None:
    page = follow(client, submit(client, open_page(client), "new-kpi", **CFR))
    before = api_kpis(client, admin)
    target = "PLAT-K1" if name == "edit-kpi" else ""
    fields = {"key": "PLAT-K9"} if name == "new-kpi" else {}
    response = submit(client, page, name, target, csrf_token="forged", title="Forged", **fields)
    assert response.status_code == 403
    assert api_kpis(client, admin) == before


def test_a_token_of_another_site_finds_no_kpi_of_this_site(
    app: Flask, client: FlaskClient, site: int, admin: dict[str, str]
) -> None:
    follow(client, submit(client, open_page(client), "new-kpi", **CFR))
    before = api_kpis(client, admin)
    install(app, client_key=OTHER_KEY, base_url="https://globex.atlassian.net", secret=OTHER_SECRET)
    other = client.get(
        signed_url(
            PAGE,
            {"projectKey": "PLAT", "cycle": "2026-Q4"},
            client_key=OTHER_KEY,
            secret=OTHER_SECRET,
        )
    )
    assert not strip(other.text)
    form = the_form(other.text, "new-kpi")
    csrf = form.find("input", name="csrf_token").attrs["value"]
    response = client.post(
        form.attrs["action"],
        data={
            "csrf_token": csrf,
            "form": "edit-kpi",
            "kpi": "PLAT-K1",
            "title": "Hijacked",
            "kind": "metric",
        },
    )
    assert response.status_code == 404
    assert api_kpis(client, admin) == before


def test_the_page_stores_what_the_api_stores_for_the_same_values(
    client: FlaskClient, site: int, admin: dict[str, str]
) -> None:
    form = {
        "title": "Change failure rate",
        "kind": "github",
        "measure": "change_failure_rate",
        "unit": "%",
        "healthy_min": "",
        "healthy_max": "15",
        "drop_alert": "20",
        "owner": "Platform team",
        "repository": "acme/api",
        "environment": "production",
        "window_days": "28",
        "incident_jql": "project = OPS AND type = Incident",
        "incident_window_hours": "48",
    }
    follow(client, submit(client, open_page(client), "new-kpi", key="PLAT-K1", **form))
    as_json = {
        "title": "Change failure rate",
        "kind": "github",
        "measure": "change_failure_rate",
        "unit": "%",
        "healthy": {"max": 15},
        "drop_alert": 20,
        "owner": "Platform team",
        "repository": "acme/api",
        "environment": "production",
        "window_days": 28,
        "incident_jql": "project = OPS AND type = Incident",
        "incident_window_hours": 48,
    }
    headers = {**admin, "X-Okrlink-Site": CLIENT_KEY}
    created = client.post(
        "/api/v1/kpis", json={**as_json, "team": "PLAT", "key": "PLAT-K2"}, headers=headers
    )
    assert created.status_code == 201, created.json
    stored = api_kpis(client, admin)
    from_page, from_api = (
        {name: value for name, value in stored[key].items() if name != "key"}
        for key in ("PLAT-K1", "PLAT-K2")
    )
    assert from_page == from_api
    assert from_page["repository"] == "acme/api" and from_page["window_days"] == 28
    page = open_page(client)
    edited = submit(client, page, "edit-kpi", "PLAT-K1", environment="staging", window_days="14")
    follow(client, edited)
    patched = client.patch(
        "/api/v1/kpis/PLAT-K2", json={"environment": "staging", "window_days": 14}, headers=headers
    )
    assert patched.status_code == 200
    stored = api_kpis(client, admin)
    assert {k: v for k, v in stored["PLAT-K1"].items() if k != "key"} == {
        k: v for k, v in stored["PLAT-K2"].items() if k != "key"
    }


def test_a_saved_kpi_shows_at_once_on_the_cached_confluence_panel(
    app: Flask, client: FlaskClient
) -> None:
    panel_site(app)
    first = client.get(signed_url(PANEL, MACRO_PARAMS))
    assert set(strip(first.text)) == {"PLAT-K1"}
    page = follow(
        client,
        submit(
            client,
            open_page(client),
            "new-kpi",
            key="PLAT-K2",
            title="Availability",
            unit="%",
            healthy_min="99.5",
            current="99.9",
        ),
    )
    second = client.get(signed_url(PANEL, MACRO_PARAMS))
    assert second.headers["ETag"] != first.headers["ETag"]
    assert strip(second.text)["PLAT-K2"] == ("healthy", "99.9")
    follow(client, submit(client, page, "edit-kpi", "PLAT-K2", title="Availability (API)"))
    third = client.get(signed_url(PANEL, MACRO_PARAMS))
    assert third.headers["ETag"] != second.headers["ETag"]
    assert "Availability (API)" in parse(third.text).find(data_kpi="PLAT-K2").text


def test_a_kpi_owner_is_picked_as_a_person_stored_as_the_account_and_never_shown_raw(
    client: FlaskClient, site: int, admin: dict[str, str]
) -> None:
    page = open_page(client)
    owner = the_form(page, "new-kpi").find("input", name="owner")
    assert owner.attrs.get("data-person-picker")  # the KR owners' picker
    account = "557058:0f1e2d3c-aaaa-4bbb-8ccc-1234567890ab"
    picked = {"owner": "Ana Lima", "owner_account": account, "owner_shown": "Ana Lima"}
    page = follow(client, submit(client, page, "new-kpi", **CFR, **picked))
    assert api_kpis(client, admin)["PLAT-K1"]["owner"] == account  # the file and API keep ids
    row = parse(page).find(data_kpi_row="PLAT-K1")
    note = row.find(data_practice="kpi-person-owner")
    assert note is not None  # the practice note about a person owner stays
    assert account not in row.text  # a name (here: unknown to Jira), never the raw id
    assert "Unknown user" in note.text
    typed = {"owner": "Platform team", "owner_account": account, "owner_shown": "Ana Lima"}
    follow(client, submit(client, page, "edit-kpi", "PLAT-K1", **typed))
    assert api_kpis(client, admin)["PLAT-K1"]["owner"] == "Platform team"  # a role typed
