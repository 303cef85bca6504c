"""`OKRLINK_SECRET_KEY` at start-up, and `okrlink secrets rotate`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet
from flask import Flask
from sqlalchemy import select

from connect.app import create_app
from connect.cli import EXAMPLE_FILE, main
from connect.services import services_of
from connect.settings import Settings
from sync.db.model import Installation
from sync.keys import DEV_KEY_FILE, SecretKeyError, load_keys
from sync.tenants import record_install
from tests.support.base import ROOT

NEW = Fernet.generate_key().decode()
SERVER_COMMANDS = (
    ["serve", "--port", "0"],
    ["worker"],
    ["web", "--port", "8999"],
    ["demo", "--no-serve"],
    ["import", str(EXAMPLE_FILE)],
    ["secrets", "rotate"],
)


@pytest.fixture
def keyless(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An environment with no OKRLINK_SECRET_KEY and no OKRLINK_DEV, on a fresh data dir."""
    monkeypatch.delenv("OKRLINK_SECRET_KEY", raising=False)
    monkeypatch.delenv("OKRLINK_DEV", raising=False)
    monkeypatch.delenv("OKRLINK_DATABASE_URL", raising=False)
    monkeypatch.setenv("OKRLINK_DATA_DIR", str(tmp_path))
    return tmp_path


@pytest.mark.parametrize("argv", SERVER_COMMANDS, ids=lambda argv: argv[0])
def test_every_command_refuses_to_start_without_the_key_naming_it(
    keyless: Path, argv: list[str]
) -> None:
    result = CliRunner().invoke(main, argv)
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Error: OKRLINK_SECRET_KEY is not set")
    assert "Traceback" not in result.output
    assert not (keyless / DEV_KEY_FILE).exists()
    assert not (keyless / "okrlink.db").exists()  # refused before anything was opened


def test_a_malformed_key_is_refused_in_one_line(
    keyless: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OKRLINK_SECRET_KEY", "replace-with-a-fernet-key")
    result = CliRunner().invoke(main, ["worker"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: OKRLINK_SECRET_KEY: the key is not a Fernet key")
    assert "replace-with" not in result.output


def test_create_app_refuses_without_the_key(tmp_path: Path) -> None:
    with pytest.raises(SecretKeyError, match="OKRLINK_SECRET_KEY"):
        create_app(Settings(data_dir=tmp_path, queue_immediate=True))
    assert not (tmp_path / DEV_KEY_FILE).exists()


def test_a_real_worker_process_without_the_key_exits_with_one_line(keyless: Path) -> None:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"OKRLINK_SECRET_KEY", "OKRLINK_DEV"}
    }
    finished = subprocess.run(
        [str(Path(sys.executable).parent / "okrlink"), "worker"],
        cwd=ROOT,
        env={**environment, "PYTHONPATH": str(ROOT), "OKRLINK_DATA_DIR": str(keyless)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert finished.returncode == 1
    assert finished.stdout == ""
    lines = finished.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Error: OKRLINK_SECRET_KEY is not set")


def test_the_wsgi_entry_point_without_the_key_exits_with_one_line(keyless: Path) -> None:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"OKRLINK_SECRET_KEY", "OKRLINK_DEV"}
    }
    finished = subprocess.run(
        [sys.executable, "-c", "import connect.wsgi"],
        cwd=ROOT,
        env={**environment, "PYTHONPATH": str(ROOT), "OKRLINK_DATA_DIR": str(keyless)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert finished.returncode == 1
    lines = finished.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("okrlink: OKRLINK_SECRET_KEY is not set")


def test_rotate_rewrites_the_stored_secrets_and_lets_the_old_key_go(
    app: Flask, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = services_of(app).store
    with store.session() as session:
        for number in (1, 2):
            record_install(
                session,
                client_key=f"jira:{number}",
                base_url=f"https://site{number}.atlassian.net",
                product="jira",
                shared_secret=f"secret-{number}",
                encrypt=services_of(app).keys.encrypt,
            )
    monkeypatch.setenv("OKRLINK_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("OKRLINK_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("OKRLINK_SECRET_KEY", f"{NEW},{settings.secret_key}")

    result = CliRunner().invoke(main, ["secrets", "rotate"])
    assert result.exit_code == 0, result.output
    assert "rewrote 2 secret(s) with the first key; 0 already used it" in result.output
    assert "the other keys of OKRLINK_SECRET_KEY can now be removed" in result.output

    new_only = load_keys(NEW, data_dir=tmp_path, dev=False)
    with store.session() as session:
        secrets = [row.shared_secret for row in session.scalars(select(Installation))]
    assert sorted(new_only.decrypt(token or "") for token in secrets) == ["secret-1", "secret-2"]

    monkeypatch.setenv("OKRLINK_SECRET_KEY", NEW)
    again = CliRunner().invoke(main, ["secrets", "rotate"])
    assert again.exit_code == 0
    assert "rewrote 0 secret(s) with the first key; 2 already used it" in again.output


def test_rotate_without_the_key_that_wrote_a_secret_fails_and_says_so(
    app: Flask, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    with services_of(app).store.session() as session:
        record_install(
            session,
            client_key="jira:1",
            base_url="https://site1.atlassian.net",
            product="jira",
            shared_secret="secret-1",
            encrypt=services_of(app).keys.encrypt,
        )
    monkeypatch.setenv("OKRLINK_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("OKRLINK_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("OKRLINK_SECRET_KEY", NEW)  # the old key dropped too early
    result = CliRunner().invoke(main, ["secrets", "rotate"])
    assert result.exit_code == 1
    assert "no key of OKRLINK_SECRET_KEY decrypts installations.shared_secret" in result.output
    assert "keep the key that wrote them" in result.output
    with services_of(app).store.session() as session:
        row = session.scalars(select(Installation)).one()
        assert services_of(app).keys.decrypt(row.shared_secret or "") == "secret-1"
