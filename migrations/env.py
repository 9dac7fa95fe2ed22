"""Alembic environment: the URL comes from the caller's Config (paperdigest.db.alembic_config)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine, create_engine, event, pool
from sqlalchemy.engine import make_url

from paperdigest.models import Base

config = context.config
target_metadata = Base.metadata


def run_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _locked_engine(url: str) -> Engine:
    engine = create_engine(url, poolclass=pool.NullPool)
    if make_url(url).get_backend_name() == "sqlite":
        # Two processes starting on a fresh file (bot and watch) would both see no schema and
        # both create it. The whole upgrade runs in one BEGIN IMMEDIATE transaction instead:
        # the second waits for the first, then reads the version it wrote and does nothing.
        event.listen(engine, "connect", lambda conn, _rec: setattr(conn, "isolation_level", None))
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
    return engine


# Any constant works, as long as every process migrating this database uses the same one.
PG_MIGRATION_LOCK = 0x70617065  # "pape"


def run_online() -> None:
    engine = _locked_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            # The same on PostgreSQL: a session-level advisory lock (held until the connection
            # closes, NullPool) lets one process migrate at a time; the next one's transaction
            # starts after the first committed, so it sees the version already there.
            connection.exec_driver_sql(f"SELECT pg_advisory_lock({PG_MIGRATION_LOCK})")
            connection.commit()
        context.configure(
            connection=connection, target_metadata=target_metadata, render_as_batch=True, transactional_ddl=True
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
