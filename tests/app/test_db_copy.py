"""`paperdigest db copy` through the CLI: a SQLite database with rows in every table, copied to
a real PostgreSQL server (tests/support/postgres.py) and back to a fresh SQLite file, every
value compared; the ids PostgreSQL hands out afterwards; the refusals and their messages."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import JSON, Engine, create_engine, event, func, inspect, null, select, update
from typer.testing import CliRunner, Result

from bot import store as bot_store
from paperdigest import fanout, leases, outbox, repo, subscriptions
from paperdigest.cli import app
from paperdigest.db import Database, alembic_config, normalize_url
from paperdigest.models import (
    Base,
    ChatRequest,
    Job,
    OutboxMessage,
    PaperVersion,
    PostReaction,
    Question,
    Review,
    Usage,
    WatchCandidate,
    WatchMark,
    WatchNote,
)
from paperdigest.records import PaperMeta
from tests.support.postgres import SUPERUSER, PostgresServer
from watcher import store as watch_store

runner = CliRunner()
PAPER, OTHER = "2412.06769", "2405.14838"
CHANNEL_CHAT = -1001234567890  # a Telegram channel id: past 32 bits
USER = 5_000_000_001
LONG_RUSSIAN = "Суть: «Кокос» рассуждает в латентном пространстве — ёмко, без токенов 🧠.\n" * 400
WHEN = datetime(2026, 12, 1, 9, 30, 15, 123456, tzinfo=timezone.utc)
PASSWORD = "Pa55-word.secret"
LEASE_S = 60.0


def copy(src: str, dst: str, *extra: str) -> Result:
    return runner.invoke(app, ["db", "copy", src, dst, *extra])


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def meta(arxiv_id: str, title: str) -> PaperMeta:
    return PaperMeta(
        arxiv_id=arxiv_id,
        version=2,
        title=title,
        authors=["Shibo Hao", "Юрий Тян"],
        abstract="We introduce Coconut. " * 50,
        categories=["cs.CL", "cs.AI"],
        primary_category="cs.CL",
        comment="",
        journal_ref="",
        doi="",
        published=WHEN - timedelta(days=400),
        updated=None,
        pdf_url=None if arxiv_id == OTHER else "https://arxiv.org/pdf/x",  # OTHER: withdrawn (True)
    )


def review(**fields: Any) -> Review:
    values: dict[str, Any] = dict(
        arxiv_id=PAPER,
        version=2,
        markdown=LONG_RUSSIAN,
        body=LONG_RUSSIAN[:500],
        tldr="Коротко: латентные мысли вместо цепочки рассуждений.",
        reviewer="llm",
        model="gpt-4o-mini",
        prompt_version="v7",
        prompt_tokens=23_456,
        completion_tokens=3_210,
        cost_usd=0.004567891234,
        cuts=[{"section": "2 Метод", "tokens": 120, "ratio": 0.5}],
        notes=["заметка", "вторая"],
        validation="passed",
        problems=[],
        grounding={"numbers": [{"value": "97,0", "found": True, "source": {"page": 3}}], "checked": 23},
        created_at=WHEN,
    )
    return Review(**{**values, **fields})


def fill(url: str) -> None:
    """Rows in every table, through the app's own store functions where it has them."""
    db = Database(url)
    with db.session() as session, session.begin():
        repo.upsert_paper(session, meta(PAPER, "Кокос: рассуждения в латентном пространстве"), code_url="https://x.y/c")
        repo.upsert_paper(session, meta(OTHER, "From Explicit CoT to Implicit CoT"))
        repo.upsert_version(session, PAPER, 2, pdf_sha256="ab" * 32, pdf_bytes=1_234_567, page_count=13, pages_read=13)
        repo.upsert_version(session, OTHER, 1, text_path="text/2405.14838v1.json")
        passed, failed, plain = review(), review(validation="failed", moderation="waiting"), review(arxiv_id=OTHER)
        session.add_all([passed, failed, plain])
        session.flush()
        done = repo.open_job(session, OTHER, None, force=False, requested_by="cli")
        session.flush()
        repo.finish_job(session, done, review_id=plain.id)
        running = repo.open_job(session, PAPER, 2, force=True, requested_by=f"tg:{USER}")
        session.flush()
        repo.record_usage(
            session,
            job_id=running.id,
            arxiv_id=PAPER,
            model="gpt-4o-mini",
            purpose="review",
            prompt_tokens=23_456,
            completion_tokens=3_210,
            cost_usd=0.0045,
            ok=False,
        )
        bot_store.store_update(
            session, 900_000_001, {"message": {"chat": {"id": CHANNEL_CHAT}, "text": "/review 2412"}}
        )
        bot_store.store_update(session, 900_000_002, {"message": {"text": "спасибо!"}, "ok": True, "n": None})
        request = ChatRequest(
            update_id=900_000_001,
            chat_id=CHANNEL_CHAT,
            user_id=USER,
            username="алиса",
            arxiv_id=PAPER,
            version=2,
            publish=True,
            charged=True,
            status="answered",
            status_message_id=77,
            answered_at=WHEN,
        )
        session.add(request)
        session.flush()
        post = outbox.enqueue(
            session,
            kind="channel",
            chat_id=str(CHANNEL_CHAT),
            arxiv_id=PAPER,
            version=2,
            review_id=passed.id,
            status="sent",
            attempts=1,
            parts_sent=2,
            message_ids=[101, 2_147_483_649],
            sent_at=WHEN,
        )
        reply = outbox.enqueue(
            session, kind="reply", chat_id=str(USER), request_id=request.id, text="Готово ✅", not_before=WHEN
        )
        subscriptions.add_rule(session, USER, str(USER), subscriptions.author_rule("Юрий Тян"))
        subscriptions.subscriber(session, USER).last_digest_on = date(2026, 12, 1)
        assert fanout.queue_for_subscribers(session, passed) == 1  # a delivery and its outbox row (priority BULK)
        watch_store.move_cursor(session, "cs.CL", WHEN - timedelta(hours=5))
        session.add(
            WatchCandidate(
                arxiv_id=PAPER,
                day=date(2026, 12, 1),
                version=2,
                title="Кокос",
                authors=["Shibo Hao"],
                categories=["cs.CL"],
                listed_in=["cs.CL", "cs.LG"],
                published=WHEN,
                status="posted",
                score=8.75,
                reason="про рассуждения",
                ranker="tfidf",
                rank=1,
                review_id=passed.id,
                outbox_id=post.id,
            )
        )
        session.add(
            WatchNote(arxiv_id=PAPER, post_id=post.id, review_id=passed.id, note="обновлено до v3", edit_id=reply.id)
        )
        session.add(
            PostReaction(
                chat_id=CHANNEL_CHAT,
                message_id=2_147_483_649,
                outbox_id=post.id,
                arxiv_id=PAPER,
                total=7,
                counts={"👍": 5, "🔥": 2},
                reported_at=WHEN,
            )
        )
        first = Question(user_id=USER, chat_id=USER, arxiv_id=PAPER, version=2, question="С чем сравнивали?")
        session.add(first)
        session.flush()
        session.add(  # a follow-up: written after its parent, or the copy breaks the foreign key
            Question(
                user_id=USER,
                chat_id=USER,
                arxiv_id=PAPER,
                parent_id=first.id,
                question="А на GSM8k?",
                suspects=["34.1"],
            )
        )
        watch_store.set_mark(session, "digest:2026-12-01", "отправлен")
        session.add(WatchMark(key="stale:cs.CL", value="", expires_at=WHEN + timedelta(days=1)))
        assert leases.take(session, leases.RELAY, "otherhost:4242", LEASE_S)
    with db.session() as session, session.begin():
        assert repo.claim_job(session, running.id, "otherhost:4243", LEASE_S)  # a job under a lease
        # Both nulls a JSON column holds in real data: SQL NULL and the JSON value `null`.
        session.execute(update(Review).where(Review.id == passed.id).values(grounding=null()))
        session.execute(update(Review).where(Review.id == failed.id).values(grounding=JSON.NULL))
    db.close()


