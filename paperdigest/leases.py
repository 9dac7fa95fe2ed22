"""Leases: which process holds a piece of work (a review job, the outbox relay, the watcher's
round) and until when.

A holder renews its lease while it works (a heartbeat every LEASE_S / 3); when it stops
renewing — its process was killed, its host lost the network — the lease expires and any
process may take the work over. A holder that finds its lease taken stops writing for it.
The same rows and statements on SQLite and PostgreSQL, on one host or many. One shortcut: on
the holder's own host a dead PID frees its leases at once, so a restarted bot resumes its
own jobs without waiting out the expiry (another host's holder is trusted until expiry).

Named leases (the relay, the watcher's round) are rows of `leases`; a job's lease is two
columns of its own row (`worker`, `lease_expires_at`: repo.claim_job)."""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from paperdigest.db import insert_once
from paperdigest.models import Lease, utcnow

RELAY = "relay"
WATCH_ROUND = "watch-round"
WORKER = "worker:"  # + holder: one row per live `paperdigest worker`, its heartbeat


class LeaseLost(Exception):
    """Another process took over work this one held: stop writing for it."""


def this_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def holder_gone(holder: str | None) -> bool:
    """Whether a holder is known to be dead: a PID of this host that no longer runs."""
    if not holder or ":" not in holder:
        return True
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname():
        return False  # another machine's: only its lease's expiry tells
    try:
        os.kill(int(pid), 0)
    except (ProcessLookupError, ValueError):
        return True
    except PermissionError:
        return False
    return False


def is_free(holder: str | None, expires_at: datetime | None, now: datetime) -> bool:
    """Nobody holds it, its lease ran out, or its holder is dead on this host."""
    if holder is None or expires_at is None:
        return True
    return aware(expires_at) <= now or holder_gone(holder)


def aware(moment: datetime) -> datetime:
    # SQLite gives back naive datetimes for timezone-aware columns; they were written in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=utcnow().tzinfo)


def take(session: Session, name: str, holder: str, ttl_s: float) -> bool:
    """Take (or renew) the named lease if it is free or already ours.

    The row is read FOR UPDATE: on PostgreSQL two processes deciding at once queue on it
    (SQLite's writers do so anyway); the UPDATE's WHERE on the old holder makes the
    take-over atomic also where the read lock is not held."""
    now = utcnow()
    until = now + timedelta(seconds=ttl_s)
    row = session.get(Lease, name, with_for_update=True, populate_existing=True)
    if row is None:
        return insert_once(session, Lease(name=name, holder=holder, expires_at=until, taken_at=now))
    if row.holder != holder and not is_free(row.holder, row.expires_at, now):
        return False
    taken_at = row.taken_at if row.holder == holder else now
    changed = session.execute(
        update(Lease)
        .where(Lease.name == name, Lease.holder == row.holder)
        .values(holder=holder, expires_at=until, taken_at=taken_at)
        .returning(Lease.name)
    ).first()
    session.expire(row)
    return changed is not None


def renew(session: Session, name: str, holder: str, ttl_s: float) -> bool:
    """Extend our lease; False when another process has taken it (stop working for it)."""
    renewed = session.execute(
        update(Lease)
        .where(Lease.name == name, Lease.holder == holder)
        .values(expires_at=utcnow() + timedelta(seconds=ttl_s))
        .returning(Lease.name)
    ).first()
    return renewed is not None


def release(session: Session, name: str, holder: str) -> None:
    session.execute(delete(Lease).where(Lease.name == name, Lease.holder == holder))


def current_holder(session: Session, name: str) -> str | None:
    """Who holds the named lease now, or None when it is free."""
    row = session.get(Lease, name, populate_existing=True)
    if row is None or is_free(row.holder, row.expires_at, utcnow()):
        return None
    return row.holder


def live_workers(session: Session) -> list[str]:
    """The `paperdigest worker` processes whose heartbeat (a WORKER lease) has not run out."""
    now = utcnow()
    rows = session.scalars(select(Lease).where(Lease.name.startswith(WORKER)))
    return [row.holder for row in rows if not is_free(row.holder, row.expires_at, now)]
