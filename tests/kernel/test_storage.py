"""Migrations, database settings and the shared queries, on real temp databases: each test that
names `database_url` runs on SQLite and on a real PostgreSQL server (tests/support/postgres.py)."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.exc import IntegrityError

from bot import store as bot_store
from paperdigest import leases, outbox, repo
from paperdigest.db import Database, display_url, insert_once, make_engine, normalize_url, upgrade
from paperdigest.models import Base, InboxUpdate, Job, OutboxMessage, Paper, Review, utcnow
from paperdigest.records import PaperMeta
from watcher import store as watch_store

TABLES = {
    "papers",
    "paper_versions",
    "reviews",
    "jobs",
    "usage",
    "inbox",
    "chat_requests",
    "outbox",
    "questions",
    "alembic_version",
    "watch_cursors",
    "watch_candidates",
    "watch_notes",
    "watch_marks",
    "leases",
    "subscribers",
    "subscription_rules",
    "subscription_deliveries",
}
LEASE_S = 60.0


@pytest.fixture
def db(database_url: str):
    database = Database(database_url)
    yield database
    database.close()


def add_paper(db: Database, arxiv_id: str = "2412.06769") -> None:
    meta = PaperMeta(
        arxiv_id=arxiv_id,
        version=2,
        title="Кокос: рассуждения в латентном пространстве",
        authors=["Shibo Hao", "Yuandong Tian"],
        abstract="We introduce Coconut.",
        categories=["cs.CL", "cs.AI"],
        primary_category="cs.CL",
        comment="",
        journal_ref="",
        doi="",
        published=datetime(2024, 12, 9, 18, 30, tzinfo=timezone.utc),
        updated=datetime(2024, 12, 11, tzinfo=timezone.utc),
        pdf_url="https://arxiv.org/pdf/x",
    )
    with db.session() as session, session.begin():
        repo.upsert_paper(session, meta, code_url="https://github.com/facebookresearch/coconut")


def add_review(db: Database, arxiv_id: str = "2412.06769", **fields: object) -> int:
    values: dict[str, object] = dict(
        arxiv_id=arxiv_id,
        version=2,
        markdown="# T",
        body="b",
        reviewer="llm",
        model="m",
        prompt_version="v1",
        validation="passed",
        cuts=[{"section": "2 Method", "tokens": 120}],
        notes=["заметка"],
        problems=[],
        grounding={"numbers": [{"value": "97.0", "found": True}]},
    )
    values.update(fields)
    with db.session() as session, session.begin():
        review = Review(**values)
        session.add(review)
        session.flush()
        return review.id


# --- migrations and engines -------------------------------------------------------------------


def test_upgrade_creates_every_table_and_matches_the_models(database_url: str) -> None:
    upgrade(database_url)
    upgrade(database_url)  # idempotent: every start runs it
    engine = make_engine(database_url)
    assert set(inspect(engine).get_table_names()) >= TABLES
    with engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0011"
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == [], f"models and migrations disagree (write a new revision): {diff}"
    indexes = {
        index["name"]: index for index in inspect(engine).get_indexes("jobs") + inspect(engine).get_indexes("outbox")
    }
    assert indexes["ux_jobs_active_paper"]["unique"] and indexes["ux_outbox_channel_post"]["unique"]
    engine.dispose()


def test_upgrade_makes_the_sqlite_file_s_directory(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nested' / 'dir' / 'db.sqlite'}"
    upgrade(url)
    assert set(inspect(create_engine(url)).get_table_names()) >= TABLES


def test_sqlite_runs_in_wal_with_busy_timeout_and_foreign_keys(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with db.read() as session:
        assert session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert session.execute(text("PRAGMA busy_timeout")).scalar() >= 5000
        assert session.execute(text("PRAGMA foreign_keys")).scalar() == 1
    db.close()


def test_postgres_urls_use_psycopg_and_hide_the_password() -> None:
    for url in ("postgresql://u:secret@db.example/pd", "postgres://u:secret@db.example/pd"):
        assert normalize_url(url) == "postgresql+psycopg://u:secret@db.example/pd"
        assert "secret" not in display_url(url)
    assert normalize_url("sqlite:///x.db") == "sqlite:///x.db"


@pytest.mark.postgres
def test_postgres_sessions_read_committed_times_in_utc_with_no_global_lock(postgres_database: str) -> None:
    db = Database(postgres_database.replace("postgresql+psycopg://", "postgresql://"))  # the plain form works
    with db.session() as session, session.begin():
        assert session.execute(text("SHOW TimeZone")).scalar() == "UTC"
        assert session.execute(text("SHOW transaction_isolation")).scalar() == "read committed"
    # two writers at once: neither waits for the other (SQLite would queue them on BEGIN IMMEDIATE)
    with db.session() as first, first.begin(), db.session() as second, second.begin():
        first.add(InboxUpdate(update_id=1, payload={}))
        second.add(InboxUpdate(update_id=2, payload={}))
        first.flush()
        second.flush()
    with db.read() as session:
        assert session.scalar(select(InboxUpdate.update_id).order_by(InboxUpdate.update_id.desc())) == 2
    db.close()


def test_processes_starting_together_on_a_fresh_database_all_migrate(database_url: str) -> None:
    # `paperdigest bot` and `paperdigest watch` started together on a new database (on SQLite
    # the upgrade holds BEGIN IMMEDIATE, on PostgreSQL an advisory lock).
    script = f"from paperdigest.db import Database; Database({database_url!r}).close()"
    processes = [subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE, text=True) for _ in range(6)]
    failures = [err for process in processes if (err := process.communicate(timeout=60)[1]) and process.returncode]
    assert failures == []
    engine = make_engine(database_url)
    assert set(inspect(engine).get_table_names()) >= TABLES
    engine.dispose()


def test_databases_opened_from_several_threads_at_once_all_migrate(tmp_path: Path) -> None:
    # The bot opens the database on the event loop while the site rebuild opens it in a
    # worker thread; Alembic keeps its `context` in module globals, so two upgrades at once
    # used to fail with KeyError: 'script'.
    urls = [f"sqlite:///{tmp_path / f'db{index % 3}.db'}" for index in range(24)]
    errors: list[BaseException] = []
    start = threading.Barrier(len(urls))

    def open_and_close(url: str) -> None:
        start.wait()
        try:
            Database(url).close()
        except BaseException as error:  # noqa: BLE001 - collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=open_and_close, args=(url,)) for url in urls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for index in range(3):
        assert "reviews" in inspect(create_engine(f"sqlite:///{tmp_path / f'db{index}.db'}")).get_table_names()


# --- models and repo functions ----------------------------------------------------------------


def test_models_keep_json_booleans_times_and_text(db: Database) -> None:
    add_paper(db)
    review_id = add_review(db)
    with db.session() as session, session.begin():  # a second version: upsert updates, never duplicates
        paper = session.get(Paper, "2412.06769")
        repo.upsert_version(session, "2412.06769", 2, pdf_sha256="ab" * 32, page_count=12)
        repo.upsert_version(session, "2412.06769", 2, pages_read=10)
    with db.read() as session:
        paper = session.get(Paper, "2412.06769")
        assert paper.authors == ["Shibo Hao", "Yuandong Tian"] and paper.categories == ["cs.CL", "cs.AI"]
        assert paper.withdrawn is False and paper.title.startswith("Кокос")
        assert watch_store.as_utc(paper.published) == datetime(2024, 12, 9, 18, 30, tzinfo=timezone.utc)
        meta = repo.paper_meta(paper)
        assert meta.version == 2 and meta.pdf_url and meta.authors == ["Shibo Hao", "Yuandong Tian"]
        version = repo.get_version(session, "2412.06769", 2)
        assert (version.page_count, version.pages_read) == (12, 10)
        review = repo.latest_review(session, "2412.06769")
        assert review.id == review_id and review.cuts == [{"section": "2 Method", "tokens": 120}]
        assert review.grounding == {"numbers": [{"value": "97.0", "found": True}]} and review.notes == ["заметка"]
        assert repo.count_reviews(session) == 1
        assert bot_store.current_review(session, "2412.06769").id == review_id
        assert bot_store.latest_titles(session) == [(paper.title, "2412.06769")]
        assert bot_store.with_a_current_review(session, ["2412.06769", "2501.00001"]) == {"2412.06769"}


def test_usage_sums_and_statistics(db: Database) -> None:
    add_paper(db)
    with db.session() as session, session.begin():
        for tokens in (100, 250):
            repo.record_usage(
                session,
                job_id=None,
                arxiv_id="2412.06769",
                model="m",
                purpose="review",
                prompt_tokens=tokens,
                completion_tokens=10,
                cost_usd=0.5,
            )
    with db.read() as session:
        assert repo.usage_since(session) == (350, 20, 1.0)
        assert repo.usage_since(session, utcnow() + timedelta(hours=1)) == (0, 0, 0.0)
        assert repo.tokens_today(session) == 370
        assert repo.tokens_today(session, utcnow() + timedelta(days=1)) == 0  # tomorrow counts from its midnight
        figures = bot_store.stats(session)
    assert (figures["papers"], figures["tokens_total"], figures["cost_total"]) == (1, 370, 1.0)


def test_the_inbox_stores_an_update_once(db: Database) -> None:
    with db.session() as session, session.begin():
        assert bot_store.store_update(session, 7, {"message": {"text": "/start"}})
        assert not bot_store.store_update(session, 7, {"message": {"text": "/start"}})
    with db.session() as session, session.begin():
        assert not bot_store.store_update(session, 7, {})
        assert [row.update_id for row in bot_store.unprocessed_updates(session)] == [7]
        bot_store.finish_update(session, 7)
    with db.read() as session:
        assert bot_store.unprocessed_updates(session) == []


def test_insert_once_refuses_a_key_already_stored_and_the_transaction_goes_on(db: Database) -> None:
    with db.session() as session, session.begin():
        assert insert_once(session, InboxUpdate(update_id=8, payload={"first": True}))
    with db.session() as session, session.begin():  # another process, which did not see it
        assert not insert_once(session, InboxUpdate(update_id=8, payload={"second": True}))
        assert insert_once(session, InboxUpdate(update_id=9, payload={}))  # its savepoint kept this usable
    with db.read() as session:
        assert {row.update_id: row.payload for row in session.scalars(select(InboxUpdate))} == {
            8: {"first": True},
            9: {},
        }


def test_a_named_lease_is_held_by_one_process_until_it_expires_or_its_holder_dies(db: Database) -> None:
    with db.session() as session, session.begin():
        assert leases.take(session, leases.RELAY, "host-a:1", ttl_s=60)
    with db.session() as session, session.begin():
        assert not leases.take(session, leases.RELAY, "host-b:2", ttl_s=60)  # another host's: trusted until it expires
        assert leases.current_holder(session, leases.RELAY) == "host-a:1"
        assert not leases.renew(session, leases.RELAY, "host-b:2", ttl_s=60)
    with db.session() as session, session.begin():
        assert leases.take(session, leases.RELAY, "host-a:1", ttl_s=-1)  # renewed, already expired
    with db.session() as session, session.begin():
        assert leases.current_holder(session, leases.RELAY) is None
        assert leases.take(session, leases.RELAY, "host-b:2", ttl_s=60)
        assert not leases.renew(session, leases.RELAY, "host-a:1", ttl_s=60)  # the old holder learns it lost it
    with db.session() as session, session.begin():
        leases.release(session, leases.RELAY, "host-a:1")  # not its lease any more: nothing happens
        assert leases.current_holder(session, leases.RELAY) == "host-b:2"
        leases.release(session, leases.RELAY, "host-b:2")
        assert leases.current_holder(session, leases.RELAY) is None
    dead_here = f"{socket.gethostname()}:999999"  # a PID of no process, on this host
    with db.session() as session, session.begin():
        assert leases.take(session, leases.WATCH_ROUND, dead_here, ttl_s=3600)
    with db.session() as session, session.begin():
        assert leases.take(session, leases.WATCH_ROUND, "host-c:3", ttl_s=60)  # no need to wait out its hour


def test_many_processes_taking_a_free_lease_at_once_only_one_gets_it(db: Database) -> None:
    with db.session() as session, session.begin():
        assert leases.take(session, leases.RELAY, "old-host:1", ttl_s=-1)  # expired: free to take
    winners = _race(db, 6, lambda session, holder: leases.take(session, leases.RELAY, holder, 60))
    assert len(winners) == 1
    with db.read() as session:
        assert leases.current_holder(session, leases.RELAY) == winners[0]


# --- jobs -----------------------------------------------------------------------------------


def test_two_requests_share_one_active_job(db: Database) -> None:
    ids = []
    start = threading.Barrier(8)

    def request(who: str) -> None:
        start.wait()
        with db.session() as session, session.begin():
            ids.append(repo.open_job(session, "2412.06769", None, force=who == "user3", requested_by=who).id)

    threads = [threading.Thread(target=request, args=(f"user{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(ids) == 8 and len(set(ids)) == 1
    with db.session() as session, session.begin():
        job = session.get(Job, ids[0])
        assert job.force  # a /regenerate that raced the others still forces the shared job
        repo.finish_job(session, job, error=RuntimeError("x"))
    with db.session() as session, session.begin():  # a finished job frees the slot
        assert repo.open_job(session, "2412.06769", None, force=False, requested_by="later").id != ids[0]


def test_the_index_allows_one_active_job_per_paper(db: Database) -> None:
    with db.session() as session, session.begin():
        session.add_all(
            [
                Job(arxiv_id="2412.06769", status="done"),
                Job(arxiv_id="2412.06769", status="failed"),
                Job(arxiv_id="2412.06769", status="pending"),
                Job(arxiv_id="2501.00001", status="running"),
            ]
        )
    with pytest.raises(IntegrityError):
        with db.session() as session, session.begin():
            session.add(Job(arxiv_id="2412.06769", status="running"))


def test_a_job_held_by_a_live_process_is_not_taken_but_a_dead_ones_is(db: Database) -> None:
    with db.session() as session, session.begin():
        job_id = repo.open_job(session, "2412.06769", None, force=False, requested_by="a").id
    with db.session() as session, session.begin():
        assert repo.claim_job(session, job_id, leases.this_holder(), LEASE_S)
    with db.session() as session, session.begin():
        assert not repo.claim_job(session, job_id, "other-process:1", LEASE_S)
    with db.session() as session, session.begin():
        session.get(Job, job_id).worker = f"{socket.gethostname()}:999999"  # pid of no process
    with db.read() as session:
        assert [j.id for j in repo.resumable_jobs(session)] == [job_id]
    with db.session() as session, session.begin():
        assert repo.claim_job(session, job_id, leases.this_holder(), LEASE_S)
    with db.read() as session:
        assert session.get(Job, job_id).attempts == 2


def test_many_processes_claiming_one_job_at_once_only_one_gets_it(db: Database) -> None:
    with db.session() as session, session.begin():
        job_id = repo.open_job(session, "2412.06769", None, force=False, requested_by="a").id
    winners = _race(db, 6, lambda session, worker: repo.claim_job(session, job_id, worker, LEASE_S))
    assert len(winners) == 1
    with db.read() as session:
        job = session.get(Job, job_id)
        assert (job.status, job.worker, job.attempts) == ("running", winners[0], 1)


def test_a_job_whose_lease_ran_out_is_taken_over_and_its_old_holder_stops(db: Database) -> None:
    with db.session() as session, session.begin():
        job_id = repo.open_job(session, "2412.06769", None, force=False, requested_by="a").id
    with db.session() as session, session.begin():
        assert repo.claim_next_job(session, "host-a:1", -1.0).id == job_id  # its lease already ran out
    with db.session() as session, session.begin():
        assert repo.renew_jobs(session, "host-a:1", [job_id], LEASE_S) == {job_id}  # renewed in time …
    with db.session() as session, session.begin():
        assert repo.claim_next_job(session, "host-b:2", LEASE_S) is None  # … so nobody takes it
        session.get(Job, job_id).lease_expires_at = utcnow() - timedelta(seconds=1)  # host-a went silent
    with db.session() as session, session.begin():
        assert repo.claim_next_job(session, "host-b:2", LEASE_S).id == job_id
    with db.session() as session, session.begin():
        assert repo.renew_jobs(session, "host-a:1", [job_id], LEASE_S) == set()
        with pytest.raises(leases.LeaseLost):
            repo.held_job(session, job_id, "host-a:1", LEASE_S)
        job = repo.held_job(session, job_id, "host-b:2", LEASE_S)
        assert (job.worker, job.attempts) == ("host-b:2", 2)


def test_claim_next_job_takes_the_oldest_pending_one(db: Database) -> None:
    with db.session() as session, session.begin():
        first = repo.open_job(session, "2412.00001", None, force=False, requested_by="a").id
        second = repo.open_job(session, "2412.00002", None, force=False, requested_by="a").id
        session.add(Job(arxiv_id="2412.00003", status="done"))
    with db.session() as session, session.begin():
        job = repo.claim_next_job(session, "w1", LEASE_S)
        assert job is not None and (job.id, job.status, job.worker, job.attempts) == (first, "running", "w1", 1)
    with db.session() as session, session.begin():
        assert repo.claim_next_job(session, "w2", LEASE_S).id == second
    with db.session() as session, session.begin():
        assert repo.claim_next_job(session, "w3", LEASE_S) is None


def test_a_job_that_failed_transiently_waits_before_anyone_takes_it(db: Database) -> None:
    with db.session() as session, session.begin():
        job = repo.open_job(session, "2412.00001", None, force=False, requested_by="a")
        job.not_before = utcnow() + timedelta(seconds=60)
    with db.session() as session, session.begin():
        assert repo.claim_next_job(session, "w1", LEASE_S) is None
        session.get(Job, job.id).not_before = utcnow() - timedelta(seconds=1)
    with db.session() as session, session.begin():
        taken = repo.claim_next_job(session, "w1", LEASE_S)
        assert taken is not None and taken.id == job.id and taken.not_before is None


# --- the outbox -----------------------------------------------------------------------------


def test_the_index_allows_one_channel_post_per_paper_version(db: Database) -> None:
    with db.session() as session, session.begin():
        outbox.enqueue(session, kind="channel", chat_id="@digest", arxiv_id="2412.06769", version=1)
        outbox.enqueue(session, kind="channel", chat_id="@digest", arxiv_id="2412.06769", version=2)
        for _ in range(2):  # replies and edits of the same version are many
            outbox.enqueue(session, kind="reply", chat_id="42", arxiv_id="2412.06769", version=2)
            outbox.enqueue(session, kind="edit", chat_id="@digest", arxiv_id="2412.06769", version=2)
    with pytest.raises(IntegrityError):
        with db.session() as session, session.begin():
            outbox.enqueue(session, kind="channel", chat_id="@digest", arxiv_id="2412.06769", version=2)
    with db.read() as session:
        assert outbox.channel_post(session, "@digest", "2412.06769").version == 1
        assert outbox.channel_post_exists(session, "@digest", "2412.06769", 2)
        assert not outbox.channel_post_left(session, "@digest", "2412.06769", 2)


def test_the_relay_claims_the_oldest_due_row_of_a_free_chat(db: Database) -> None:
    later = utcnow() + timedelta(minutes=5)
    with db.session() as session, session.begin():
        ids = [
            outbox.enqueue(session, kind="reply", chat_id=chat, text="t", not_before=not_before).id
            for chat, not_before in (("1", later), ("2", None), ("3", None), ("2", None))
        ]
        session.add(OutboxMessage(kind="reply", chat_id="4", text="t", status="sent"))
    taken = []
    for busy in ({"2"}, set(), set(), set()):
        with db.session() as session, session.begin():
            row = outbox.claim_next(session, utcnow(), busy)
            taken.append(row and (row.id, row.status))
    assert taken == [(ids[2], "sending"), (ids[1], "sending"), (ids[3], "sending"), None]
    with db.session() as session, session.begin():  # a crash: sending rows go back, in-flight ones are unknown
        session.get(OutboxMessage, ids[1]).status = "in_flight"
        assert [r.id for r in outbox.mark_interrupted_sends(session)] == [ids[1]]
    with db.read() as session:
        assert Counter(session.scalars(select(OutboxMessage.status))) == {"pending": 3, "unknown": 1, "sent": 1}
    with db.session() as session, session.begin():
        assert outbox.claim_next(session, later + timedelta(seconds=1), set()).id == ids[0]


# --- several workers at once ---------------------------------------------------------------


def _race(db: Database, processes: int, attempt) -> list[str]:
    """`processes` threads (each its own connection, named like hosts) attempt at once; returns who succeeded."""
    winners: list[str] = []
    start = threading.Barrier(processes)

    def run(name: str) -> None:
        start.wait()
        with db.session() as session, session.begin():
            if attempt(session, name):
                winners.append(name)

    threads = [threading.Thread(target=run, args=(f"other-host:{n}",)) for n in range(processes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return winners


def _claim_all(db: Database, workers: int, claim, hold_together: bool) -> dict[str, list[int]]:
    """`workers` threads, each with its own connection, claiming rows until none is left. With
    `hold_together`, each keeps its first claim's transaction open until every worker has
    claimed one: they can only all get there if none waits on another's locked row."""
    taken: dict[str, list[int]] = {f"w{n}": [] for n in range(workers)}
    together = threading.Barrier(workers, timeout=15)
    errors: list[BaseException] = []

    def work(name: str) -> None:
        try:
            first = True
            while True:
                with db.session() as session, session.begin():
                    row_id = claim(session, name)
                    if first and hold_together:
                        together.wait()
                    first = False
                if row_id is None:
                    return
                taken[name].append(row_id)
        except BaseException as error:  # noqa: BLE001 - asserted below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(name,)) for name in taken]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return taken


