"""`rotate_secrets`: every encrypted column re-encrypted, so the old key can go."""

from __future__ import annotations

import re
from pathlib import Path

from cryptography.fernet import Fernet
from flask import Flask
from sqlalchemy import select

from connect.services import services_of
from sync.asana_accounts import save_connection
from sync.db import model
from sync.db.model import AsanaConnection, AsanaWebhook, DigestChannel, Installation, Team
from sync.db.store import Store, local_site
from sync.keys import AppKeys, load_keys
from sync.secrets import ENCRYPTED_COLUMNS, rotate_secrets
from sync.tenants import record_install

NEW = Fernet.generate_key().decode()
PLAINTEXTS = {
    "shared": "connect-shared-secret",
    "token": "asana-access-token",
    "refresh": "asana-refresh-token",
    "hook": "asana-x-hook-secret",
    "url": "https://hooks.slack.com/services/T0/B0/secret",
}


def _store_secrets(store: Store, keys: AppKeys) -> None:
    """One value in every encrypted column, written with `keys`."""
    with store.session() as session:
        installation = record_install(
            session,
            client_key="jira:rotate",
            base_url="https://rotate.atlassian.net",
            product="jira",
            shared_secret=PLAINTEXTS["shared"],
            encrypt=keys.encrypt,
        )
        site_id = installation.site_id
        save_connection(
            session,
            site_id,
            token=PLAINTEXTS["token"],
            refresh_token=PLAINTEXTS["refresh"],
            encrypt=keys.encrypt,
            auth="oauth",
        )
        session.add(
            AsanaWebhook(
                site_id=site_id,
                subscription="sub-1",
                project_gid="1",
                secret=keys.encrypt(PLAINTEXTS["hook"]),
            )
        )
        session.add(Team(site_id=site_id, key="PLAT", name="Platform"))
        session.add(
            DigestChannel(
                site_id=site_id,
                team_key="PLAT",
                kind="slack",
                url=keys.encrypt(PLAINTEXTS["url"]),
                url_hint="https://hooks.slack.com/…",
            )
        )
        local_site(session)  # a site without secrets changes nothing


def _read_all(store: Store, keys: AppKeys) -> dict[str, str]:
    with store.session() as session:
        installation = session.scalars(select(Installation)).one()
        connection = session.scalars(select(AsanaConnection)).one()
        hook = session.scalars(select(AsanaWebhook)).one()
        channel = session.scalars(select(DigestChannel)).one()
        assert installation.shared_secret and connection.refresh_token and hook.secret
        return {
            "shared": keys.decrypt(installation.shared_secret),
            "token": keys.decrypt(connection.access_token),
            "refresh": keys.decrypt(connection.refresh_token),
            "hook": keys.decrypt(hook.secret),
            "url": keys.decrypt(channel.url),
        }


def test_after_rotate_a_store_opened_with_only_the_new_key_reads_every_secret(
    app: Flask, tmp_path: Path
) -> None:
    services = services_of(app)
    store: Store = services.store
    old = services.keys  # the key the test app runs with
    _store_secrets(store, old)
    with store.session() as session:
        before = session.scalars(select(Installation)).one().updated_at

    both = load_keys(f"{NEW},{services.settings.secret_key}", data_dir=tmp_path, dev=False)
    with store.session() as session:
        rotation = rotate_secrets(session, both)
    assert (rotation.rewritten, rotation.current, rotation.unreadable) == (5, 0, ())

    new_only = load_keys(NEW, data_dir=tmp_path, dev=False)
    assert _read_all(store, new_only) == PLAINTEXTS
    with store.session() as session:
        assert session.scalars(select(Installation)).one().updated_at == before
        again = rotate_secrets(session, both)
    assert (again.rewritten, again.current) == (0, 5)


def test_a_secret_no_key_opens_is_reported_and_left_as_it_is(app: Flask, tmp_path: Path) -> None:
    store: Store = services_of(app).store
    stranger = load_keys(Fernet.generate_key().decode(), data_dir=tmp_path, dev=False)
    _store_secrets(store, stranger)
    new_only = load_keys(NEW, data_dir=tmp_path, dev=False)
    with store.session() as session:
        rotation = rotate_secrets(session, new_only)
    assert rotation.rewritten == 0
    assert len(rotation.unreadable) == 5
    assert "installations.shared_secret id" in rotation.unreadable[0]
    assert _read_all(store, stranger) == PLAINTEXTS


def test_every_column_the_model_marks_as_a_fernet_token_is_rotated() -> None:
    source = Path(model.__file__).read_text()
    marked = set()
    table = ""
    for line in source.splitlines():
        if found := re.match(r'\s+__tablename__ = "(\w+)"', line):
            table = found.group(1)
        if found := re.match(r"\s+(\w+): Mapped\[.*#.*Fernet token", line):
            marked.add(f"{table}.{found.group(1)}")
    listed = {f"{column.class_.__tablename__}.{column.key}" for column in ENCRYPTED_COLUMNS}
    assert marked == listed
