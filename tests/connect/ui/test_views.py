"""The pages through HTTP: Connect JWT, CSP, caching and ETags, check-ins, the issue panel."""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import date, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from connect.services import services_of
from connect.ui.panels import PanelQuery, load_panel, panel_version
from sync.db.model import CheckIn, Link, Snapshot, WorkItem
from sync.db.store import find_kr, local_site
from tests.support.app import (
    ACCOUNT,
    CLIENT_KEY,
    MACRO_PARAMS,
    PANEL,
    PANEL_NOW,
    SECRET,
    check_in,
    form_action,
    hidden,
    install,
    kr_row,
    panel_site,
    signed_url,
)
from tests.support.ui import parse

NOW = PANEL_NOW


@pytest.fixture
def site(app: Flask) -> int:
    return panel_site(app)


def krs(html: str) -> dict[str, tuple[str, str]]:
    """KR key -> (data-progress, data-status) as the page shows them."""
    return {
        node.attrs["data-kr"]: (node.attrs["data-progress"], node.attrs["data-status"])
        for node in parse(html).find_all(data_kr=True)
    }


# --- authentication ------------------------------------------------------------------------


def test_macro_without_a_token_is_refused_with_a_page(client: FlaskClient, site: int) -> None:
    response = client.get(PANEL + "?team=PLAT")
    assert response.status_code == 401
    assert response.mimetype == "text/html"
    assert "data-kr" not in response.text


def test_macro_refuses_a_token_signed_for_another_request(client: FlaskClient, site: int) -> None:
    url = signed_url(PANEL, {**MACRO_PARAMS, "team": "OTHER"})
    assert client.get(url.replace("team=OTHER", "team=PLAT")).status_code == 401


def test_macro_refuses_a_context_token(client: FlaskClient, site: int) -> None:
    url = signed_url(PANEL, MACRO_PARAMS, context=True)
    assert client.get(url).status_code == 401


def test_a_token_of_site_a_never_shows_site_b(app: Flask, client: FlaskClient, site: int) -> None:
    install(
        app,
        client_key="jira:other",
        base_url="https://other.atlassian.net",
        secret="another-shared-secret-of-32-characters-or-more",
    )
    url = signed_url(
        PANEL,
        MACRO_PARAMS,
        client_key="jira:other",
        secret="another-shared-secret-of-32-characters-or-more",
    )
    response = client.get(url)
    assert response.status_code == 200
    assert krs(response.text) == {}
    assert "No OKRs yet" in response.text


def test_development_token_is_refused_unless_dev_mode(client: FlaskClient, site: int) -> None:
    from connect.ui.tokens import dev_token

    token = dev_token(services_of(client.application).dev_token_key, CLIENT_KEY)
    response = client.get(f"{PANEL}?team=PLAT&dev_token={token}")
    assert response.status_code == 403
    assert "OKRLINK_DEV=1" in response.text


# --- the Confluence panel ------------------------------------------------------------------


def test_macro_shows_each_kr_with_its_stored_progress_and_status(
    app: Flask, client: FlaskClient, site: int
) -> None:
    check_in(app, site, "PLAT-1.3", value=10, at=NOW, status="at_risk", what="Canaries help")
    response = client.get(signed_url(PANEL, MACRO_PARAMS))
    assert response.status_code == 200
    shown = krs(response.text)
    assert list(shown) == [
        "PLAT-1.1",
        "PLAT-1.2",
        "PLAT-1.3",
        "PLAT-1.4",
        "PLAT-1.5",
        "PLAT-2.1",
        "PLAT-2.2",
        "PLAT-2.3",
    ]
    assert shown["PLAT-1.3"] == ("0.50", "at_risk")
    kr = kr_row(app, site, "PLAT-1.3")
    assert shown["PLAT-1.3"][0] == f"{kr.progress:.2f}"
    assert "Canaries help" in response.text
    assert [
        n.attrs["data-objective"] for n in parse(response.text).find_all(data_objective=True)
    ] == ["PLAT-1", "PLAT-2"]


