"""The SQLAlchemy store: engine set-up, migrations, sessions, and site-scoped lookups.

Every query that reads OKRs or work takes a `site_id`: there is no unscoped accessor.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from sync.db.changes import OkrCommits
from sync.db.model import (
    LOCAL_SITE,
    Base,
    CheckIn,
    Cycle,
    Installation,
    KeyResult,
    Link,
    Objective,
    Site,
    Snapshot,
    Team,
)
from sync.db.raw import release_held
from sync.errors import NotFoundError

ALEMBIC_DIR = Path(__file__).with_name("alembic")
MIGRATION_LOCK = 4242001
"""The PostgreSQL advisory lock held while migrations run (one process migrates at a time)."""
POOL_SIZE = 10
"""PostgreSQL connections kept per process: at least one per request thread (`okrlink web
--threads` stays at or under it), so no request waits for a connection another holds."""


class SiteNotFound(NotFoundError, LookupError):
    """Raised when a site named by clientKey, base URL or name does not exist (answered 404)."""


@dataclass(slots=True)
class Store:
    """Owns the engine and hands out sessions; one per process."""

    engine: Engine
    sessions: sessionmaker[Session]
    _writers: SqliteWriters | None = None
    okr_commits: OkrCommits | None = None
    """PostgreSQL: commits that changed OKRs, announced to listeners (`sync/db/changes.py`)."""

    def __post_init__(self) -> None:
        if self.engine.dialect.name == "postgresql":
            self.okr_commits = OkrCommits(self.engine)
        database = self.engine.url.database
        if self.engine.dialect.name == "sqlite" and database not in (None, "", ":memory:"):
            self._writers = SqliteWriters(Path(f"{self.engine.url.database}.writers"))

    def write_turn(self) -> AbstractContextManager[None]:
        """Wait for this process's turn to write (SQLite only; other databases lock rows)."""
        return self._writers.turn() if self._writers is not None else nullcontext()

    @classmethod
    def connect(cls, url: str, *, pre_ping: bool = False, **engine_options: Any) -> Store:
        """`pre_ping`: test each pooled connection before use (the worker's engine).

        Measured by `bench/pre_ping.py` on PostgreSQL over loopback: the ping is one more
        round trip per checkout, about as much as the intake's one INSERT, so the web
        processes go without it: a dropped connection fails its request, SQLAlchemy retires
        every older pooled connection at once, and the failed request was never acknowledged
        (Jira and GitHub redeliver on a 5xx). The worker pays it: after a server restart its
        next job would otherwise fail on a stale connection, and a failed sweep cost a minute.
        """
        if url.startswith("sqlite"):
            engine_options.setdefault("connect_args", {"timeout": 30, "check_same_thread": False})
            path = url.split("///", 1)[-1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
        else:
            engine_options.setdefault("pool_recycle", 1800)
            engine_options.setdefault("pool_size", POOL_SIZE)
            engine_options.setdefault("pool_pre_ping", pre_ping)
        engine = create_engine(url, **engine_options)
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        return cls(engine=engine, sessions=sessionmaker(engine, expire_on_commit=False))

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision."""
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(ALEMBIC_DIR))
        # Several workers start at once. On SQLite the writers' turn makes one migrate while
        # the others wait, then find it done; PostgreSQL takes an advisory lock below.
        with self.write_turn(), self.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed when the block ends, rolled back on error."""
        with self.sessions() as session, session.begin():
            yield session

    def migration_state(self) -> str:
        """`ok` when the schema is at (or past) this code's newest revision; `running` while a
        process holds the migration lock (PostgreSQL); `pending` when migrations are due.

        A schema newer than this code (another replica, upgraded first, migrated it) counts as
        ok: an older replica keeps serving through a rolling upgrade.
        """
        script = _scripts()
        with self.engine.connect() as connection:
            if connection.dialect.name == "postgresql" and connection.scalar(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                    " AND classid = 0 AND objid = :key AND objsubid = 1"
                    # pg_locks lists the whole server's locks: another database's migrations
                    # (another okrlink on the same server) must not make this one unready.
                    " AND database = (SELECT oid FROM pg_database"
                    " WHERE datname = current_database())"
                ),
                {"key": MIGRATION_LOCK},
            ):
                return "running"
            try:
                current = connection.scalar(text("SELECT version_num FROM alembic_version"))
            except Exception:  # no version table: nothing has been migrated yet
                return "pending"
        head = script.get_current_head()
        if current == head:
            return "ok"
        if current is None:
            return "pending"
        known = {revision.revision for revision in script.walk_revisions()}
        return "pending" if current in known else "ok"

    def ping(self) -> bool:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True

    def dispose(self) -> None:
        release_held(self.engine)
        self.engine.dispose()


