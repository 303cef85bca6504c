"""`okrlink dashboards token create | list | revoke`: shown once, stored hashed, revoked at once;
`okrlink dashboards geckoboard add | list | remove`: pushed now, masked, parked when refused."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import trustme
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from connect.cli import main
from connect.services import services_of
from connect.settings import Settings
from sync.db.model import DashboardToken, GeckoboardDataset, Outbound
from sync.db.store import local_site
from tests.support.chat import Answer, Receiver, receiver, trust
from tests.support.digest import import_team


@pytest.fixture
def runner(app: Flask, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A CLI runner on the test's database, with the local team PLAT (3 x 5 KRs)."""
    monkeypatch.setenv("OKRLINK_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("OKRLINK_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("OKRLINK_SECRET_KEY", settings.secret_key)
    with services_of(app).store.session() as session:
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
    with services_of(app).store.session() as session:
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
    with services_of(app).store.session() as session:
        assert session.scalars(select(DashboardToken)).all() == []


# --- geckoboard ----------------------------------------------------------------------------

GECKO_KEY = "9f8e7d6c5b4a39281706f5e4d3c2b1a0"


@pytest.fixture
def geckoboard(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Receiver]:
    """The Datasets API on a local HTTPS receiver; the CLI's pushes run inline."""
    ca = trustme.CA()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", trust(ca, tmp_path))
    monkeypatch.setenv("OKRLINK_QUEUE_IMMEDIATE", "1")
    with receiver(default=Answer(200, "{}"), tls=ca) as found:
        monkeypatch.setenv("OKRLINK_GECKOBOARD_API_URL", found.base_url)
        yield found


def test_geckoboard_add_pushes_list_masks_remove_forgets(
    app: Flask, runner: CliRunner, geckoboard: Receiver
) -> None:
    added = runner.invoke(
        main, ["dashboards", "geckoboard", "add", "--team", "PLAT", "--api-key", GECKO_KEY]
    )
    assert added.exit_code == 0, added.output
    assert "okrlink.plat.key_results" in added.output and GECKO_KEY not in added.output
    assert [(p.method, p.path) for p in geckoboard.posts] == [
        ("PUT", "/datasets/okrlink.plat.key_results"),
        ("PUT", "/datasets/okrlink.plat.key_results/data"),
    ]
    assert len(geckoboard.posts[1].body["data"]) == 15
    listed = runner.invoke(main, ["dashboards", "geckoboard", "list"])
    assert listed.exit_code == 0, listed.output
    assert "…" + GECKO_KEY[-4:] in listed.output and "active" in listed.output
    assert GECKO_KEY not in listed.output
    with services_of(app).store.session() as session:
        (row_id,) = session.scalars(select(GeckoboardDataset.id)).all()
    removed = runner.invoke(main, ["dashboards", "geckoboard", "remove", str(row_id)])
    assert removed.exit_code == 0, removed.output
    with services_of(app).store.session() as session:
        assert session.scalars(select(GeckoboardDataset)).all() == []


def test_a_refused_key_shows_in_list_and_outbound_failed(
    runner: CliRunner, geckoboard: Receiver
) -> None:
    geckoboard.answer_next(Answer(403, '{"error": {"message": "Forbidden"}}'))
    added = runner.invoke(
        main, ["dashboards", "geckoboard", "add", "--team", "PLAT", "--api-key", GECKO_KEY]
    )
    assert added.exit_code == 0, added.output
    listed = runner.invoke(main, ["dashboards", "geckoboard", "list"]).output
    assert "parked" in listed and "403" in listed
    failed = runner.invoke(main, ["outbound", "failed"]).output
    assert "geckoboard" in failed and "okrlink.plat.key_results" in failed and "403" in failed
    assert GECKO_KEY not in listed + failed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--team", "NOPE", "--api-key", GECKO_KEY], "team: no team NOPE"),
        (["--team", "PLAT", "--api-key", "  "], "api_key:"),
        (["--team", "PLAT", "--api-key", "two words"], "api_key:"),
        (["--site", "nowhere", "--team", "PLAT", "--api-key", GECKO_KEY], "no site 'nowhere'"),
    ],
)
def test_geckoboard_add_refuses_and_stores_nothing(
    app: Flask, runner: CliRunner, geckoboard: Receiver, args: list[str], message: str
) -> None:
    refused = runner.invoke(main, ["dashboards", "geckoboard", "add", *args])
    assert refused.exit_code == 1 and message in refused.output, refused.output
    assert GECKO_KEY not in refused.output
    assert geckoboard.posts == []
    with services_of(app).store.session() as session:
        assert session.scalars(select(GeckoboardDataset)).all() == []
        assert session.scalars(select(Outbound)).all() == []
    missing = runner.invoke(main, ["dashboards", "geckoboard", "remove", "7"])
    assert missing.exit_code == 1 and "no geckoboard dataset 7" in missing.output
