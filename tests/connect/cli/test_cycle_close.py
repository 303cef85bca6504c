"""`okrlink cycle close`: the same close as the REST API's, the same stored result."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import responses
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from connect.cli import main
from connect.services import services_of
from sync.db.model import CycleClose
from tests.support.base import FakeClock
from tests.support.quarter import CYCLE, EXPECTED_CLOSE, post, stored_close, write_quarter


def test_closing_from_the_command_line_stores_what_the_api_stores(
    app: Flask, client: FlaskClient, admin: dict[str, str], runner: CliRunner
) -> None:
    write_quarter(client, admin)
    post(client, admin, "/key-results/PLAT-1.1/check-ins", {"value": 99.745})
    result = runner.invoke(
        main,
        [
            "cycle",
            "close",
            "--team",
            "PLAT",
            "--cycle",
            CYCLE,
            "--score",
            "PLAT-1.2=0.7",
            "--reason",
            "PLAT-1.2=Most deploys were safe by December",
            "--learned",
            "Failover drills pay",
            "--differently",
            "Start the drills earlier",
            "--carry",
            "PLAT-1.1",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "PLAT-1.1: carried into 2027-Q1" in result.output
    assert stored_close(app) == EXPECTED_CLOSE


def test_a_bad_close_names_the_field_exits_1_and_closes_nothing(
    app: Flask, client: FlaskClient, admin: dict[str, str], runner: CliRunner
) -> None:
    write_quarter(client, admin)
    result = runner.invoke(
        main, ["cycle", "close", "--team", "PLAT", "--cycle", CYCLE, "--score", "PLAT-1.1=0.9"]
    )
    assert result.exit_code == 1
    assert "scores.PLAT-1.1.reason" in result.output
    assert "Traceback" not in result.output
    assert stored_close(app)["closes"] == []
    twice = [
        runner.invoke(main, ["cycle", "close", "--team", "PLAT", "--cycle", CYCLE])
        for _ in range(2)
    ]
    assert twice[0].exit_code == 0, twice[0].output
    assert twice[1].exit_code == 1 and "closed" in twice[1].output


@responses.activate
def test_closing_with_a_space_publishes_the_retrospective(
    app: Flask, client: FlaskClient, admin: dict[str, str], runner: CliRunner
) -> None:
    from tests.support.app import CLIENT_KEY, install
    from tests.support.confluence import (
        CONFLUENCE_KEY,
        CONTENT,
        CREATED,
        NOT_FOUND,
        WIKI,
    )

    install(app)
    install(app, client_key=CONFLUENCE_KEY, base_url=WIKI, product="confluence")
    write_quarter(client, {**admin, "X-Okrlink-Site": CLIENT_KEY})
    responses.get(CONTENT, json=NOT_FOUND)
    responses.post(CONTENT, json=CREATED)
    result = runner.invoke(
        main,
        [
            "cycle",
            "close",
            "--site",
            CLIENT_KEY,
            "--team",
            "PLAT",
            "--cycle",
            CYCLE,
            "--learned",
            "Drills pay",
            "--space",
            "PLAT",
        ],
    )
    assert result.exit_code == 0, result.output
    assert f"retrospective: {WIKI}/spaces/PLAT/pages/393217/" in result.output
    assert json.loads(responses.calls[1].request.body)["space"] == {"key": "PLAT"}


@responses.activate
def test_a_refused_publication_is_parked_listed_and_published_after_a_retry(
    app: Flask, client: FlaskClient, admin: dict[str, str], runner: CliRunner, clock: FakeClock
) -> None:
    from tests.support.app import CLIENT_KEY, install
    from tests.support.confluence import (
        CONFLUENCE_KEY,
        CONTENT,
        CREATED,
        NOT_FOUND,
        PAGE_URL,
        REFUSED,
        WIKI,
    )

    site_id = install(app)
    install(app, client_key=CONFLUENCE_KEY, base_url=WIKI, product="confluence")
    write_quarter(client, {**admin, "X-Okrlink-Site": CLIENT_KEY})
    responses.get(CONTENT, json=NOT_FOUND)
    responses.post(CONTENT, status=403, json=REFUSED)
    closed = runner.invoke(
        main,
        [
            "cycle",
            "close",
            "--site",
            CLIENT_KEY,
            "--team",
            "PLAT",
            "--cycle",
            CYCLE,
            "--space",
            "PLAT",
        ],
    )
    assert closed.exit_code == 0, closed.output
    assert (
        "retrospective: publish the retrospective: Not permitted to create page in space "
        "PLAT (parked: okrlink outbound failed)"
    ) in closed.output
    listed = runner.invoke(main, ["outbound", "failed", "--site", CLIENT_KEY])
    assert listed.exit_code == 0, listed.output
    line = next(line for line in listed.output.splitlines() if "retro_page" in line)
    assert "PLAT/2026-Q4" in line and "Not permitted to create page in space PLAT" in line
    assert "1 parked" in listed.output
    responses.replace(responses.POST, CONTENT, json=CREATED)  # the space now lets the app in
    retried = runner.invoke(main, ["outbound", "retry", line.split()[0]])
    assert retried.exit_code == 0, retried.output
    clock.current = datetime.now(UTC) + timedelta(seconds=1)  # the retry made it due now
    services_of(app).jobs.flush_outbound(site_id)
    assert "0 parked" in runner.invoke(main, ["outbound", "failed"]).output
    with services_of(app).store.session() as session:
        stored = session.scalars(select(CycleClose)).one()
        assert (stored.retro_page_id, stored.retro_page_url) == ("393217", PAGE_URL)
    assert len([c for c in responses.calls if c.request.method == "POST"]) == 2