def _jobs_and_posts(db: Database, count: int) -> tuple[list[int], list[int]]:
    with db.session() as session, session.begin():
        jobs = [repo.open_job(session, f"2412.{n:05d}", None, force=False, requested_by="t").id for n in range(count)]
        posts = [
            outbox.enqueue(session, kind="channel", chat_id="@digest", arxiv_id=f"2412.{n:05d}", version=1).id
            for n in range(count)
        ]
    return jobs, posts


def test_workers_claiming_at_once_never_take_the_same_row(db: Database) -> None:
    jobs, posts = _jobs_and_posts(db, 60)
    for ids, claim in (
        (jobs, lambda s, w: (j := repo.claim_next_job(s, w, LEASE_S)) and j.id),
        (posts, lambda s, w: (m := outbox.claim_next(s, utcnow(), set())) and m.id),
    ):
        taken = _claim_all(db, 4, claim, hold_together=False)
        claimed = [row for rows in taken.values() for row in rows]
        assert sorted(claimed) == sorted(ids)  # every row once, none twice
    with db.read() as session:
        assert set(session.scalars(select(Job.status))) == {"running"}
        assert set(session.scalars(select(OutboxMessage.status))) == {"sending"}


@pytest.mark.postgres
def test_postgres_workers_skip_rows_another_holds_instead_of_waiting(postgres_database: str) -> None:
    # Four workers each hold their first claim uncommitted until all four have one: only
    # FOR UPDATE SKIP LOCKED lets them (a plain lock would leave three waiting on the first row).
    db = Database(postgres_database)
    jobs, posts = _jobs_and_posts(db, 40)
    job_takers = _claim_all(db, 4, lambda s, w: (j := repo.claim_next_job(s, w, LEASE_S)) and j.id, hold_together=True)
    post_takers = _claim_all(
        db, 4, lambda s, w: (m := outbox.claim_next(s, utcnow(), set())) and m.id, hold_together=True
    )
    for ids, taken in ((jobs, job_takers), (posts, post_takers)):
        assert sorted(row for rows in taken.values() for row in rows) == sorted(ids)
        assert all(taken.values())  # every worker got some
    with db.read() as session:
        holders = {job_id: worker for job_id, worker in session.execute(select(Job.id, Job.worker))}
    assert holders == {job_id: name for name, rows in job_takers.items() for job_id in rows}
    db.close()
