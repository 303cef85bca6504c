"""Re-importing a file never moves a KR's value backwards silently: a newer check-in's value is
kept and the report says so; `--prefer-file` makes the file win, recorded as a check-in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from connect.cli import main
from connect.services import services_of
from sync.db.model import CheckIn, KeyResult
from sync.okrs import IMPORTER
from tests.support.base import FakeClock

FILE = """\
team: PLAT
cycle: 2026-Q4
objectives:
  - key: PLAT-1
    title: Make deploys boring
    key_results:
      - {key: PLAT-1.1, title: Cut failed deploys from 8% to 2%, baseline: 8, target: 2, owner: SRE}
      - {key: PLAT-1.2, title: Raise deploys per day from 1 to 2, baseline: 1, target: 2,
         current: 1.6, owner: SRE}
      - {key: PLAT-1.3, title: Cut rollback time from 30 to 5 minutes, baseline: 30, target: 5,
         owner: SRE}
"""


def _current(app: Flask) -> float | None:
    with services_of(app).store.session() as session:
        return session.scalar(select(KeyResult.current).where(KeyResult.key == "PLAT-1.2"))


def _exported_then_checked_in(
    app: Flask,
    client: FlaskClient,
    admin: dict[str, str],
    runner: CliRunner,
    tmp_path: Path,
    clock: FakeClock,
) -> Path:
    source = tmp_path / "plat.okr.yml"
    source.write_text(FILE)
    assert runner.invoke(main, ["import", str(source)]).exit_code == 0
    exported = tmp_path / "exported.okr.yml"
    exported.write_text(runner.invoke(main, ["export", "--team", "PLAT"]).output)
    assert "current: 1.6" in exported.read_text()
    clock.current = datetime.now(UTC) + timedelta(minutes=1)  # the check-in comes after
    check_in = {"value": 1.2, "status": "at_risk", "what": "Freeze week"}
    checked_in = client.post("/api/v1/key-results/PLAT-1.2/check-ins", headers=admin, json=check_in)
    assert checked_in.status_code == 201, checked_in.json
    assert _current(app) == 1.2
    return exported


def test_reimporting_an_older_export_keeps_the_newer_check_in(
    app: Flask,
    client: FlaskClient,
    admin: dict[str, str],
    runner: CliRunner,
    tmp_path: Path,
    clock: FakeClock,
) -> None:
    exported = _exported_then_checked_in(app, client, admin, runner, tmp_path, clock)
    result = runner.invoke(main, ["import", str(exported)])
    assert result.exit_code == 0, result.output
    today = clock.current.date().isoformat()
    assert f"PLAT-1.2: kept 1.2 from the check-in of {today}; the file says 1.6" in result.output
    assert _current(app) == 1.2
    again = runner.invoke(main, ["import", str(exported)])
    assert _current(app) == 1.2 and "kept 1.2" in again.output


def test_prefer_file_makes_the_file_win_as_a_check_in_by_the_importer(
    app: Flask,
    client: FlaskClient,
    admin: dict[str, str],
    runner: CliRunner,
    tmp_path: Path,
    clock: FakeClock,
) -> None:
    exported = _exported_then_checked_in(app, client, admin, runner, tmp_path, clock)
    result = runner.invoke(main, ["import", str(exported), "--prefer-file"])
    assert result.exit_code == 0, result.output
    assert "kept" not in result.output
    assert _current(app) == 1.6
    with services_of(app).store.session() as session:
        recorded = session.execute(select(CheckIn.author, CheckIn.value).order_by(CheckIn.id))
        assert [tuple(row) for row in recorded] == [(None, 1.2), (IMPORTER, 1.6)]
    plain = runner.invoke(main, ["import", str(exported)])  # the file is now the newest value
    assert "kept" not in plain.output and _current(app) == 1.6