class SqliteWriters:
    """One SQLite writer at a time across processes, woken by the kernel, not by polling.

    Why: SQLite lets one connection write at a time, and a writer that finds the database
    locked sleeps in its busy handler (1, 2, 5, 10 ms ...) before it looks again. Under a
    burst of webhooks from several gunicorn workers those sleeps left a third of the CPU idle.
    A blocking `flock` on a file beside the database hands the turn over the moment the last
    writer lets go.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.Lock()
        self._fd: int | None = None
        self._pid = 0

    @contextmanager
    def turn(self) -> Iterator[None]:
        with self._local:
            fd = self._file()
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def _file(self) -> int:
        if self._fd is None or self._pid != os.getpid():  # a forked worker opens its own
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        return self._fd


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # Up to 64 MiB of pages per connection (filled only as pages are read; SQLite's default is
    # 2 MiB). A KR's roll-up reads its epic's children: with 100,000 issues the default cache
    # missed on most changes, and re-deriving a KR took a fifth longer (bench/core.py).
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


def all_tables() -> list[str]:
    return [table.name for table in Base.metadata.sorted_tables]


# --- sites -------------------------------------------------------------------------------


def local_site(session: Session) -> Site:
    """The site used without Atlassian (CLI imports, the demo); created on first use."""
    site = session.scalar(select(Site).where(Site.name == LOCAL_SITE))
    if site is None:
        site = Site(name=LOCAL_SITE)
        session.add(site)
        session.flush()
    return site


def find_site(session: Session, ref: str | None) -> Site:
    """A site named by an installation's clientKey, a base URL, its host, or its name."""
    if not ref or ref == LOCAL_SITE:
        return local_site(session)
    installation = session.scalar(select(Installation).where(Installation.client_key == ref))
    if installation is not None:
        return session.get_one(Site, installation.site_id)
    host = site_host(ref)
    site = session.scalar(
        select(Site).where((Site.name == ref) | (Site.host == host) | (Site.cloud_id == ref))
    )
    if site is None:
        raise SiteNotFound(f"no site {ref!r}: name a clientKey, a base URL or a site name")
    return site


def site_host(base_url: str) -> str:
    """The host that groups installations into a site (Confluence's `/wiki` path is dropped)."""
    from urllib.parse import urlsplit

    parts = urlsplit(base_url if "://" in base_url else f"https://{base_url}")
    return (parts.hostname or base_url).lower()


# --- teams and cycles --------------------------------------------------------------------


def get_or_create_team(session: Session, site_id: int, key: str) -> Team:
    team = session.scalar(select(Team).where(Team.site_id == site_id, Team.key == key))
    if team is None:
        team = Team(site_id=site_id, key=key, name=key)
        session.add(team)
        session.flush()
    return team


def find_team(session: Session, site_id: int, key: str) -> Team | None:
    return session.scalar(select(Team).where(Team.site_id == site_id, Team.key == key))


def find_cycle(session: Session, site_id: int, name: str) -> Cycle | None:
    return session.scalar(select(Cycle).where(Cycle.site_id == site_id, Cycle.name == name))


def find_kr(session: Session, site_id: int, key: str) -> KeyResult | None:
    """A KR by key; keys may repeat across cycles, so the newest cycle's KR wins."""
    return session.scalar(
        select(KeyResult)
        .join(Cycle, Cycle.id == KeyResult.cycle_id)
        .where(KeyResult.site_id == site_id, KeyResult.key == key)
        .order_by(Cycle.start.desc())
        .limit(1)
    )


