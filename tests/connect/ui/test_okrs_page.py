"""The Jira "OKRs" page: pick a team, see the organisation's alignment tree with progress."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.app import CLIENT_KEY, install, signed_url
from tests.support.quarter import CYCLE, post, write_quarter
from tests.support.ui import Node, parse


@pytest.fixture
def site(app: Flask, client: FlaskClient, admin: dict[str, str]) -> int:
    """ACME-1 (company); PLAT-1..3, PLAT-1 aligned to ACME-1; SHOP-1 aligned to ACME-1."""
    site_id = install(app)
    headers = {**admin, "X-Okrlink-Site": CLIENT_KEY}
    write_quarter(client, headers)
    post(
        client,
        headers,
        "/objectives",
        {"team": "SHOP", "cycle": CYCLE, "parent": "ACME-1", "title": "Make checkout effortless"},
    )
    post(client, headers, "/key-results/PLAT-1.1/check-ins", {"value": 99.745})
    return site_id


def tree(html: str) -> Node:
    return parse(html).find(data_tree=True)


def test_the_tree_nests_team_objectives_under_the_company_objective_they_align_to(
    client: FlaskClient, site: int
) -> None:
    page = client.get(signed_url("/jira/okrs", {"cycle": CYCLE}))
    assert page.status_code == 200
    root = tree(page.text)
    acme = root.find("li", data_objective="ACME-1")
    assert "data-parent" not in acme.attrs
    nested = {
        n.attrs["data-objective"]: n.attrs.get("data-parent")
        for n in acme.find_all("li", data_objective=True)
        if n is not acme
    }
    assert nested == {"PLAT-1": "ACME-1", "SHOP-1": "ACME-1"}
    plat1 = acme.find("li", data_objective="PLAT-1")
    assert plat1.attrs["data-progress"] == "0.17"  # (0.5 + 0 + 0) / 3
    assert plat1.find(role="progressbar").attrs["aria-valuenow"] == "17"
    tops = [
        n.attrs["data-objective"]
        for n in root.find_all("li", data_objective=True)
        if "data-parent" not in n.attrs
    ]
    assert tops[0] == "ACME-1"
    assert set(tops) == {"ACME-1", "PLAT-2", "PLAT-3"}


def test_the_team_picker_shows_every_team_and_opens_the_chosen_one(
    client: FlaskClient, site: int
) -> None:
    page = parse(client.get(signed_url("/jira/okrs", {"cycle": CYCLE})).text)
    picker = page.find(data_team_picker=True)
    teams = [n.attrs["data-team"] for n in picker.find_all(data_team=True)]
    assert teams == ["ACME", "PLAT", "SHOP"]
    assert picker.find(data_team="ACME").attrs.get("aria-current") == "page"
    link = picker.find("a", data_team="PLAT").attrs["href"]
    chosen = client.get(link)
    assert chosen.status_code == 200
    shown = {n.attrs["data-kr"] for n in parse(chosen.text).find_all(data_kr=True)}
    assert shown == {f"PLAT-{o}.{k}" for o in (1, 2, 3) for k in (1, 2, 3)}
    direct = parse(client.get(signed_url("/jira/okrs", {"team": "SHOP", "cycle": CYCLE})).text)
    assert direct.find(data_team_picker=True).find(data_team="SHOP").tag == "strong"


def test_another_sites_token_sees_none_of_this_sites_tree(
    app: Flask, client: FlaskClient, site: int
) -> None:
    key, secret = "jira:globex-client-key", "another-shared-secret-of-32-characters-xyz"
    install(app, client_key=key, base_url="https://globex.atlassian.net", secret=secret)
    page = client.get(
        signed_url("/jira/okrs", {"team": "PLAT", "cycle": CYCLE}, client_key=key, secret=secret)
    )
    assert "PLAT-1" not in page.text and "ACME-1" not in page.text


def test_the_tree_follows_a_quarter_to_the_yearly_cycle_holding_it(
    client: FlaskClient, site: int, admin: dict[str, str]
) -> None:
    headers = {**admin, "X-Okrlink-Site": CLIENT_KEY}
    post(client, headers, "/cycles", {"name": "2027", "team": "ACME"})
    post(client, headers, "/cycles", {"name": "2027-Q1", "parent": "2027", "team": "PLAT"})
    post(client, headers, "/objectives", {"team": "ACME", "cycle": "2027", "title": "Win trust"})
    post(
        client,
        headers,
        "/objectives",
        {"team": "PLAT", "cycle": "2027-Q1", "parent": "ACME-1", "title": "Calm releases"},
    )
    for cycle in ("2027-Q1", "2027"):
        root = tree(client.get(signed_url("/jira/okrs", {"cycle": cycle})).text)
        acme = root.find("li", data_objective="ACME-1")
        assert acme.find("li", data_objective="PLAT-1").attrs["data-parent"] == "ACME-1"
    panel = parse(
        client.get(
            signed_url("/jira/project-page", {"projectKey": "PLAT", "cycle": "2027-Q1"})
        ).text
    )
    section = panel.find("section", data_objective="PLAT-1")
    assert "Win trust" in section.find(class_="al").text
    assert not section.find_all(data_practice="unknown-parent")
