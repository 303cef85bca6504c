"""The Jira admin page's Geckoboard datasets: added (and pushed), listed masked, refused with the
reason and nothing stored, parked when Geckoboard refuses the key, removed (this site's only).
Geckoboard's API is `responses` here (the HTTPS receiver tests are in test_geckoboard_push)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import responses
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from connect.services import services_of
from sync.db.model import GeckoboardDataset, Outbound
from sync.db.store import local_site
from sync.geckoboard import add_dataset
from tests.support.app import panel_site, signed_url
from tests.support.digest import import_team
from tests.support.ui import parse

API = "https://api.geckoboard.com/datasets/okrlink.plat.key_results"
KEY = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"


@pytest.fixture
def site(app: Flask) -> int:
    return panel_site(app)


@pytest.fixture
def geckoboard() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def admin(client: FlaskClient) -> str:
    response = client.get(signed_url("/jira/admin"))
    assert response.status_code == 200
    return response.text


def form(page: str, marker: str) -> tuple[str, str]:
    """(action, csrf token) of the Geckoboard form whose action contains `marker`."""
    for found in parse(page).find_all("form"):
        action = found.attrs["action"]
        if marker in action:
            token = found.find("input", name="csrf_token").attrs["value"]
            return action, token
    raise AssertionError(f"no form posting to {marker}")


def add(client: FlaskClient, page: str, **fields: str):  # type: ignore[no-untyped-def]
    action, token = form(page, "/jira/admin/geckoboard-datasets?")
    return client.post(action, data={"csrf_token": token, "team": "plat", "api_key": KEY, **fields})


def datasets(app: Flask) -> list[GeckoboardDataset]:
    with services_of(app).store.session() as session:
        rows = session.scalars(select(GeckoboardDataset)).all()
        session.expunge_all()
        return list(rows)


def test_an_added_dataset_is_pushed_and_listed_masked(
    app: Flask, client: FlaskClient, site: int, geckoboard: responses.RequestsMock
) -> None:
    schema = geckoboard.put(API, json={})
    data = geckoboard.put(f"{API}/data", json={})
    response = add(client, admin(client))
    assert response.status_code == 303, response.text
    assert (schema.call_count, data.call_count) == (1, 1)
    page = client.get(response.headers["Location"]).text
    (item,) = parse(page).find_all(data_geckoboard_dataset=True)
    assert item.attrs["data-geckoboard-state"] == "active"
    assert "okrlink.plat.key_results" in item.text and "…" + KEY[-4:] in item.text
    assert KEY not in page
    (row,) = datasets(app)
    assert row.team_key == "PLAT" and row.api_key != KEY


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"team": "NOPE"}, "no team NOPE"),
        ({"api_key": " "}, "API key"),
        ({"api_key": "a b"}, "API key"),
    ],
)
def test_a_refused_dataset_says_why_and_stores_nothing(
    app: Flask,
    client: FlaskClient,
    site: int,
    geckoboard: responses.RequestsMock,
    fields: dict[str, str],
    message: str,
) -> None:
    response = add(client, admin(client), **fields)
    assert response.status_code == 422
    assert message in parse(response.text).find(role="alert").text
    assert KEY not in response.text
    assert datasets(app) == []
    assert len(geckoboard.calls) == 0


def test_adding_needs_the_geckoboard_forms_token(
    app: Flask, client: FlaskClient, site: int, geckoboard: responses.RequestsMock
) -> None:
    page = admin(client)
    action, _token = form(page, "/jira/admin/geckoboard-datasets?")
    digest_token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert digest_token is not None  # the digest form's token is for the digest forms only
    for data in (
        {"team": "PLAT", "api_key": KEY},
        {"csrf_token": digest_token.group(1), "team": "PLAT", "api_key": KEY},
    ):
        response = client.post(action, data=data)
        assert response.status_code == 403
        assert "403 csrf" in response.text  # the page's error page names the code
    assert datasets(app) == []


def test_a_refused_key_is_parked_with_the_reason_and_can_be_removed(
    app: Flask, client: FlaskClient, site: int, geckoboard: responses.RequestsMock
) -> None:
    geckoboard.put(API, status=401, json={"error": {"message": "Your API key is invalid"}})
    add(client, admin(client))
    page = admin(client)
    (item,) = parse(page).find_all(data_geckoboard_dataset=True)
    assert item.attrs["data-geckoboard-state"] == "parked"
    assert "401" in item.text and "Your API key is invalid" in item.text
    action, token = form(page, "/jira/admin/geckoboard-datasets/remove")
    response = client.post(
        action, data={"csrf_token": token, "dataset": item.attrs["data-geckoboard-dataset"]}
    )
    assert response.status_code == 303
    assert datasets(app) == []
    with services_of(app).store.session() as session:
        assert session.scalars(select(Outbound).where(Outbound.kind == "geckoboard")).all() == []


def test_removing_a_dataset_of_another_site_is_not_found(
    app: Flask, client: FlaskClient, site: int, geckoboard: responses.RequestsMock
) -> None:
    services = services_of(app)
    now = datetime(2026, 11, 25, tzinfo=UTC)
    with services.store.session() as session:
        other = local_site(session).id
        import_team(session, other, now=now)
        foreign = add_dataset(
            session, other, team="PLAT", api_key=KEY, encrypt=services.tenants.encrypt, now=now
        ).id
    geckoboard.put(API, json={})
    geckoboard.put(f"{API}/data", json={})
    add(client, admin(client))
    page = admin(client)
    assert f'data-geckoboard-dataset="{foreign}"' not in page
    action, token = form(page, "/jira/admin/geckoboard-datasets/remove")
    response = client.post(action, data={"csrf_token": token, "dataset": str(foreign)})
    assert response.status_code == 404
    assert len(datasets(app)) == 2


def test_the_french_page_says_it_in_french(client: FlaskClient, site: int) -> None:
    page = client.get(signed_url("/jira/admin", {"lang": "fr"})).text
    assert "Résultats clés sur Geckoboard" in page and "Clé d’API Geckoboard" in page
