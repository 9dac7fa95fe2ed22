"""Delivery in the database (bot/answers.py) on both backends: each requester answered once,
also when two processes answer the same paper at once; /regenerate not answered by the review
it replaces; the sweep that answers what another process stored and finds orphaned requests."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot import answers, store
from paperdigest import repo
from paperdigest.db import Database
from paperdigest.errors import PaperNotFound
from paperdigest.models import ChatRequest, OutboxMessage, Paper, Review, utcnow
from paperdigest.settings import Settings
from tests.support.reviews import stored_review

PAPER = "2412.06769"


@pytest.fixture
def db(database_url: str):
    database = Database(database_url)
    yield database
    database.close()


def add_review(db: Database, arxiv_id: str = PAPER, *, version: int = 1, created_at=None) -> int:
    with db.session() as session, session.begin():
        if session.get(Paper, arxiv_id) is None:
            session.add(Paper(arxiv_id=arxiv_id, title="A paper"))
            session.flush()
        return stored_review(session, arxiv_id, version=version, created_at=created_at or utcnow()).id


def add_request(db: Database, arxiv_id: str = PAPER, *, chat_id: int = 1, force: bool = False, created_at=None) -> int:
    with db.session() as session, session.begin():
        request = ChatRequest(
            chat_id=chat_id, user_id=chat_id, arxiv_id=arxiv_id, force=force, created_at=created_at or utcnow()
        )
        session.add(request)
        session.flush()
        return request.id


def replies(db: Database) -> list[tuple[str, int | None]]:
    with db.read() as session:
        return [(m.chat_id, m.request_id) for m in session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]


def statuses(db: Database) -> dict[int, str]:
    with db.read() as session:
        return {r.id: r.status for r in session.scalars(select(ChatRequest))}


def answer(db: Database, review_id: int, settings: Settings) -> int:
    with db.session() as session, session.begin():
        return answers.answer_waiting(session, session.get(Review, review_id), settings)


def test_a_review_answers_each_waiting_requester_once(db: Database, settings: Settings) -> None:
    first, second = add_request(db, chat_id=1), add_request(db, chat_id=2)
    other = add_request(db, "2405.14838", chat_id=3)
    review_id = add_review(db)
    assert answer(db, review_id, settings) == 2
    assert answer(db, review_id, settings) == 0  # answered already: nothing queued twice
    assert replies(db) == [("1", first), ("2", second)]
    assert statuses(db) == {first: "answered", second: "answered", other: "waiting"}


def test_regenerate_is_not_answered_by_the_review_it_replaces(db: Database, settings: Settings) -> None:
    old = add_review(db, created_at=utcnow() - timedelta(hours=1))
    plain = add_request(db, chat_id=1)
    regenerate = add_request(db, chat_id=2, force=True)
    assert answer(db, old, settings) == 1  # the plain /review gets the stored review
    assert statuses(db) == {plain: "answered", regenerate: "waiting"}
    new = add_review(db)
    assert answer(db, new, settings) == 1
    assert replies(db) == [("1", plain), ("2", regenerate)]


def test_a_final_failure_tells_each_requester_once(db: Database) -> None:
    first = add_request(db, chat_id=1)
    with db.session() as session, session.begin():
        assert answers.fail_waiting(session, PAPER, PaperNotFound(f"{PAPER} not found")) == 1
    with db.session() as session, session.begin():
        assert answers.fail_waiting(session, PAPER, PaperNotFound(f"{PAPER} not found")) == 0
    with db.read() as session:
        [notice] = session.scalars(select(OutboxMessage)).all()
        assert notice.kind == "notice" and notice.request_id == first and notice.text.startswith(f"❌ {PAPER}: ")
    assert statuses(db) == {first: "failed"}


def test_the_sweep_answers_stored_reviews_and_finds_orphans(db: Database, settings: Settings) -> None:
    review_id = add_review(db)
    answered = add_request(db, chat_id=1)  # its review was stored by another process
    orphan = add_request(db, "2405.14838", chat_id=2)  # no review, no job
    with db.session() as session, session.begin():
        repo.open_job(session, "2501.00001", None, force=False, requested_by="telegram")
    running = add_request(db, "2501.00001", chat_id=3)  # a job is on it
    with db.session() as session, session.begin():
        found = answers.sweep(session, settings)
        assert [r.id for r in found] == [orphan]
    assert statuses(db) == {answered: "answered", orphan: "waiting", running: "waiting"}
    with db.read() as session:
        [reply] = session.scalars(select(OutboxMessage)).all()
        assert (reply.request_id, reply.review_id) == (answered, review_id)


@pytest.mark.postgres
def test_two_processes_answering_at_once_answer_each_requester_once(postgres_database: str, settings: Settings) -> None:
    """READ COMMITTED: both transactions see the request waiting; the conditional UPDATE of the
    second waits for the first's row lock, then finds the request answered and queues nothing."""
    db = Database(postgres_database)
    try:
        requests = [add_request(db, chat_id=i) for i in range(1, 4)]
        review_id = add_review(db)
        first_answered, counts = threading.Event(), {}

        def first() -> None:
            with db.session() as session, session.begin():
                counts["first"] = answers.answer_waiting(session, session.get(Review, review_id), settings)
                first_answered.set()
                threading.Event().wait(0.5)  # the second transaction runs into the row locks meanwhile

        def second() -> None:
            first_answered.wait(5)
            with db.session() as session, session.begin():
                waiting = store.waiting_requests(session, PAPER)
                assert len(waiting) == 3  # it sees them waiting: the first has not committed
                counts["second"] = answers.answer_waiting(session, session.get(Review, review_id), settings)

        threads = [threading.Thread(target=first), threading.Thread(target=second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        assert counts == {"first": 3, "second": 0}
        assert sorted(r for _chat, r in replies(db)) == requests
    finally:
        db.close()


@pytest.mark.postgres
def test_one_users_requests_are_counted_in_turn_across_processes(postgres_database: str) -> None:
    db = Database(postgres_database)
    try:
        order, holding = [], threading.Event()

        def first() -> None:
            with db.session() as session, session.begin():
                store.lock_user(session, 42)
                holding.set()
                threading.Event().wait(0.5)
                order.append("first done")

        def second() -> None:
            holding.wait(5)
            with db.session() as session, session.begin():
                store.lock_user(session, 42)  # waits for the first transaction to end
                order.append("second locked")

        threads = [threading.Thread(target=first), threading.Thread(target=second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        assert order == ["first done", "second locked"]
    finally:
        db.close()