def test_objective_parameter_narrows_the_panel(client: FlaskClient, site: int) -> None:
    response = client.get(signed_url(PANEL, {**MACRO_PARAMS, "objective": "PLAT-2"}))
    assert list(krs(response.text)) == ["PLAT-2.1", "PLAT-2.2", "PLAT-2.3"]


def test_compact_view_and_french_locale_from_atlassian_parameters(
    client: FlaskClient, site: int
) -> None:
    response = client.get(signed_url(PANEL, {**MACRO_PARAMS, "view": "compact", "loc": "fr-FR"}))
    assert response.status_code == 200
    assert '<html lang="fr">' in response.text
    assert "hors trajectoire" in response.text
    assert 'class="okr cmp"' in response.text


def test_a_script_in_a_kr_title_is_shown_as_text(
    app: Flask, client: FlaskClient, site: int
) -> None:
    with services_of(app).store.session() as session:
        kr = find_kr(session, site, "PLAT-1.1")
        assert kr is not None
        kr.title = "<script>alert(1)</script>"
        kr.version += 1
    response = client.get(signed_url(PANEL, MACRO_PARAMS))
    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text


def frame_ancestors(policy: str) -> str:
    """The `frame-ancestors` directive of a Content-Security-Policy, sources only."""
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    return directives["frame-ancestors"]


@pytest.mark.parametrize("path", [PANEL, "/jira/issue-panel", "/jira/project-page"])
def test_iframe_pages_may_be_framed_only_by_their_own_tenants_site(
    app: Flask, client: FlaskClient, site: int, path: str
) -> None:
    other_secret = "another-shared-secret-of-32-characters-or-more"
    install(
        app, client_key="jira:other", base_url="https://other.atlassian.net", secret=other_secret
    )
    params = MACRO_PARAMS if path == PANEL else {"projectKey": "PLAT", "issueKey": "PLAT-12"}
    acme = client.get(signed_url(path, params)).headers["Content-Security-Policy"]
    other = client.get(
        signed_url(path, params, client_key="jira:other", secret=other_secret)
    ).headers["Content-Security-Policy"]
    assert frame_ancestors(acme) == "https://acme.atlassian.net"
    assert frame_ancestors(other) == "https://other.atlassian.net"
    assert "default-src 'none'" in acme


def sha256_source(inline: str) -> str:
    """A CSP hash source, as a browser computes it over an inline element's text."""
    return f"'sha256-{base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()}'"


def test_cached_panel_is_the_same_page_on_every_load(client: FlaskClient, site: int) -> None:
    first = client.get(signed_url(PANEL, MACRO_PARAMS))
    second = client.get(signed_url(PANEL, MACRO_PARAMS))
    assert first.headers["ETag"] == second.headers["ETag"]
    assert dict(first.headers) == dict(second.headers)
    assert first.data == second.data


@pytest.mark.parametrize(
    ("path", "params"),
    [
        (PANEL, MACRO_PARAMS),
        (PANEL + "/static", MACRO_PARAMS),
        ("/jira/issue-panel", {"issueKey": "PLAT-40"}),
        ("/jira/project-page", {"projectKey": "PLAT"}),
        ("/jira/okrs", {}),
        ("/jira/admin", {}),
        ("/jira/issue-panel", {"issueKey": "not a key"}),
    ],
)
def test_every_page_allows_exactly_its_inline_style_and_script(
    client: FlaskClient, site: int, path: str, params: dict[str, str]
) -> None:
    response = client.get(signed_url(path, params))
    policy = dict(
        directive.strip().split(" ", 1)
        for directive in response.headers["Content-Security-Policy"].split(";")
    )
    styles = re.findall(r"<style>(.*?)</style>", response.text, re.S)
    scripts = re.findall(r"<script>(.*?)</script>", response.text, re.S)
    assert "nonce" not in response.text
    assert policy["style-src"] == " ".join(map(sha256_source, styles))
    if scripts:
        assert policy["script-src"] == " ".join(
            [*map(sha256_source, scripts), "https://connect-cdn.atl-paas.net"]
        )
    else:
        assert policy["script-src"] == "'none'"
    assert policy["default-src"] == "'none'"


