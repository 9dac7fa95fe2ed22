"""The database: one engine for SQLite or PostgreSQL; migrations on start.

SQLite (the embedded default) runs in WAL with a busy timeout and foreign keys, and its
writers take the write lock at BEGIN (`BEGIN IMMEDIATE`). PostgreSQL (DATABASE_URL
`postgresql+psycopg://…`; `postgresql://` and `postgres://` mean the same) runs at READ
COMMITTED with no global lock: a writer that must not race another locks its rows
(`SELECT … FOR UPDATE [SKIP LOCKED]`, which SQLite's dialect leaves out, its lock being
global) or claims them with a conditional `UPDATE … RETURNING`, one code path on both.
The same Alembic revisions build both schemas.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from paperdigest.resources import MIGRATIONS_DIR

log = logging.getLogger(__name__)
BUSY_TIMEOUT_MS = 10_000
# Alembic keeps the running migration's context in module globals: two upgrades in one
# process at once (the bot on its loop, a site rebuild in a thread) corrupt each other.
_UPGRADE_LOCK = threading.Lock()


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _begin(connection: Any) -> None:
    # Writers take the lock at BEGIN, so two writers queue on busy_timeout instead of one
    # failing later with "database is locked" when it upgrades a read transaction.
    # Readers (Database.reads) begin deferred and never block anyone under WAL.
    write = connection.get_execution_options().get("write", True)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def normalize_url(url: str) -> str:
    """`postgresql://` and `postgres://` (what hosting providers hand out) use psycopg 3, the driver we ship."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def is_sqlite(url: str) -> bool:
    return make_url(normalize_url(url)).get_backend_name() == "sqlite"


def display_url(url: str | URL) -> str:
    """The URL without its password, for messages and logs."""
    parsed = make_url(normalize_url(url)) if isinstance(url, str) else url
    return parsed.render_as_string(hide_password=True)


def _ensure_sqlite_dir(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def make_engine(url: str) -> Engine:
    url = normalize_url(url)
    if not is_sqlite(url):
        # Row locks, not a global one: see the module's docstring. Times come back in UTC, as
        # they are stored, whatever the server's TimeZone (dates and months are cut in UTC).
        options = {} if "options" in make_url(url).query else {"options": "-c timezone=UTC"}
        return create_engine(url, pool_pre_ping=True, connect_args=options)
    _ensure_sqlite_dir(url)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000})
    event.listen(engine, "connect", _sqlite_pragmas)
    # pysqlite's own transaction handling is switched off so BEGIN IMMEDIATE is ours to issue.
    event.listen(engine, "connect", lambda conn, _rec: setattr(conn, "isolation_level", None))
    event.listen(engine, "begin", _begin)
    return engine


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return config


def upgrade(url: str) -> None:
    """Bring the schema to the newest revision (idempotent; run on every start)."""
    _ensure_sqlite_dir(url)
    with _UPGRADE_LOCK:
        command.upgrade(alembic_config(url), "head")


class Database:
    def __init__(self, url: str, *, migrate: bool = True) -> None:
        self.url = url = normalize_url(url)
        if migrate:
            upgrade(url)
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.reads = sessionmaker(self.engine.execution_options(write=False), expire_on_commit=False)

    def session(self) -> Session:
        """A session for writing: on SQLite its transaction holds the write lock from the start."""
        return self.sessions()

    def read(self) -> Session:
        return self.reads()

    def close(self) -> None:
        self.engine.dispose()


def insert_once(session: Session, row: object) -> bool:
    """Add `row` unless another process inserted the same key since we looked: False when a
    unique key refused it. A savepoint holds the insert, so the caller's transaction goes on
    (on PostgreSQL an error would otherwise abort it)."""
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return False
    return True
