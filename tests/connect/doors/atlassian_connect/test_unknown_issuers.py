"""Tokens naming an installation that does not exist: refused, and remembered as unknown for a
short while, so a stream of them costs no database read each (nor a key fetch for an unknown
install `kid`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

from connect.services import services_of
from sync.tenants import UNKNOWN_CACHE_SECONDS, Tenants
from tests.support.app import CLIENT_KEY, SECRET, install
from tests.support.signing import connect_token


@contextmanager
def statements(app: Flask) -> Iterator[list[str]]:
    """The SQL statements run meanwhile."""
    engine = services_of(app).store.engine
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_unknown_issuer_is_401_and_then_costs_no_database_read(
    app: Flask, client: FlaskClient
) -> None:
    token = connect_token(
        SECRET, client_key="made-up-installation", method="GET", url="/api/v1/objectives"
    )
    headers = {"Authorization": f"JWT {token}"}
    first = client.get("/api/v1/objectives", headers=headers)
    assert first.status_code == 401 and first.json["error"]["code"] == "unknown_issuer"
    with statements(app) as seen:
        for _ in range(20):
            again = client.get("/api/v1/objectives", headers=headers)
            assert again.status_code == 401
            assert again.json["error"]["code"] == "unknown_issuer"
    assert not [s for s in seen if "installations" in s]


def test_the_unknown_mark_expires_and_an_install_lifts_it_at_once(app: Flask) -> None:
    services = services_of(app)
    clock = Clock()
    registry = Tenants(store=services.store, keys=services.keys, clock=clock)
    with statements(app) as seen:
        assert registry.secret_for("later-installed") is None
        assert registry.secret_for("later-installed", fresh=True) is None
    assert len(seen) == 1  # the fresh retry did not read again
    clock.now += UNKNOWN_CACHE_SECONDS + 1
    with statements(app) as seen:
        assert registry.tenant("later-installed") is None
    assert len(seen) == 1  # expired: read again
    install(app, client_key=CLIENT_KEY)
    assert registry.tenant(CLIENT_KEY) is not None  # never marked: found
    assert registry.tenant("later-installed") is None
    registry.forget("later-installed")  # what the install lifecycle call does
    with statements(app) as seen:
        registry.tenant("later-installed")
    assert len(seen) == 1
