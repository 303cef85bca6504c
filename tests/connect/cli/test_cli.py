"""The `okrlink` command: check, import, edit and re-import, export."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import func, select

from connect.cli import EXAMPLE_FILE, main
from connect.services import services_of
from sync.core import okrfile
from sync.db.model import KeyResult, Objective

BAD_FILE = Path(__file__).resolve().parents[2] / "sync" / "data" / "bad.okr.yml"


def _counts(app: Flask) -> tuple[int, int]:
    with services_of(app).store.session() as session:
        objectives = session.scalar(select(func.count()).select_from(Objective)) or 0
        krs = session.scalar(select(func.count()).select_from(KeyResult)) or 0
    return objectives, krs


def test_check_prints_each_finding_with_its_line_then_a_summary_and_fails_on_errors() -> None:
    result = CliRunner().invoke(main, ["check", str(BAD_FILE)])
    *findings, summary = result.output.strip().splitlines()
    assert len(findings) >= 4
    assert all(line.startswith(f"{BAD_FILE}:") for line in findings)
    text = result.output.lower()
    assert "objectives" in text and "owner" in text and "task" in text
    assert all(": warning:" in line for line in findings)
    assert summary == f"{BAD_FILE}: 4 objectives, 11 key results, {len(findings)} warnings"
    assert result.exit_code == 0


def test_check_counts_errors_and_fails_on_them(tmp_path: Path) -> None:
    path = tmp_path / "impossible.okr.yml"
    path.write_text(EXAMPLE_FILE.read_text().replace("target: 99.99", "target: 99.5", 1))
    result = CliRunner().invoke(main, ["check", str(path)])
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == f"{path}: 2 objectives, 8 key results, 1 error"


def test_check_of_a_clean_file_prints_a_one_line_summary_and_exits_0() -> None:
    result = CliRunner().invoke(main, ["check", str(EXAMPLE_FILE)])
    assert result.exit_code == 0
    assert result.output == f"{EXAMPLE_FILE}: 2 objectives, 8 key results, no findings\n"


def test_check_says_one_key_result_in_the_singular(tmp_path: Path) -> None:
    path = tmp_path / "one.okr.yml"
    path.write_text(
        "team: PLAT\ncycle: 2026-Q4\nobjectives:\n  - title: Be reliable\n"
        "    description: Customers run their payroll on it\n    key_results:\n"
        "      - title: Availability at 99.9%\n        baseline: 99\n        target: 99.9\n"
        "        owner: SRE lead\n"
    )
    result = CliRunner().invoke(main, ["check", str(path)])
    assert "has 1 active key result: use 3 to 5" in result.output
    assert result.output.splitlines()[-1] == f"{path}: 1 objective, 1 key result, 1 warning"
    assert result.exit_code == 0


def test_check_notes_an_objective_without_its_why_and_a_kr_counting_activity(
    tmp_path: Path,
) -> None:
    path = tmp_path / "activity.okr.yml"
    path.write_text(
        "team: PLAT\ncycle: 2026-Q4\nobjectives:\n  - title: Ship faster\n    key_results:\n"
        "      - title: Raise merged PRs per week from 30 to 45\n        baseline: 30\n"
        "        target: 45\n        owner: Engineering manager\n"
    )
    result = CliRunner().invoke(main, ["check", str(path)])
    assert "Objective PLAT-1 has no description: say why it matters" in result.output
    assert "KR PLAT-1.1 counts activity (merged PRs)" in result.output
    assert result.exit_code == 0


def test_commands_print_their_result_and_no_logs(app: Flask, runner: CliRunner) -> None:
    result = runner.invoke(main, ["import", str(EXAMPLE_FILE)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [f"{EXAMPLE_FILE}: 10 created, 0 updated, 0 unchanged"]


def test_check_of_malformed_yaml_names_the_line_and_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "broken.okr.yml"
    path.write_text("team: PLAT\ncycle: 2026-Q4\nobjectives:\n  - title: [oops\n")
    result = CliRunner().invoke(main, ["check", str(path)])
    assert result.exit_code == 1
    assert f"{path}:" in result.output


def test_import_twice_changes_nothing_and_an_edit_updates_in_place(
    app: Flask, runner: CliRunner, tmp_path: Path
) -> None:
    first = runner.invoke(main, ["import", str(EXAMPLE_FILE)])
    assert first.exit_code == 0, first.output
    counts = _counts(app)
    again = runner.invoke(main, ["import", str(EXAMPLE_FILE)])
    assert "0 created, 0 updated" in again.output
    assert _counts(app) == counts

    edited = tmp_path / "edited.okr.yml"
    edited.write_text(
        EXAMPLE_FILE.read_text()
        .replace("99.99", "99.95")
        .replace("Raise availability", "Lift availability")
    )
    runner.invoke(main, ["import", str(edited)])
    assert _counts(app) == counts
    exported = runner.invoke(main, ["export", "--team", "PLAT"])
    assert exported.exit_code == 0
    assert "Lift availability" in exported.output and "99.95" in exported.output


def test_export_round_trips_through_check_and_import(
    app: Flask, runner: CliRunner, tmp_path: Path
) -> None:
    runner.invoke(main, ["import", str(EXAMPLE_FILE)])
    exported = runner.invoke(main, ["export"]).output
    path = tmp_path / "exported.okr.yml"
    path.write_text(exported)
    assert runner.invoke(main, ["check", str(path)]).exit_code == 0
    assert okrfile.strip_lines(okrfile.load(path)) == okrfile.strip_lines(
        okrfile.load(EXAMPLE_FILE)
    )
    reimport = runner.invoke(main, ["import", str(path)])
    assert "0 created, 0 updated" in reimport.output


def test_import_into_an_unknown_site_fails_clearly(runner: CliRunner) -> None:
    result = runner.invoke(main, ["import", str(EXAMPLE_FILE), "--site", "nowhere.example"])
    assert result.exit_code == 1
    assert "no site 'nowhere.example'" in result.output


def test_tenants_list_shows_the_local_site_beside_installations(
    app: Flask, runner: CliRunner
) -> None:
    from tests.support.app import install

    install(app, client_key="jira:acme", base_url="https://acme.atlassian.net")
    result = runner.invoke(main, ["tenants", "list"])
    assert result.exit_code == 0, result.output
    rows = [line.split() for line in result.output.splitlines()[1:]]
    assert ["jira:acme", "acme.atlassian.net", "jira", "connect", "enabled"] in rows
    assert ["-", "local", "-", "-", "local", "(no", "Atlassian)"] in rows


def test_an_unknown_log_level_is_a_usage_error_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OKRLINK_LOG_LEVEL", "loud")
    result = CliRunner().invoke(main, ["check", str(EXAMPLE_FILE)])
    assert result.exit_code == 2
    assert "OKRLINK_LOG_LEVEL='LOUD': use one of" in result.output
    assert "Traceback" not in result.output


def test_a_setting_of_the_wrong_kind_is_named_not_traced(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OKRLINK_JQL_POLL_MINUTES", "often")
    result = runner.invoke(main, ["export"])
    assert result.exit_code == 2
    assert "OKRLINK_JQL_POLL_MINUTES='often': give a whole number" in result.output
    assert "Traceback" not in result.output
