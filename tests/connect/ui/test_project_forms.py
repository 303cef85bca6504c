"""Writing OKRs on the Jira project page: new and edited objectives and KRs, abandon with a
reason, practice notes beside the field that breaks the rule, errors beside bad values."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.app import CLIENT_KEY, install, signed_url
from tests.support.ui import Node, field_names, follow, parse, submit, the_form

PAGE = "/jira/project-page"
OTHER_KEY, OTHER_SECRET = "jira:globex-client-key", "another-shared-secret-of-32-characters-xyz"


@pytest.fixture
def site(app: Flask) -> int:
    return install(app)


def open_page(client: FlaskClient, **params: str) -> str:
    response = client.get(signed_url(PAGE, {"projectKey": "PLAT", "cycle": "2026-Q4", **params}))
    assert response.status_code == 200, response.text
    return response.text


def test_an_empty_project_page_offers_a_new_objective_and_the_forms_follow(
    client: FlaskClient, site: int
) -> None:
    page = open_page(client)
    assert field_names(the_form(page, "new-objective")) == ["title", "description", "parent"]
    title = "Make the platform the most reliable in its sector"
    page = follow(client, submit(client, page, "new-objective", title=title))
    assert parse(page).find(data_objective="PLAT-1")
    assert field_names(the_form(page, "new-key-result", "PLAT-1")) == [
        "title",
        "kind",
        "baseline",
        "target",
        "unit",
        "owner",
        "weight",
        "jql",
        "jql_field",
        "measure",
        "repository",
        "environment",
        "window_days",
        "kpi",
        "issues",
        "asana",
        "asana_goal",
        "asana_field",
    ]
    assert field_names(the_form(page, "edit-objective", "PLAT-1")) == [
        "title",
        "description",
        "parent",
    ]
    page = follow(
        client,
        submit(
            client,
            page,
            "new-key-result",
            "PLAT-1",
            title="Raise availability from 99.5% to 99.99%",
            baseline="99,5",
            target="99.99",
            unit="%",
            owner="SRE lead",
        ),
    )
    kr = parse(page).find(data_kr="PLAT-1.1")
    assert "99.5" in kr.text or "99,5" in kr.text
    assert field_names(the_form(page, "edit-key-result", "PLAT-1.1")) == [
        "title",
        "kind",
        "baseline",
        "target",
        "unit",
        "owner",
        "weight",
        "jql",
        "jql_field",
        "measure",
        "repository",
        "environment",
        "window_days",
        "kpi",
        "asana_goal",
        "asana_field",
    ]
    assert field_names(the_form(page, "abandon-key-result", "PLAT-1.1")) == ["abandon_reason"]


def test_a_kr_breaking_a_practice_rule_saves_and_shows_the_finding_beside_its_field(
    client: FlaskClient, site: int
) -> None:
    page = follow(
        client,
        submit(
            client,
            open_page(client, lang="fr"),
            "new-objective",
            title="Faire grandir la communauté",
        ),
    )
    response = submit(
        client,
        page,
        "new-key-result",
        "PLAT-1",
        title="Créer cinq pages web",
        baseline="0",
        target="5",
    )
    page = follow(client, response)
    assert parse(page).find(data_kr="PLAT-1.1")
    form = the_form(page, "edit-key-result", "PLAT-1.1")
    beside = {n.attrs["data-practice"]: n for n in form.find_all(data_practice=True)}
    assert set(beside) == {"task-not-outcome", "no-owner"}
    assert the_form(page, "new-key-result", "PLAT-1").find(data_practice="too-few-krs")
    assert "se lit comme une tâche" in beside["task-not-outcome"].text
    title_field = form.find("input", name="title")
    owner_field = form.find("input", name="owner")
    assert _field_of(form, beside["task-not-outcome"]) == title_field.attrs["id"]
    assert _field_of(form, beside["no-owner"]) == owner_field.attrs["id"]


def _field_of(form: Node, note: Node) -> str:
    """The id of the control in the same field block (`div.f`) as `note`."""
    for block in form.find_all("div"):
        if "f" in block.attrs.get("class", "").split() and note in list(block.iter()):
            controls = [n for n in block.iter() if n.tag in {"input", "select", "textarea"}]
            return controls[0].attrs["id"]
    raise AssertionError("note outside any field")


def test_an_unknown_parent_is_a_finding_beside_the_parent_field(
    client: FlaskClient, site: int
) -> None:
    page = follow(
        client,
        submit(
            client,
            open_page(client),
            "new-objective",
            title="Make releases boring",
            parent="ACME-9",
        ),
    )
    form = the_form(page, "edit-objective", "PLAT-1")
    note = form.find(data_practice="unknown-parent")
    assert "ACME-9" in note.text
    assert _field_of(form, note) == form.find("input", name="parent").attrs["id"]


def test_a_bad_value_saves_nothing_and_is_shown_beside_its_field(
    client: FlaskClient, site: int
) -> None:
    page = follow(client, submit(client, open_page(client), "new-objective", title="Reliability"))
    for fields, name in (
        ({"title": "Cut p99 from 900 to 300 ms", "target": "fast"}, "target"),
        ({"title": "Cut p99 from 900 to 300 ms", "baseline": "5", "target": "5"}, "target"),
        ({"title": "", "target": "5"}, "title"),
        ({"title": "Cut p99", "kind": "vibes"}, "kind"),
    ):
        response = submit(client, page, "new-key-result", "PLAT-1", **fields)
        assert response.status_code == 422, fields
        form = the_form(response.text, "new-key-result", "PLAT-1")
        error = form.find(data_error=name)
        assert error.text
        assert form.find("input", name="title").attrs["value"] == fields["title"]
    assert not parse(open_page(client)).find_all(data_kr=True)


def test_abandoning_needs_a_reason_and_keeps_the_kr_struck_through(
    client: FlaskClient, site: int
) -> None:
    page = follow(client, submit(client, open_page(client), "new-objective", title="Reliability"))
    page = follow(
        client,
        submit(
            client,
            page,
            "new-key-result",
            "PLAT-1",
            title="Cut p99 from 900 to 300 ms",
            baseline="900",
            target="300",
            owner="SRE",
        ),
    )
    refused = submit(client, page, "abandon-key-result", "PLAT-1.1", abandon_reason=" ")
    assert refused.status_code == 422
    assert (
        the_form(refused.text, "abandon-key-result", "PLAT-1.1")
        .find(data_error="abandon_reason")
        .text
        == "This field is required."
    )
    page = follow(
        client,
        submit(
            client,
            page,
            "abandon-key-result",
            "PLAT-1.1",
            abandon_reason="Latency moved to the edge team",
        ),
    )
    kr = parse(page).find(data_kr="PLAT-1.1")
    assert kr.attrs["data-state"] == "abandoned"
    assert "Latency moved to the edge team" in kr.text


def test_an_edit_is_kept_in_the_krs_history(
    client: FlaskClient, site: int, admin: dict[str, str]
) -> None:
    page = follow(client, submit(client, open_page(client), "new-objective", title="Reliability"))
    page = follow(
        client,
        submit(
            client,
            page,
            "new-key-result",
            "PLAT-1",
            title="Cut p99 from 900 to 300 ms",
            baseline="900",
            target="300",
            owner="SRE",
        ),
    )
    follow(client, submit(client, page, "edit-key-result", "PLAT-1.1", target="250"))
    headers = {**admin, "X-Okrlink-Site": "jira:acme-client-key"}
    changes = client.get("/api/v1/key-results/PLAT-1.1/changes", headers=headers).json["changes"]
    assert changes[-1]["before"] == {"target": 300.0}
    assert changes[-1]["after"] == {"target": 250.0}
    assert changes[-1]["author"] == "557058:f00d-cafe"


@pytest.mark.parametrize(
    "name",
    ["new-objective", "new-key-result", "edit-key-result", "abandon-key-result", "edit-objective"],
)
def test_a_forged_csrf_token_is_refused_and_changes_nothing(
    client: FlaskClient, site: int, name: str
) -> None:
    page = follow(client, submit(client, open_page(client), "new-objective", title="Reliability"))
    page = follow(
        client,
        submit(
            client,
            page,
            "new-key-result",
            "PLAT-1",
            title="Cut p99 from 900 to 300 ms",
            baseline="900",
            target="300",
            owner="SRE",
        ),
    )
    target = {"new-objective": "", "new-key-result": "PLAT-1", "edit-objective": "PLAT-1"}.get(
        name, "PLAT-1.1"
    )
    before = _okrs(open_page(client))
    response = submit(
        client, page, name, target, csrf_token="forged", title="Changed", abandon_reason="forged"
    )
    assert response.status_code == 403
    assert _okrs(open_page(client)) == before


def _okrs(html: str) -> list[tuple[str, str]]:
    """Every objective and KR of the page with its text: what a refused post must not change."""
    root = parse(html)
    return [
        (n.attrs["data-objective"], n.find("h2").text) for n in root.find_all(data_objective=True)
    ] + [(n.attrs["data-kr"], n.find(class_="kt").text) for n in root.find_all(data_kr=True)]


def test_a_token_of_another_site_finds_nothing_of_this_site(
    app: Flask, client: FlaskClient, site: int
) -> None:
    page = follow(client, submit(client, open_page(client), "new-objective", title="Reliability"))
    install(app, client_key=OTHER_KEY, base_url="https://globex.atlassian.net", secret=OTHER_SECRET)
    other = client.get(
        signed_url(
            PAGE,
            {"projectKey": "PLAT", "cycle": "2026-Q4"},
            client_key=OTHER_KEY,
            secret=OTHER_SECRET,
        )
    )
    form = the_form(other.text, "new-objective")
    csrf = form.find("input", name="csrf_token").attrs["value"]
    action = form.attrs["action"]
    response = client.post(
        action,
        data={
            "csrf_token": csrf,
            "form": "edit-objective",
            "objective": "PLAT-1",
            "title": "Hijacked",
        },
    )
    assert response.status_code == 404
    assert "Hijacked" not in open_page(client)
    assert parse(page).find(data_objective="PLAT-1")


def test_an_objectives_why_is_written_on_the_page_and_shown_under_its_title(
    client: FlaskClient, site: int
) -> None:
    page = open_page(client)
    page = follow(client, submit(client, page, "new-objective", title="Make the platform reliable"))
    form = the_form(page, "edit-objective", "PLAT-1")
    note = form.find(data_practice="no-why")
    assert _field_of(form, note) == form.find("textarea", name="description").attrs["id"]
    why = "Customers stop losing a working day to our outages"
    page = follow(client, submit(client, page, "edit-objective", "PLAT-1", description=why))
    section = parse(page).find("section", data_objective="PLAT-1")
    assert section.find(data_why=True).text == why
    assert not the_form(page, "edit-objective", "PLAT-1").find_all(data_practice="no-why")
    assert the_form(page, "edit-objective", "PLAT-1").find("textarea").text == why


def test_an_objective_worded_as_a_task_gets_the_note_beside_its_title(
    client: FlaskClient, site: int
) -> None:
    page = open_page(client)
    title = "Migrate the billing service to the new cluster"
    page = follow(client, submit(client, page, "new-objective", title=title))
    form = the_form(page, "edit-objective", "PLAT-1")
    note = form.find(data_practice="objective-task-not-outcome")
    assert _field_of(form, note) == form.find("input", name="title").attrs["id"]


def test_a_merged_pr_kr_gets_the_activity_note_in_french_too(
    client: FlaskClient, site: int
) -> None:
    page = open_page(client)
    page = follow(client, submit(client, page, "new-objective", title="Ship with confidence"))
    page = follow(
        client,
        submit(
            client,
            page,
            "new-key-result",
            "PLAT-1",
            title="Raise merged PRs per week from 30 to 45",
            baseline="30",
            target="45",
            owner="Engineering manager",
        ),
    )
    form = the_form(page, "edit-key-result", "PLAT-1.1")
    note = form.find(data_practice="counts-activity.merged_prs")
    assert "lead time" in note.text
    french = open_page(client, lang="fr")
    note = the_form(french, "edit-key-result", "PLAT-1.1").find(
        data_practice="counts-activity.merged_prs"
    )
    assert "taux d’échec" in note.text


def test_a_monthly_cycle_and_a_yearly_cycle_with_its_quarters_are_made_on_the_page(
    app: Flask, client: FlaskClient, site: int, admin: dict[str, str]
) -> None:
    page = open_page(client)
    assert field_names(the_form(page, "new-cycle")) == ["name", "start", "end", "parent"]
    made = submit(client, page, "new-cycle", name="2027")
    assert made.status_code == 303
    assert "cycle=2027" in made.headers["Location"]
    page = follow(client, made)
    page = follow(client, submit(client, page, "new-cycle", name="2027-Q1", parent="2027"))
    page = follow(client, submit(client, page, "new-cycle", name="2027-Q2", parent="2027"))
    page = follow(client, submit(client, page, "new-cycle", name="2027-04", parent="2027-Q2"))
    listed = {
        n.attrs["data-cycle-link"]: n.attrs.get("data-parent")
        for n in parse(page).find(data_cycles=True).find_all(data_cycle_link=True)
    }
    assert listed == {"2027": None, "2027-Q1": "2027", "2027-Q2": "2027", "2027-04": "2027-Q2"}
    custom = follow(
        client,
        submit(
            client,
            page,
            "new-cycle",
            name="Hackathon",
            start="2027-05-10",
            end="2027-05-14",
            parent="2027-Q2",
        ),
    )
    assert parse(custom).find("main").attrs["data-cycle"] == "Hackathon"
    # A quarter under the year overlapping 2027-Q1: refused beside its dates, nothing stored.
    refused = submit(
        client, page, "new-cycle", name="Early", start="2027-03-01", end="2027-04-30", parent="2027"
    )
    assert refused.status_code == 422
    form = parse(refused.text).find("form", data_form="new-cycle")
    assert "overlaps" in form.find(data_error="start").text
    headers = {**admin, "X-Okrlink-Site": CLIENT_KEY}
    names = [c["name"] for c in client.get("/api/v1/cycles", headers=headers).json["cycles"]]
    assert "Early" not in names and len(names) == 5
    objective = follow(
        client,
        submit(client, open_page(client, cycle="2027-04"), "new-objective", title="Calm April"),
    )
    assert parse(objective).find("main").attrs["data-cycle"] == "2027-04"
    assert parse(objective).find(data_objective="PLAT-1")


def test_a_dora_kr_is_written_on_the_page_with_its_measure_and_scope(
    client: FlaskClient, site: int, admin: dict[str, str]
) -> None:
    page = follow(client, submit(client, open_page(client), "new-objective", title="Ship safely"))
    page = follow(
        client,
        submit(
            client,
            page,
            "new-key-result",
            "PLAT-1",
            title="Reduce change failure rate from 15% to 5%",
            kind="github",
            measure="change_failure_rate",
            repository="acme/platform",
            environment="production",
            window_days="30",
            baseline="15",
            target="5",
            unit="%",
            owner="Release manager",
        ),
    )
    headers = {**admin, "X-Okrlink-Site": CLIENT_KEY}
    kr = client.get("/api/v1/key-results/PLAT-1.1", headers=headers).json
    assert (kr["kind"], kr["measure"], kr["repository"], kr["environment"]) == (
        "github",
        "change_failure_rate",
        "acme/platform",
        "production",
    )
    assert kr["window_days"] == 30
    form = the_form(page, "edit-key-result", "PLAT-1.1")
    chosen = [
        o for o in form.find("select", name="measure").find_all("option") if "selected" in o.attrs
    ]
    assert chosen[0].attrs["value"] == "change_failure_rate"
    assert form.find("input", name="repository").attrs["value"] == "acme/platform"
    assert not form.find_all(data_practice="counts-activity.merged_prs")
    page = follow(client, submit(client, page, "edit-key-result", "PLAT-1.1", measure="merged_prs"))
    form = the_form(page, "edit-key-result", "PLAT-1.1")
    assert form.find(data_practice="counts-activity.merged_prs")
    bad = submit(client, page, "edit-key-result", "PLAT-1.1", measure="stars")
    assert bad.status_code == 422
    kr = client.get("/api/v1/key-results/PLAT-1.1", headers=headers).json
    assert kr["measure"] == "merged_prs"


def test_asana_links_and_goal_are_written_on_the_page_with_the_files_names(
    client: FlaskClient, site: int, admin: dict[str, str]
) -> None:
    page = follow(client, submit(client, open_page(client), "new-objective", title="Ship safely"))
    page = follow(
        client,
        submit(
            client,
            page,
            "new-key-result",
            "PLAT-1",
            title="Onboarding tasks done from 0 to 12",
            kind="issues",
            owner="Support lead",
            asana="https://app.asana.com/0/1199/1201, 1202",
            asana_goal="3301",
            asana_field="Points",
        ),
    )
    headers = {**admin, "X-Okrlink-Site": CLIENT_KEY}
    links = client.get("/api/v1/key-results/PLAT-1.1/links", headers=headers).json
    assert sorted(link["target"] for link in links["links"]) == ["asana:1201", "asana:1202"]
    exported = client.get("/api/v1/export?team=PLAT", headers=headers).text
    assert "asana_goal: '3301'" in exported or 'asana_goal: "3301"' in exported
    assert "asana_field: Points" in exported
    form = the_form(page, "edit-key-result", "PLAT-1.1")
    assert form.find("input", name="asana_goal").attrs["value"] == "3301"
    bad = submit(client, page, "new-key-result", "PLAT-1", title="Another", asana="not a task")
    assert bad.status_code == 422
    assert parse(bad.text).find(data_error="asana")
    assert len(client.get("/api/v1/key-results", headers=headers).json["key_results"]) == 1
    made = client.post(  # the API takes the same field and links the same way
        "/api/v1/key-results",
        json={
            "objective": "PLAT-1",
            "title": "Docs tasks done from 0 to 8",
            "kind": "issues",
            "asana": ["asana:1203"],
            "asana_goal": "3302",
        },
        headers=headers,
    )
    assert made.status_code == 201, made.json
    assert made.json["asana_goal"] == "3302"
    links = client.get("/api/v1/key-results/PLAT-1.2/links", headers=headers).json["links"]
    assert [(link["kind"], link["target"]) for link in links] == [("asana", "asana:1203")]
    bad_api = client.post(
        "/api/v1/key-results",
        json={"objective": "PLAT-1", "title": "Other", "asana": ["nope"]},
        headers=headers,
    )
    assert (bad_api.status_code, bad_api.json["error"]["field"]) == (422, "asana")