def dump(url: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, times as aware UTC, and for JSON columns whether SQL NULL."""
    engine = create_engine(normalize_url(url))
    tables: dict[str, list[dict[str, Any]]] = {}
    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            json_columns = [c for c in table.columns if isinstance(c.type, JSON)]
            flags = [c.is_(None).label(f"{c.name} IS NULL") for c in json_columns]
            rows = connection.execute(select(table, *flags).order_by(*table.primary_key.columns)).mappings()
            tables[table.name] = [{k: utc(v) for k, v in row.items()} for row in rows]
    engine.dispose()
    return tables


def utc(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
    return value


@pytest.fixture
def source(tmp_path: Path) -> str:
    url = sqlite_url(tmp_path / "paperdigest.db")
    fill(url)
    return url


def test_a_database_goes_to_postgresql_and_back_unchanged(source: str, postgres_database: str, tmp_path: Path) -> None:
    original = dump(source)
    assert all(original.values()), [name for name, rows in original.items() if not rows]  # rows in every table
    to_postgres = copy(source, postgres_database, "--batch", "2")  # several batches per table
    assert to_postgres.exit_code == 0, to_postgres.output
    assert re.search(r"^  reviews +3$", to_postgres.stdout, re.M) and "row(s) in 18 table(s)" in to_postgres.stdout
    on_postgres = dump(postgres_database)
    assert on_postgres == original
    back = sqlite_url(tmp_path / "back" / "paperdigest.db")
    assert copy(postgres_database, back).exit_code == 0
    assert dump(back) == original
    # and the values themselves, not only "the same on both sides"
    requests = on_postgres["chat_requests"][0]
    assert (requests["chat_id"], requests["user_id"], requests["username"]) == (CHANNEL_CHAT, USER, "алиса")
    assert requests["answered_at"] == WHEN and requests["publish"] is True
    reviews = {row["id"]: row for row in on_postgres["reviews"]}
    assert reviews[1]["markdown"] == LONG_RUSSIAN and len(LONG_RUSSIAN) > 25_000
    assert (reviews[1]["grounding IS NULL"], reviews[2]["grounding IS NULL"]) == (True, False)
    assert reviews[3]["grounding"]["numbers"][0]["value"] == "97,0" and reviews[3]["cost_usd"] == 0.004567891234
    assert on_postgres["outbox"][0]["message_ids"] == [101, 2_147_483_649]
    [reaction] = on_postgres["post_reactions"]
    assert (reaction["chat_id"], reaction["message_id"], reaction["counts"]) == (
        CHANNEL_CHAT,
        2_147_483_649,
        {"👍": 5, "🔥": 2},
    )
    assert [row["withdrawn"] for row in on_postgres["papers"]] == [True, False]
    assert on_postgres["inbox"][1]["payload"] == {"message": {"text": "спасибо!"}, "ok": True, "n": None}
    running = next(row for row in on_postgres["jobs"] if row["status"] == "running")
    assert running["worker"] == "otherhost:4243" and running["lease_expires_at"] > datetime.now(timezone.utc)


def test_postgresql_hands_out_new_ids_after_the_copy(source: str, postgres_database: str) -> None:
    assert copy(source, postgres_database).exit_code == 0
    db = Database(postgres_database)
    with db.session() as session, session.begin():  # without the sequences moved, each would be id 1: a collision
        new_review = review(markdown="новая")
        session.add(new_review)
        repo.upsert_version(session, PAPER, 3)
        job = repo.open_job(session, OTHER, 1, force=False, requested_by="cli")
        row = outbox.enqueue(session, kind="notice", chat_id=str(USER), text="ещё")
        request = ChatRequest(chat_id=CHANNEL_CHAT, user_id=USER, arxiv_id=OTHER)
        usage = Usage(arxiv_id=OTHER, model="m", purpose="review")
        candidate = WatchCandidate(arxiv_id=OTHER, day=date(2026, 12, 2), title="t")
        session.add_all([request, usage, candidate])
        subscriptions.add_rule(session, USER + 1, str(USER + 1), subscriptions.category_rule("cs.LG"))
        session.flush()
        [rule] = subscriptions.rules_of(session, USER + 1)
        ids = (new_review.id, job.id, row.id, request.id, usage.id, candidate.id, rule.id)
    with db.read() as session:
        tops = [session.scalar(select(func.max(m.id))) for m in (Review, Job, OutboxMessage, ChatRequest, Usage)]
        assert session.scalar(select(func.count()).select_from(PaperVersion)) == 3
    db.close()
    assert ids[:5] == tuple(tops) and ids == (4, 3, 4, 2, 2, 2, 2)


def test_a_target_that_holds_rows_is_refused_and_left_as_it_was(source: str, database_url: str) -> None:
    assert copy(source, database_url).exit_code == 0
    before = dump(database_url)
    again = copy(source, database_url)
    assert again.exit_code == 1 and "Traceback" not in again.output
    assert "already holds" in again.stderr and "reviews: 3" in again.stderr and "never merges" in again.stderr
    assert dump(database_url) == before


def test_a_source_behind_the_newest_revision_is_refused(tmp_path: Path) -> None:
    old = sqlite_url(tmp_path / "old.db")
    command.upgrade(alembic_config(old), "0004")
    target = tmp_path / "new.db"
    result = copy(old, sqlite_url(target))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "at schema revision 0004" in result.stderr and "paperdigest db upgrade" in result.stderr
    assert not target.exists()  # refused before the target was touched
    empty = tmp_path / "empty.db"
    create_engine(sqlite_url(empty)).connect().close()
    result = copy(sqlite_url(empty), sqlite_url(target))
    assert result.exit_code == 1 and "is not a paperdigest database" in result.stderr


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("not a url", "is not a database URL"),
        ("postgresql:/digest:" + PASSWORD + "@127.0.0.1/paperdigest", "is not a database URL"),
        ("postgresql://digest:" + PASSWORD + "@127.0.0.1:port/paperdigest", "is not a database URL"),
        ("mysql://digest:" + PASSWORD + "@127.0.0.1/paperdigest", "names a mysql database"),
        ("postgresql://digest:" + PASSWORD + "@127.0.0.1:1/paperdigest", "cannot open the source database"),
        ("sqlite:///./no/such.db", "does not exist"),
        ("sqlite://", "names no database"),
    ],
)
def test_a_malformed_or_unreachable_url_is_one_line_without_its_password(url: str, said: str, tmp_path: Path) -> None:
    result = copy(url, sqlite_url(tmp_path / "target.db"))
    assert result.exit_code == 1 and "Traceback" not in result.output
    [line] = [line for line in result.stderr.splitlines() if line.strip()]
    assert line.startswith("error: ") and "source" in line and said in line
    assert PASSWORD not in result.output
    assert not (tmp_path / "target.db").exists()


def test_the_same_database_twice_is_refused(source: str) -> None:
    result = copy(source, source.replace("paperdigest.db", "./paperdigest.db"))
    assert result.exit_code == 1 and "the same database" in result.stderr


def test_a_password_in_a_url_never_appears_in_output(
    source: str, postgres_server: PostgresServer, postgres_database: str
) -> None:
    # the test server trusts 127.0.0.1, so the password is carried along and never checked
    with_password = postgres_database.replace(f"//{SUPERUSER}@", f"//{SUPERUSER}:{PASSWORD}@")
    assert PASSWORD in with_password
    done = copy(source, with_password)
    assert done.exit_code == 0, done.output
    assert f"//{SUPERUSER}:***@127.0.0.1:{postgres_server.port}" in done.stdout
    refused = copy(source, with_password)
    broken = copy(with_password.replace(f":{postgres_server.port}/", ":1/"), source)
    assert refused.exit_code == broken.exit_code == 1
    assert "already holds" in refused.stderr and "cannot open the source" in broken.stderr
    for result in (done, refused, broken):
        assert PASSWORD not in result.output


def test_a_copy_that_fails_midway_leaves_the_target_empty(source: str, postgres_database: str) -> None:
    # SQLite does not enforce VARCHAR lengths; PostgreSQL refuses the row, and with it the copy
    engine = create_engine(source)
    with engine.begin() as connection:
        connection.execute(update(Usage).values(purpose="ревью " * 20))
    engine.dispose()
    failed = copy(source, postgres_database, "--batch", "2")
    assert failed.exit_code == 1 and "Traceback" not in failed.output
    assert "copying table usage failed after 0 row(s)" in failed.stderr and "nothing was written" in failed.stderr
    assert not any(dump(postgres_database).values())  # papers, reviews, … copied before it were rolled back


def test_rows_go_in_batches(source: str, tmp_path: Path) -> None:
    inserts: list[int] = []

    def count(_conn, _cursor, statement: str, parameters, _context, executemany: bool) -> None:
        if statement.startswith("INSERT INTO reviews"):
            inserts.append(len(parameters) if executemany else 1)

    event.listen(Engine, "before_cursor_execute", count)
    try:
        assert copy(source, sqlite_url(tmp_path / "batched.db"), "--batch", "2").exit_code == 0
    finally:
        event.remove(Engine, "before_cursor_execute", count)
    assert inserts == [2, 1]  # three reviews, two at a time


def test_a_target_with_tables_of_another_application_is_refused(source: str, tmp_path: Path) -> None:
    target = tmp_path / "other.db"
    engine = create_engine(sqlite_url(target))
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE customers (id INTEGER PRIMARY KEY)")
    engine.dispose()
    result = copy(source, sqlite_url(target))
    assert result.exit_code == 1 and "not paperdigest's (customers)" in result.stderr
    assert inspect(create_engine(sqlite_url(target))).get_table_names() == ["customers"]  # not migrated
