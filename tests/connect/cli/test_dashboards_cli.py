"""`okrlink dashboards token create | list | revoke`: shown once, stored hashed, revoked at once."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from connect.cli import main
from connect.settings import Settings
from sync.db.model import DashboardToken
from sync.db.store import local_site
from tests.support.digest import import_team


@pytest.fixture
def runner(app: Flask, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A CLI runner on the test's database, with the local team PLAT (3 x 5 KRs)."""
    monkeypatch.setenv("OKRLINK_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("OKRLINK_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("OKRLINK_SECRET_KEY", settings.secret_key)
    with app.extensions["okrlink"].store.session() as session:
        import_team(session, local_site(session).id, now=datetime.now(UTC))
    return CliRunner()


def test_a_token_is_shown_once_listed_masked_and_revoked(
    app: Flask, client: FlaskClient, runner: CliRunner
) -> None:
    made = runner.invoke(main, ["dashboards", "token", "create", "--name", "grafana"])
    assert made.exit_code == 0, made.output
    token = re.search(r"^(okd_\S+)$", made.output, re.M)
    assert token is not None, made.output
    secret = token.group(1)
    with app.extensions["okrlink"].store.session() as session:
        row = session.scalars(select(DashboardToken)).one()
        assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
        assert row.name == "grafana"
    scraped = client.get("/api/v1/metrics", headers={"Authorization": f"Bearer {secret}"})
    assert scraped.status_code == 200
    assert 'kr="PLAT-1.1"' in scraped.text

    listed = runner.invoke(main, ["dashboards", "token", "list"])
    assert listed.exit_code == 0, listed.output
    assert "grafana" in listed.output and "active" in listed.output
    assert secret not in listed.output and secret[:12] in listed.output

    revoked = runner.invoke(main, ["dashboards", "token", "revoke", str(row.id)])
    assert revoked.exit_code == 0, revoked.output
    refused = client.get("/api/v1/metrics", headers={"Authorization": f"Bearer {secret}"})
    assert refused.status_code == 401
    assert refused.json["error"]["code"] == "dashboard_token_invalid"
    assert "revoked" in runner.invoke(main, ["dashboards", "token", "list"]).output


def test_refusals_name_what_to_fix_and_store_nothing(app: Flask, runner: CliRunner) -> None:
    unknown_site = runner.invoke(main, ["dashboards", "token", "create", "--site", "nowhere"])
    assert unknown_site.exit_code == 1 and "no site 'nowhere'" in unknown_site.output
    too_long = runner.invoke(main, ["dashboards", "token", "create", "--name", "x" * 65])
    assert too_long.exit_code == 1 and "name" in too_long.output
    missing = runner.invoke(main, ["dashboards", "token", "revoke", "42"])
    assert missing.exit_code == 1 and "no dashboard token 42" in missing.output
    with app.extensions["okrlink"].store.session() as session:
        assert session.scalars(select(DashboardToken)).all() == []
