"""The Jira admin page's digest channels: listed masked, added, refused, parked, removed."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from connect.services import services_of
from sync.db.model import DigestChannel
from sync.db.store import local_site
from sync.digest import ChannelSpec, add_channel
from tests.support.app import form_action, hidden, panel_site, signed_url
from tests.support.digest import import_team
from tests.support.ui import parse

SECRET_URL = "https://hooks.slack.com/services/T0001/B0001/VerySecretToken9876"


@pytest.fixture
def site(app: Flask) -> int:
    return panel_site(app)


def admin(client: FlaskClient, **params: str) -> str:
    response = client.get(signed_url("/jira/admin", params))
    assert response.status_code == 200
    return response.text


def add_action(page: str) -> str:
    (action,) = [
        a.replace("&amp;", "&")
        for a in re.findall(r'<form method="post" action="([^"]*)"', page)
        if "/jira/admin/digest-channels?" in a
    ]
    return action


def add(client: FlaskClient, page: str, **fields: str):  # type: ignore[no-untyped-def]
    data = {
        "csrf_token": hidden(page, "csrf_token"),
        "team": "PLAT",
        "kind": "slack",
        "url": SECRET_URL,
        "day": "mon",
        "time": "09:00",
        "tz": "Europe/Paris",
        "lang": "fr",
        **fields,
    }
    return client.post(add_action(page), data=data)


def channels(app: Flask) -> list[DigestChannel]:
    with services_of(app).store.session() as session:
        rows = session.scalars(select(DigestChannel)).all()
        session.expunge_all()
        return list(rows)


def test_an_added_channel_is_listed_masked_and_its_url_never_shown(
    app: Flask, client: FlaskClient, site: int
) -> None:
    response = add(client, admin(client))
    assert response.status_code == 303
    assert "/jira/admin/view" in response.headers["Location"]
    page = client.get(response.headers["Location"]).text
    (item,) = parse(page).find_all(data_digest_channel=True)
    assert item.attrs["data-digest-state"] == "active"
    assert "hooks.slack.com/…9876" in item.text and "mon 09:00 Europe/Paris" in item.text
    assert "VerySecretToken" not in page
    (row,) = channels(app)
    assert (row.team_key, row.kind, row.lang) == ("PLAT", "slack", "fr")


@pytest.mark.parametrize(
    "fields,message",
    [
        ({"url": "http://hooks.slack.com/services/x"}, "only https"),
        ({"team": "NOPE"}, "no team NOPE"),
        ({"tz": "Mars/Olympus"}, "unknown time zone"),
        ({"time": "25:00"}, "HH:MM"),
        ({"kind": "email"}, "kind must be"),
    ],
)
def test_a_refused_channel_says_why_and_changes_nothing(
    app: Flask, client: FlaskClient, site: int, fields: dict[str, str], message: str
) -> None:
    response = add(client, admin(client), **fields)
    assert response.status_code == 422
    assert message in parse(response.text).find(role="alert").text
    assert channels(app) == []
    assert "hooks.slack.com/services" not in response.text  # the URL is not echoed


def test_adding_needs_the_admin_pages_csrf_token(
    app: Flask, client: FlaskClient, site: int
) -> None:
    page = admin(client)
    response = client.post(
        add_action(page), data={"team": "PLAT", "kind": "slack", "url": SECRET_URL}
    )
    assert response.status_code == 403
    assert channels(app) == []


def test_a_parked_channel_shows_why_and_can_be_removed(
    app: Flask, client: FlaskClient, site: int
) -> None:
    add(client, admin(client))
    with services_of(app).store.session() as session:
        row = session.scalars(select(DigestChannel)).one()
        row.state, row.parked_reason = "parked", "the webhook answered 410: it was removed"
    page = admin(client)
    (item,) = parse(page).find_all(data_digest_channel=True)
    assert item.attrs["data-digest-state"] == "parked"
    assert "410" in item.text
    response = client.post(
        form_action(page, "/jira/admin/digest-channels/remove"),
        data={
            "csrf_token": hidden(page, "csrf_token"),
            "channel": item.attrs["data-digest-channel"],
        },
    )
    assert response.status_code == 303
    assert channels(app) == []
    assert parse(admin(client)).find_all(data_digest_channel=True) == []


def test_removing_a_channel_of_another_site_is_not_found(
    app: Flask, client: FlaskClient, site: int
) -> None:
    services = services_of(app)
    with services.store.session() as session:
        other = local_site(session).id
        import_team(session, other, now=datetime(2026, 11, 25, tzinfo=UTC))
        foreign = add_channel(
            session,
            other,
            ChannelSpec(team="PLAT", kind="slack", url=SECRET_URL),
            encrypt=services.tenants.encrypt,
            now=datetime(2026, 11, 25, tzinfo=UTC),
            urls=services.outbound,
        ).id
    add(client, admin(client))
    page = admin(client)
    response = client.post(
        form_action(page, "/jira/admin/digest-channels/remove"),
        data={"csrf_token": hidden(page, "csrf_token"), "channel": str(foreign)},
    )
    assert response.status_code == 404
    assert len(channels(app)) == 2
    assert f'data-digest-channel="{foreign}"' not in page


@pytest.mark.parametrize(
    "url,category",
    [
        ("https://127.0.0.2/services/T0/B0/x", "loopback"),
        ("https://[::1]/services/T0/B0/x", "loopback"),
        ("https://10.0.0.5/services/T0/B0/x", "private"),
        ("https://169.254.169.254/latest/meta-data/", "link-local"),
        ("https://[::ffff:a9fe:a9fe]/latest/meta-data/", "link-local"),
        ("https://100.64.0.1/hook", "carrier-grade NAT"),
    ],
)
def test_a_webhook_on_a_private_or_local_network_is_refused_beside_the_url_field(
    app: Flask, client: FlaskClient, site: int, url: str, category: str
) -> None:
    response = add(client, admin(client), url=url)
    assert response.status_code == 422
    form = parse(response.text).find("form", data_digest_add=True)
    alert = form.find(role="alert")
    assert alert.attrs["data-error-code"] == "url_not_allowed"
    assert alert.attrs["data-error-field"] == "url"
    assert f"is a {category} address" in alert.text
    elements = [child for child in form.children if not isinstance(child, str)]
    beside = elements[elements.index(alert) - 1]  # the alert follows the URL's label
    assert beside.find("input").attrs["name"] == "url"
    assert beside.find("input").attrs["aria-invalid"] == "true"
    assert channels(app) == []
    assert "meta-data" not in response.text and "/services/T0" not in response.text


def test_an_http_webhook_is_refused_with_its_code(
    app: Flask, client: FlaskClient, site: int
) -> None:
    response = add(client, admin(client), url="http://hooks.slack.com/services/x")
    assert response.status_code == 422
    alert = parse(response.text).find(role="alert")
    assert (alert.attrs["data-error-code"], alert.attrs["data-error-field"]) == (
        "url_not_https",
        "url",
    )
    assert channels(app) == []
