"""A fresh, empty database for a bench run, so a bench never meets (or touches) other data.

`--database-url` names a server the bench may use, not a database to fill: on PostgreSQL the
run creates its own database beside the one named and drops it afterwards; without a URL it
runs on a SQLite file in a temporary directory.
"""

from __future__ import annotations

import contextlib
import secrets
import tempfile
from collections.abc import Iterator

from sqlalchemy import create_engine, make_url, text


@contextlib.contextmanager
def throwaway_database(url: str) -> Iterator[str]:
    """Yield the URL of an empty database on `url`'s server (SQLite in a temporary file when
    `url` is empty); it is gone when the block ends."""
    if not url or make_url(url).get_backend_name() == "sqlite":
        with tempfile.TemporaryDirectory(prefix="okrlink-bench-") as tmp:
            yield f"sqlite:///{tmp}/bench.db"
        return
    server = make_url(url)
    name = f"okrlink_bench_{secrets.token_hex(4)}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield server.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