def find_objective(
    session: Session, site_id: int, key: str, cycle: str | None = None
) -> Objective | None:
    """An objective by key, in the named cycle or else the newest cycle that has it."""
    query = (
        select(Objective)
        .join(Cycle, Cycle.id == Objective.cycle_id)
        .where(Objective.site_id == site_id, Objective.key == key)
        .order_by(Cycle.start.desc())
    )
    if cycle:
        query = query.where(Cycle.name == cycle)
    return session.scalar(query.limit(1))


def list_cycles(session: Session, site_id: int) -> Sequence[Cycle]:
    query = select(Cycle).where(Cycle.site_id == site_id).order_by(Cycle.start)
    return session.scalars(query).all()


def list_objectives(
    session: Session, site_id: int, *, team: str | None = None, cycle: str | None = None
) -> Sequence[Objective]:
    """The site's objectives by cycle, team and position; optionally of one team or cycle."""
    query = (
        select(Objective)
        .join(Team, Team.id == Objective.team_id)
        .join(Cycle, Cycle.id == Objective.cycle_id)
        .where(Objective.site_id == site_id)
        .order_by(Cycle.start, Team.key, Objective.position)
    )
    if team:
        query = query.where(Team.key == team)
    if cycle:
        query = query.where(Cycle.name == cycle)
    return session.scalars(query).all()


def list_key_results(
    session: Session,
    site_id: int,
    *,
    team: str | None = None,
    cycle: str | None = None,
    status: str | None = None,
) -> Sequence[KeyResult]:
    """The site's KRs in reading order; optionally of one team, cycle or status."""
    query = (
        select(KeyResult)
        .join(Objective, Objective.id == KeyResult.objective_id)
        .join(Team, Team.id == Objective.team_id)
        .join(Cycle, Cycle.id == KeyResult.cycle_id)
        .where(KeyResult.site_id == site_id)
        .order_by(Cycle.start, Team.key, Objective.position, KeyResult.position)
    )
    if team:
        query = query.where(Team.key == team)
    if cycle:
        query = query.where(Cycle.name == cycle)
    if status:
        query = query.where(KeyResult.status == status)
    return session.scalars(query).all()


def key_result_exists(session: Session, site_id: int, cycle_id: int, key: str) -> bool:
    return (
        session.scalar(
            select(KeyResult.id).where(
                KeyResult.site_id == site_id, KeyResult.cycle_id == cycle_id, KeyResult.key == key
            )
        )
        is not None
    )


def links_of(session: Session, kr: KeyResult) -> Sequence[Link]:
    return session.scalars(
        select(Link).where(Link.site_id == kr.site_id, Link.kr_id == kr.id).order_by(Link.id)
    ).all()


def check_ins_of(session: Session, kr: KeyResult) -> Sequence[CheckIn]:
    """The KR's check-ins, newest first."""
    return session.scalars(
        select(CheckIn)
        .where(CheckIn.site_id == kr.site_id, CheckIn.kr_id == kr.id)
        .order_by(CheckIn.at.desc())
    ).all()


def history_of(session: Session, kr: KeyResult) -> Sequence[Snapshot]:
    """The KR's snapshots, oldest first."""
    return session.scalars(
        select(Snapshot)
        .where(Snapshot.site_id == kr.site_id, Snapshot.kr_id == kr.id)
        .order_by(Snapshot.at, Snapshot.id)
    ).all()


def count_rows(session: Session, model: type[Base], site_id: int) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(model).where(model.__table__.c.site_id == site_id)
        )
        or 0
    )


_SCRIPTS: list[Any] = []


def _scripts() -> Any:
    """Alembic's view of our migrations, read once per process (it parses every file)."""
    if not _SCRIPTS:
        from alembic.config import Config
        from alembic.script import ScriptDirectory

        config = Config()
        config.set_main_option("script_location", str(ALEMBIC_DIR))
        _SCRIPTS.append(ScriptDirectory.from_config(config))
    return _SCRIPTS[0]
