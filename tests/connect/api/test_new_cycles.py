"""Cycles of any length through the API: a quarter, a month, a year or two dates; a yearly
cycle holding its quarters; overlapping cycles of one team under the same parent refused."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from connect.services import services_of
from sync.db.model import Cycle

CYCLES = "/api/v1/cycles"


def _post(client: FlaskClient, admin: dict[str, str], **data: Any) -> Any:
    return client.post(CYCLES, json=data, headers=admin)


def _stored(app: Flask) -> list[tuple[str, str, str]]:
    with services_of(app).store.session() as session:
        rows = session.query(Cycle).order_by(Cycle.name).all()
        return [(c.name, c.start.isoformat(), c.end.isoformat()) for c in rows]


def test_a_quarter_a_month_a_year_and_custom_dates_are_cycles(
    client: FlaskClient, admin: dict[str, str]
) -> None:
    quarter = _post(client, admin, name="2027-Q1", team="PLAT")
    assert quarter.status_code == 201, quarter.json
    assert (quarter.json["start"], quarter.json["end"]) == ("2027-01-01", "2027-03-31")
    month = _post(client, admin, name="2027-05", team="SHOP")
    assert (month.json["start"], month.json["end"]) == ("2027-05-01", "2027-05-31")
    year = _post(client, admin, name="2028")
    assert (year.json["start"], year.json["end"]) == ("2028-01-01", "2028-12-31")
    custom = _post(client, admin, start="2027-06-01", end="2027-07-15", team="OPS")
    assert custom.json["name"] == "2027-06-01..2027-07-15"
    names = [c["name"] for c in client.get(CYCLES, headers=admin).json["cycles"]]
    assert names == ["2027-Q1", "2027-05", "2027-06-01..2027-07-15", "2028"]


def test_a_yearly_cycle_holds_its_quarters(client: FlaskClient, admin: dict[str, str]) -> None:
    assert _post(client, admin, name="2027", team="ACME").status_code == 201
    for number in range(1, 5):
        made = _post(client, admin, name=f"2027-Q{number}", parent="2027", team="ACME")
        assert made.status_code == 201, made.json
        assert made.json["parent"] == "2027"
    listed = {c["name"]: c["parent"] for c in client.get(CYCLES, headers=admin).json["cycles"]}
    assert listed == {"2027": None, **{f"2027-Q{n}": "2027" for n in range(1, 5)}}
    again = _post(client, admin, name="2027-Q2", parent="2027", team="ACME")
    assert again.status_code == 200  # the same cycle, asked twice


def test_overlapping_cycles_of_one_team_under_the_same_parent_are_refused(
    app: Flask, client: FlaskClient, admin: dict[str, str]
) -> None:
    _post(client, admin, name="2027", team="PLAT")
    _post(client, admin, name="2027-Q1", parent="2027", team="PLAT")
    before = _stored(app)
    refused = _post(
        client,
        admin,
        name="Jan-Apr",
        start="2027-01-15",
        end="2027-04-15",
        parent="2027",
        team="PLAT",
    )
    assert refused.status_code == 422
    assert refused.json["error"]["code"] == "cycle_overlap"
    assert refused.json["error"]["field"] == "start"
    assert "2027-Q1" in refused.json["error"]["message"]
    assert _stored(app) == before
    # Another team, or a month inside the quarter (another parent), does not clash.
    other = _post(
        client,
        admin,
        name="Shop Jan-Apr",
        start="2027-01-15",
        end="2027-04-15",
        parent="2027",
        team="SHOP",
    )
    assert other.status_code == 201, other.json
    month = _post(client, admin, name="2027-01", parent="2027-Q1", team="PLAT")
    assert month.status_code == 201, month.json


def test_bad_cycles_are_refused_and_store_nothing(
    app: Flask, client: FlaskClient, admin: dict[str, str]
) -> None:
    _post(client, admin, name="2027-Q1")
    before = _stored(app)
    cases = [
        ({"name": "Spring"}, 422, "invalid", "name"),
        ({"name": "x", "start": "2027-05-01"}, 422, "invalid", "end"),
        ({"name": "x", "start": "2027-05-01", "end": "2027-04-01"}, 422, "invalid", "end"),
        ({"name": "x", "start": "May 1st", "end": "2027-06-01"}, 422, "invalid", "start"),
        ({"name": "2027-07", "parent": "2027-Q1"}, 422, "invalid", "parent"),
        ({"name": "2027-02", "parent": "2031"}, 422, "invalid", "parent"),
        ({"name": "2027-Q1", "start": "2027-01-01", "end": "2027-02-01"}, 409, "conflict", "name"),
        ({"name": "2027-Q3", "colour": "red"}, 422, "invalid", "colour"),
        ({"name": "C" * 65}, 422, "invalid", "name"),
    ]
    for data, status, code, field in cases:
        answer = client.post(CYCLES, json=data, headers=admin)
        assert answer.status_code == status, (data, answer.json)
        assert answer.json["error"]["code"] == code, data
        assert answer.json["error"]["field"] == field, data
    assert _stored(app) == before
    assert client.post(CYCLES, json={"name": "2027-Q2"}).status_code == 401
    assert _stored(app) == before


def test_objectives_are_written_in_a_month_cycle(
    client: FlaskClient, admin: dict[str, str]
) -> None:
    _post(client, admin, name="2027-02", team="PLAT")
    made = client.post(
        "/api/v1/objectives",
        json={"team": "PLAT", "cycle": "2027-02", "title": "Make the platform reliable"},
        headers=admin,
    )
    assert made.status_code == 201, made.json
    assert made.json["cycle"] == "2027-02"
