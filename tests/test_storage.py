"""Migrations, SQLite settings and the job queries, on real temp databases."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from paperdigest import repo
from paperdigest.db import Database, upgrade
from paperdigest.models import Base, Job


def test_upgrade_creates_every_table_and_matches_the_models(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nested' / 'dir' / 'db.sqlite'}"
    upgrade(url)
    upgrade(url)  # idempotent: every start runs it
    engine = create_engine(url)
    assert set(inspect(engine).get_table_names()) >= {
        "papers", "paper_versions", "reviews", "jobs", "usage", "inbox", "chat_requests", "outbox", "alembic_version",
        "watch_cursors", "watch_candidates", "watch_notes", "watch_marks"}
    with engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0004"
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == [], f"models and migrations disagree (write a new revision): {diff}"
    engine.dispose()


def test_sqlite_runs_in_wal_with_busy_timeout_and_foreign_keys(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with db.read() as session:
        assert session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert session.execute(text("PRAGMA busy_timeout")).scalar() >= 5000
        assert session.execute(text("PRAGMA foreign_keys")).scalar() == 1
    db.close()


def test_two_requests_share_one_active_job(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    ids = []

    def request(who: str) -> None:
        with db.session() as session, session.begin():
            ids.append(repo.open_job(session, "2412.06769", None, force=False, requested_by=who).id)

    threads = [threading.Thread(target=request, args=(f"user{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(ids)) == 1
    with db.session() as session, session.begin():
        job = session.get(Job, ids[0])
        repo.finish_job(session, job, error=RuntimeError("x"))
    with db.session() as session, session.begin():  # a finished job frees the slot
        assert repo.open_job(session, "2412.06769", None, force=False, requested_by="later").id != ids[0]
    db.close()


def test_a_job_held_by_a_live_process_is_not_taken_but_a_dead_ones_is(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with db.session() as session, session.begin():
        job_id = repo.open_job(session, "2412.06769", None, force=False, requested_by="a").id
    with db.session() as session, session.begin():
        assert repo.claim_job(session, job_id, repo.this_worker())
    with db.session() as session, session.begin():
        assert not repo.claim_job(session, job_id, "other-process:1")
    with db.session() as session, session.begin():
        session.get(Job, job_id).worker = f"{socket.gethostname()}:999999"  # pid of no process
    with db.read() as session:
        assert [j.id for j in repo.resumable_jobs(session)] == [job_id]
    with db.session() as session, session.begin():
        assert repo.claim_job(session, job_id, repo.this_worker())
    with db.read() as session:
        assert session.get(Job, job_id).attempts == 2
    db.close()


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


def test_processes_starting_together_on_a_fresh_file_all_migrate(tmp_path: Path) -> None:
    # `paperdigest bot` and `paperdigest watch` started together on a new database file.
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    script = f"from paperdigest.db import Database; Database({url!r}).close()"
    processes = [subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE, text=True)
                 for _ in range(6)]
    failures = [err for process in processes if (err := process.communicate(timeout=60)[1]) and process.returncode]
    assert failures == []
    assert "reviews" in inspect(create_engine(url)).get_table_names()
