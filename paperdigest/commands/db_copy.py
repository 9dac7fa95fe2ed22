"""`paperdigest db copy SRC DST`: one paperdigest database into an empty one (SQLite → PostgreSQL).

In order, and nothing is written to DST before the checks have passed:

1. both URLs parse and name SQLite or PostgreSQL, and not the same database;
2. SRC is a paperdigest database at the code's newest Alembic revision. An older SRC is
   refused, not migrated: the copy only reads the database the operator is leaving (it may
   be a backup, or still the one an older running version uses), and the message says the
   one command that migrates it;
3. DST holds no rows and no tables that are not paperdigest's; then it is migrated to the
   newest revision by the app's own migrations (`paperdigest.db.upgrade`);
4. in one transaction on DST (SQLite: BEGIN IMMEDIATE; PostgreSQL: the tables locked against
   other writers), emptiness is checked again and every table is copied in foreign-key order,
   `batch` rows at a time from one read snapshot of SRC, primary keys kept; PostgreSQL's
   sequences are then moved past the copied ids (`setval`), so new rows get new ids.

Values go through the models' column types, so JSON, booleans and big integers arrive as they
left; a JSON column keeps SQL NULL and JSON `null` apart. SQLite stores times without their
zone, in UTC as the app writes them: they are read as UTC and written as aware times.

Databases are named by `display_url` (no password) in every message, and driver messages
pass through the log filter that redacts secrets.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import JSON, Column, Connection, Engine, MetaData, Table, func, inspect, select, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from paperdigest import db as database
from paperdigest.db import display_url
from paperdigest.errors import DatabaseCopyError
from paperdigest.logs import RedactSecrets
from paperdigest.models import Base

BATCH = 1000
CONNECT_TIMEOUT_S = 10
BACKENDS = ("sqlite", "postgresql")
URL_FORMS = "sqlite:///path/to/paperdigest.db or postgresql+psycopg://user:password@host:5432/name"
TABLES = Base.metadata.sorted_tables  # parents before children


@dataclass
class CopyReport:
    source: str  # display_url: no password
    target: str
    rows: dict[str, int] = field(default_factory=dict)  # table → rows copied, in copy order
    seconds: float = 0.0

    def summary(self) -> str:
        width = max(map(len, self.rows), default=0)
        lines = [f"copied {self.source} → {self.target}"]
        lines += [f"  {name:<{width}}  {count:>8}" for name, count in self.rows.items()]
        lines.append(f"{sum(self.rows.values())} row(s) in {len(self.rows)} table(s), {self.seconds:.1f} s")
        return "\n".join(lines)


class _Redactor:
    """Passwords out of driver messages; databases by their display URL."""

    def __init__(self, *urls: URL) -> None:
        passwords = [str(u.password) for u in urls if u.password]
        self._filter = RedactSecrets(passwords + [quote(p, safe="") for p in passwords])  # as typed in the URL too

    def error(self, err: BaseException) -> str:
        message = str(getattr(err, "orig", None) or err)
        return self._filter.redact("; ".join(line.strip() for line in message.splitlines() if line.strip()))


def scrubbed(raw: str) -> str:
    """A URL that did not parse, without whatever stands before its last `@` (a password may)."""
    if "@" not in raw:
        return raw
    return f"{raw.split(':', 1)[0]}://***@{raw.rsplit('@', 1)[1]}"


def parse(raw: str, role: str) -> URL:
    try:
        url = make_url(database.normalize_url(raw.strip()))
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        raise DatabaseCopyError(f"the {role} URL {scrubbed(raw)!r} is not a database URL: write {URL_FORMS}")
    if url.get_backend_name() not in BACKENDS:
        raise DatabaseCopyError(
            f"the {role} URL {display_url(url)} names a {url.get_backend_name()} database: "
            f"paperdigest runs on SQLite and PostgreSQL ({URL_FORMS})"
        )
    if not url.database or url.database == ":memory:":
        raise DatabaseCopyError(f"the {role} URL {display_url(url)} names no database: write {URL_FORMS}")
    return url


def _same_database(a: URL, b: URL) -> bool:
    if a.get_backend_name() == b.get_backend_name() == "sqlite":
        return Path(a.database or "").expanduser().resolve() == Path(b.database or "").expanduser().resolve()
    return (a.host, a.port or 5432, a.database) == (b.host, b.port or 5432, b.database)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(database.alembic_config("sqlite://")).get_current_head()


@contextmanager
def _reachable(url: URL, role: str, redactor: _Redactor) -> Iterator[None]:
    try:
        yield
    except DatabaseCopyError:
        raise
    except SQLAlchemyError as err:
        raise DatabaseCopyError(f"cannot open the {role} database {display_url(url)}: {redactor.error(err)}")


def _row_counts(connection: Connection) -> dict[str, int]:
    present = set(inspect(connection).get_table_names())
    return {t.name: connection.scalar(select(func.count()).select_from(t)) or 0 for t in TABLES if t.name in present}


def _check_source(reads: Engine, url: URL) -> None:
    with reads.connect() as connection:
        revision = MigrationContext.configure(connection).get_current_revision()
    head = head_revision()
    if revision is None:
        raise DatabaseCopyError(
            f"the source {display_url(url)} is not a paperdigest database (it has no schema revision)"
        )
    if revision != head:
        raise DatabaseCopyError(
            f"the source {display_url(url)} is at schema revision {revision}, this paperdigest's is {head}: "
            f"migrate it first with `DATABASE_URL='{display_url(url)}' paperdigest db upgrade` "
            "(with its real password), then copy again"
        )


def _check_target_empty(engine: Engine, url: URL) -> None:
    with engine.connect() as connection:
        foreign = set(inspect(connection).get_table_names()) - set(Base.metadata.tables) - {"alembic_version"}
        if foreign:
            raise DatabaseCopyError(
                f"the target {display_url(url)} holds tables that are not paperdigest's ({', '.join(sorted(foreign))}): "
                "copy into an empty database"
            )
        _refuse_rows(_row_counts(connection), url)


def _refuse_rows(counts: dict[str, int], url: URL) -> None:
    held = {name: n for name, n in counts.items() if n}
    if held:
        listed = ", ".join(f"{name}: {n}" for name, n in held.items())
        raise DatabaseCopyError(
            f"the target {display_url(url)} already holds {sum(held.values())} row(s) ({listed}); "
            "db copy never merges into or overwrites a database: create an empty one (or remove the file) "
            "and copy again"
        )


def _writable_table(table: Table, metadata: MetaData) -> Table:
    """The table as inserts see it: a JSON column writes None as SQL NULL (JSON.NULL as `null`)."""
    columns = [
        Column(c.name, JSON(none_as_null=True) if isinstance(c.type, JSON) else c.type, primary_key=c.primary_key)
        for c in table.columns
    ]
    return Table(table.name, metadata, *columns)


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _batches(source: Connection, table: Table, batch: int) -> Iterator[list[dict[str, Any]]]:
    json_columns = [c.name for c in table.columns if isinstance(c.type, JSON)]
    times = [c.name for c in table.columns if getattr(c.type, "timezone", False)]
    flags = [table.c[name].is_(None).label(f"{name}__is_sql_null") for name in json_columns]
    query = select(table, *flags).order_by(*table.primary_key.columns).execution_options(yield_per=batch)
    for part in source.execute(query).partitions():
        yield [_as_written(dict(record._mapping), json_columns, times) for record in part]


def _as_written(row: dict[str, Any], json_columns: list[str], times: list[str]) -> dict[str, Any]:
    for name in json_columns:
        if not row.pop(f"{name}__is_sql_null") and row[name] is None:
            row[name] = JSON.NULL  # the JSON value null, not SQL NULL
    for name in times:
        if row[name] is not None:
            row[name] = _as_utc(row[name])
    return row


def _reset_sequences(target: Connection) -> None:
    for table in TABLES:
        column = table.autoincrement_column
        if column is not None:
            sequence = func.pg_get_serial_sequence(table.name, column.name)
            top = func.max(column)
            target.execute(select(func.setval(sequence, func.coalesce(top, 1), top.is_not(None))))


def _copy_tables(source: Connection, target: Connection, url: URL, batch: int, redactor: _Redactor) -> dict[str, int]:
    if target.dialect.name == "postgresql":  # readers may read; a bot starting meanwhile waits for the copy
        target.execute(text(f"LOCK TABLE {', '.join(t.name for t in TABLES)} IN EXCLUSIVE MODE"))
    _refuse_rows(_row_counts(target), url)
    metadata = MetaData()
    counts: dict[str, int] = {}
    for table in TABLES:
        writable, counts[table.name] = _writable_table(table, metadata), 0
        try:
            for rows in _batches(source, table, batch):
                target.execute(writable.insert(), rows)
                counts[table.name] += len(rows)
        except SQLAlchemyError as err:
            raise DatabaseCopyError(
                f"copying table {table.name} failed after {counts[table.name]} row(s): {redactor.error(err)}; "
                f"nothing was written to {display_url(url)}"
            )
    if target.dialect.name == "postgresql":
        _reset_sequences(target)
    return counts


def _engine(url: URL) -> Engine:
    if url.get_backend_name() == "postgresql" and "connect_timeout" not in url.query:
        url = url.update_query_dict({"connect_timeout": str(CONNECT_TIMEOUT_S)})  # a host that never answers
    return database.make_engine(url.render_as_string(hide_password=False))


def copy_database(src: str, dst: str, *, batch: int = BATCH) -> CopyReport:
    """Copy every row of the paperdigest database `src` into the empty database `dst`."""
    started = time.monotonic()
    source_url, target_url = parse(src, "source"), parse(dst, "target")
    if _same_database(source_url, target_url):
        raise DatabaseCopyError(f"the source and the target are the same database ({display_url(source_url)})")
    if source_url.get_backend_name() == "sqlite" and not Path(source_url.database or "").expanduser().is_file():
        raise DatabaseCopyError(f"the source {display_url(source_url)} does not exist: check the path")
    redactor = _Redactor(source_url, target_url)
    source_engine, target_engine = _engine(source_url), _engine(target_url)
    reads = source_engine.execution_options(write=False)  # SQLite: a deferred BEGIN, one WAL snapshot
    try:
        with _reachable(source_url, "source", redactor):
            _check_source(reads, source_url)
        with _reachable(target_url, "target", redactor):
            _check_target_empty(target_engine, target_url)
            try:
                database.upgrade(target_url.render_as_string(hide_password=False))
            except CommandError as err:
                raise DatabaseCopyError(f"cannot migrate the target {display_url(target_url)}: {redactor.error(err)}")
        with _reachable(source_url, "source", redactor), reads.connect() as source:
            if source.dialect.name == "postgresql":
                source = source.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            with _reachable(target_url, "target", redactor), target_engine.begin() as target:
                counts = _copy_tables(source, target, target_url, batch, redactor)
    finally:
        source_engine.dispose()
        target_engine.dispose()
    return CopyReport(display_url(source_url), display_url(target_url), counts, time.monotonic() - started)