def test_matching_etag_gets_304_until_a_check_in_changes_the_data(
    app: Flask, client: FlaskClient, site: int
) -> None:
    first = client.get(signed_url(PANEL, MACRO_PARAMS))
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "private, no-cache"
    again = client.get(signed_url(PANEL, MACRO_PARAMS), headers={"If-None-Match": etag})
    assert again.status_code == 304
    check_in(app, site, "PLAT-1.1", value=99.9, at=NOW)
    changed = client.get(signed_url(PANEL, MACRO_PARAMS), headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    assert krs(changed.text)["PLAT-1.1"][0] == "0.82"


def test_locale_is_part_of_the_cache_key(client: FlaskClient, site: int) -> None:
    english = client.get(signed_url(PANEL, MACRO_PARAMS))
    french = client.get(signed_url(PANEL, {**MACRO_PARAMS, "loc": "fr"}))
    assert english.headers["ETag"] != french.headers["ETag"]
    assert "off track" in english.text and "hors trajectoire" in french.text


def test_static_rendering_has_no_script_at_all(client: FlaskClient, site: int) -> None:
    response = client.get(signed_url(PANEL + "/static", MACRO_PARAMS))
    assert response.status_code == 200
    assert "<script" not in response.text
    assert "script-src 'none'" in response.headers["Content-Security-Policy"]
    assert len(krs(response.text)) == 8


def test_unknown_team_shows_the_empty_panel(client: FlaskClient, site: int) -> None:
    response = client.get(signed_url(PANEL, {**MACRO_PARAMS, "team": "NOPE"}))
    assert response.status_code == 200
    assert "No OKRs for team NOPE in 2026-Q4 yet." in response.text


# --- project page and check-ins ------------------------------------------------------------


def _project_page(client: FlaskClient) -> str:
    response = client.get(signed_url("/jira/project-page", {"projectKey": "PLAT"}))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    return response.text


def test_check_in_from_the_project_page_moves_the_kr_and_is_kept_as_history(
    app: Flask, client: FlaskClient, site: int
) -> None:
    page = _project_page(client)
    action = form_action(page, "/jira/check-in")
    assert "jwt=" in action
    response = client.post(
        action,
        data={
            "csrf_token": hidden(page, "csrf_token"),
            "kr": "PLAT-1.3",
            "value": "9",
            "status": "on_track",
            "score": "0,6",
            "what": "Canary deploys",
            "why": "Fewer rollbacks",
            "next": "Search cluster",
            "decisions": "Keep canaries\nDrop manual gates",
            "risks": "",
            "learnings": "",
        },
    )
    assert response.status_code == 303
    assert response.headers["Cache-Control"] == "no-store"  # its Location carries a token
    reloaded = client.get(response.headers["Location"])
    assert reloaded.status_code == 200
    assert krs(reloaded.text)["PLAT-1.3"] == ("0.60", "on_track")
    with services_of(app).store.session() as session:
        kr = find_kr(session, site, "PLAT-1.3")
        assert kr is not None
        checkin = session.scalars(select(CheckIn).where(CheckIn.kr_id == kr.id)).one()
        assert (checkin.value, checkin.score, checkin.author) == (9.0, 0.6, ACCOUNT)
        assert checkin.decisions == ["Keep canaries", "Drop manual gates"]
        assert (
            session.scalars(select(Snapshot).where(Snapshot.kr_id == kr.id)).all()[-1].progress
            == 0.6
        )


def test_check_in_errors_are_shown_beside_their_fields_and_nothing_is_saved(
    app: Flask, client: FlaskClient, site: int
) -> None:
    page = _project_page(client)
    response = client.post(
        form_action(page, "/jira/check-in"),
        data={
            "csrf_token": hidden(page, "csrf_token"),
            "kr": "PLAT-1.3",
            "value": "lots",
            "status": "on_track",
            "score": "3",
            "what": "kept",
        },
    )
    assert response.status_code == 422
    tree = parse(response.text)
    assert tree.find(id="ci-PLAT-1-3-value-e").text == "Enter a number."
    assert tree.find(id="ci-PLAT-1-3-score-e").text == "Enter a score between 0 and 1."
    assert tree.find("textarea", name="what").text == "kept"
    assert tree.find("input", name="value").attrs["aria-invalid"] == "true"
    with services_of(app).store.session() as session:
        assert session.scalars(select(CheckIn)).all() == []


def test_check_in_refuses_a_missing_or_foreign_csrf_token(client: FlaskClient, site: int) -> None:
    page = _project_page(client)
    action = form_action(page, "/jira/check-in")
    data = {"kr": "PLAT-1.3", "value": "9", "status": "on_track"}
    assert client.post(action, data=data).status_code == 403
    other_user = client.get(
        signed_url("/jira/project-page", {"projectKey": "PLAT"}, account="557058:someone-else")
    ).text
    foreign = {**data, "csrf_token": hidden(other_user, "csrf_token")}
    assert client.post(action, data=foreign).status_code == 403


def test_check_in_post_needs_the_pages_token(client: FlaskClient, site: int) -> None:
    page = _project_page(client)
    response = client.post(
        "/jira/check-in?projectKey=PLAT",
        data={"csrf_token": hidden(page, "csrf_token"), "kr": "PLAT-1.3"},
    )
    assert response.status_code == 401


# --- the Jira issue panel, search, link and glance -----------------------------------------


def _work_item(app: Flask, site: int, key: str, *, parent: str | None) -> None:
    with services_of(app).store.session() as session:
        session.add(
            WorkItem(
                site_id=site,
                key=key,
                parent_key=parent,
                status_category="new",
                updated_at=NOW - timedelta(days=1),
            )
        )


def test_issue_panel_lists_krs_linked_directly_or_through_the_epic(
    app: Flask, client: FlaskClient, site: int
) -> None:
    _work_item(app, site, "PLAT-77", parent="PLAT-12")
    response = client.get(
        signed_url("/jira/issue-panel", {"issueKey": "PLAT-77", "projectKey": "PLAT"})
    )
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert list(krs(response.text)) == ["PLAT-1.4"]
    assert "via PLAT-12" in response.text
    direct = client.get(signed_url("/jira/issue-panel", {"issueKey": "PLAT-40"}))
    assert list(krs(direct.text)) == ["PLAT-1.4"]
    assert "via " not in direct.text


def test_search_then_link_then_unlink_from_the_issue_panel(
    app: Flask, client: FlaskClient, site: int
) -> None:
    page = client.get(signed_url("/jira/issue-panel", {"issueKey": "PLAT-90"})).text
    search = parse(page).find("form", role="search")
    params = {n.attrs["name"]: n.attrs["value"] for n in search.find_all("input", type="hidden")}
    found = client.get(search.attrs["action"], query_string={**params, "q": "failure rate"})
    assert found.status_code == 200
    assert list(krs(found.text)) == ["PLAT-1.3"]
    link = form_action(found.text, "/jira/issue-panel/link")
    linked = client.post(
        link,
        data={"csrf_token": hidden(found.text, "csrf_token"), "issue": "PLAT-90", "kr": "PLAT-1.3"},
    )
    assert linked.status_code == 303
    after = client.get(linked.headers["Location"])
    assert list(krs(after.text)) == ["PLAT-1.3"]
    with services_of(app).store.session() as session:
        sources = session.scalars(select(Link.source).where(Link.target_key == "PLAT-90")).all()
        assert sources == ["panel"]
    unlink = form_action(after.text, "/jira/issue-panel/unlink")
    gone = client.post(
        unlink,
        data={"csrf_token": hidden(after.text, "csrf_token"), "issue": "PLAT-90", "kr": "PLAT-1.3"},
    )
    assert krs(client.get(gone.headers["Location"]).text) == {}


def test_search_by_kr_key(client: FlaskClient, site: int) -> None:
    url = signed_url("/jira/issue-panel/view", {"issue": "PLAT-90", "q": "plat-2.2"}, context=True)
    assert list(krs(client.get(url).text)) == ["PLAT-2.2"]


def test_glance_json_counts_krs_and_shows_the_worst_status(
    app: Flask, client: FlaskClient, site: int
) -> None:
    check_in(app, site, "PLAT-1.4", value=None, at=NOW, status="off_track")
    url = signed_url("/jira/issue-glance", {"issueKey": "PLAT-40", "format": "json"})
    body = client.get(url).get_json()
    assert body == {
        "label": {"value": "1"},
        "status": {"type": "lozenge", "value": {"label": "Off track", "type": "removed"}},
    }


def test_glance_panel_is_the_issue_panel(client: FlaskClient, site: int) -> None:
    response = client.get(signed_url("/jira/issue-glance", {"issueKey": "PLAT-40"}))
    assert list(krs(response.text)) == ["PLAT-1.4"]


# --- general and admin pages ---------------------------------------------------------------


def test_general_page_shows_the_first_team_of_the_current_cycle(
    client: FlaskClient, site: int
) -> None:
    response = client.get(signed_url("/jira/okrs"))
    assert len(krs(response.text)) == 8
    assert "<form" not in response.text


def test_admin_page_lists_installations_without_secrets(client: FlaskClient, site: int) -> None:
    response = client.get(signed_url("/jira/admin"))
    assert response.status_code == 200
    assert CLIENT_KEY in response.text
    assert SECRET not in response.text


def test_admin_page_speaks_french(client: FlaskClient, site: int) -> None:
    page = parse(client.get(signed_url("/jira/admin", {"lang": "fr"})).text)
    assert [h2.text for h2 in page.find_all("h2")] == [
        "Installations de ce site",
        "Installations GitHub rattachées à ce site",
        "Point hebdomadaire dans Slack et Teams",
        "Résultats clés sur Geckoboard",
        "Profil de pratique",
    ]
    assert "activée" in page.find(data_installation=CLIENT_KEY).text


def test_practice_notes_show_on_the_project_page_but_not_in_the_macro(
    app: Flask, client: FlaskClient, site: int
) -> None:
    # PLAT-2 has 3 KRs; abandoning one leaves 2, below the 3 to 5 the practice asks for.
    with services_of(app).store.session() as session:
        kr = find_kr(session, site, "PLAT-2.3")
        assert kr is not None
        kr.state, kr.abandon_reason = "abandoned", "Merged into PLAT-2.2"
        kr.version += 1
    project = parse(_project_page(client))
    notes = project.find("section", data_objective="PLAT-2").by_class("notes")
    assert notes and "2 active key results" in notes[0].text
    macro = client.get(signed_url(PANEL, MACRO_PARAMS)).text
    assert "practice note" not in macro
    assert "Abandoned: Merged into PLAT-2.2" in macro


def test_renaming_an_objective_changes_the_cached_panel(
    app: Flask, client: FlaskClient, admin: dict[str, str]
) -> None:
    """The panel is cached by its data version: an objective's new title must show at once."""
    client.post(
        "/api/v1/objectives",
        headers=admin,
        json={"team": "REN", "cycle": "2026-Q4", "title": "Old objective title"},
    )
    client.post(
        "/api/v1/key-results",
        headers=admin,
        json={
            "objective": "REN-1",
            "title": "Cut p99 from 900 to 300 ms",
            "baseline": 900,
            "target": 300,
            "owner": "Team lead",
        },
    )
    with services_of(app).store.session() as session:
        site_id = local_site(session).id
    query = PanelQuery(team="REN", cycle="2026-Q4")
    with services_of(app).store.session() as session:
        before = panel_version(session, site_id, query, today=date(2026, 11, 25))
    response = client.patch(
        "/api/v1/objectives/REN-1", headers=admin, json={"title": "New objective title"}
    )
    assert response.status_code == 200
    with services_of(app).store.session() as session:
        after = panel_version(session, site_id, query, today=date(2026, 11, 25))
        view = load_panel(session, site_id, query, today=date(2026, 11, 25))
    assert after != before
    assert view is not None and view.objectives[0].title == "New objective title"
