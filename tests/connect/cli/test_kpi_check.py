"""`okrlink check` and the import on `kpis:`: findings, storage, export."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from flask import Flask

from connect.cli import main
from connect.services import services_of
from sync import kpis
from sync.core import okrfile
from sync.db.store import local_site
from sync.okrs import export_team_okrs, import_team_okrs

FILE = """\
team: PLAT
cycle: 2026-Q4
objectives:
  - key: PLAT-1
    title: Small changes reach users safely
    description: Customers stop meeting our regressions
    key_results:
      - {key: PLAT-1.1, title: Reduce the change failure rate from 15% to 5%, kind: metric,
         baseline: 15, target: 5, unit: "%", owner: Platform team, kpi: PLAT-K1}
      - {key: PLAT-1.2, title: Cut lead time for changes from 48 h to 24 h, kind: github,
         measure: change_lead_time_hours, baseline: 48, target: 24, owner: Platform team,
         repository: acme/api}
      - {key: PLAT-1.3, title: Reduce time to restore from 24 h to 1 h, kind: github,
         measure: time_to_restore_hours, baseline: 24, target: 1, owner: Platform team,
         incident_jql: "project = OPS AND type = Incident"}
kpis:
  - key: PLAT-K1
    title: Change failure rate
    kind: metric
    unit: "%"
    healthy: {max: 15}
    drop_alert: 20
    current: 12
  - key: PLAT-K2
    title: Deployments a week
    kind: github
    measure: deployment_frequency
    owner: 557058:f58131cb-b67d-43c7-b30d-6b58d40bd077
"""


def test_check_finds_a_kpi_without_a_range_and_one_owned_by_a_person(tmp_path: Path) -> None:
    path = tmp_path / "team.okr.yml"
    path.write_text(FILE)
    result = CliRunner().invoke(main, ["check", str(path)])
    assert result.exit_code == 0, result.output  # warnings only
    lines = result.output.strip().splitlines()
    assert lines == [
        f"{path}:24: warning: KPI PLAT-K2 has no healthy range: give healthy: {{min: ..}} and/or "
        "{max: ..}, the values between which nothing is asked of anyone.",
        f"{path}:24: warning: KPI PLAT-K2 is owned by a person "
        "(557058:f58131cb-b67d-43c7-b30d-6b58d40bd077): a KPI is the team's health signal; "
        "leave owner empty or name the team.",
        f"{path}: 1 objective, 3 key results, 2 warnings",
    ]


def test_a_kpi_with_an_unknown_measure_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "team.okr.yml"
    path.write_text(
        FILE.replace("measure: deployment_frequency\n    owner", "measure: mood\n    owner")
    )
    result = CliRunner().invoke(main, ["check", str(path)])
    assert result.exit_code == 1
    assert "KPI PLAT-K2 has measure 'mood'" in result.output


def test_import_stores_kpis_and_scopes_and_export_gives_them_back(app: Flask) -> None:
    okrs = okrfile.parse(FILE)
    with services_of(app).store.session() as session:
        site_id = local_site(session).id
        import_team_okrs(session, site_id, okrs)
        stored = {kpi.key: kpi for kpi in kpis.list_kpis(session, site_id, team="PLAT")}
        assert (stored["PLAT-K1"].current, stored["PLAT-K1"].health) == (12, "healthy")
        assert stored["PLAT-K2"].health == "healthy"  # nothing deployed: 0 a week, no range
        exported = export_team_okrs(session, site_id, team="PLAT")
        again = import_team_okrs(session, site_id, okrs)
    assert okrfile.strip_lines(exported[0]) == okrfile.strip_lines(okrs)
    assert again.changed_kr_ids == set()


def test_the_import_names_a_kpis_person_owner_the_site_knows(
    app: Flask, runner: CliRunner, tmp_path: Path
) -> None:
    from datetime import UTC, datetime

    from sync.db.model import Person

    owner = "557058:f58131cb-b67d-43c7-b30d-6b58d40bd077"
    with services_of(app).store.session() as session:
        site_id = local_site(session).id
        session.add(
            Person(
                site_id=site_id,
                account_id=owner,
                display_name="Dana Reyes",
                state="active",
                fetched_at=datetime.now(UTC),
            )
        )
    path = tmp_path / "team.okr.yml"
    path.write_text(FILE)
    result = runner.invoke(main, ["import", str(path)])
    assert result.exit_code == 0, result.output
    assert "KPI PLAT-K2 is owned by a person (Dana Reyes)" in result.output
    assert owner not in result.output
