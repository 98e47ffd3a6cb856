"""Who leads: the primitives behind ``smote_monitor.server.leader``.

PostgreSQL has session-level advisory locks: the replica whose connection holds
:data:`ADVISORY_LOCK_KEY` leads, and the lock goes when that connection does (a crash, a kill -9,
a network cut), so nothing has to expire. SQLite has no such thing; there the ``leases`` row
names a holder until ``expires_at``, renewed by the holder, taken over by another replica once
it has expired.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, select, text
from sqlalchemy.orm import Session

from smote_monitor.store.models import Lease

ADVISORY_LOCK_KEY = 0x534D4F54454C4452
"""``pg_try_advisory_lock`` key of the scheduler's leadership (the bytes of "SMOTELDR"); any
other application sharing the database must not use it."""

SCHEDULER_LEASE = "scheduler"
"""``leases.name`` of the scheduler's leadership on SQLite."""


def try_advisory_lock(connection: Connection, key: int = ADVISORY_LOCK_KEY) -> bool:
    """Take the session-level lock on ``connection`` if free; True when this session holds it.

    Re-entrant: PostgreSQL counts a session's acquisitions, so callers that already hold the
    lock must not call this again without :func:`advisory_unlock` (see
    :func:`holds_advisory_lock`).
    """
    return bool(connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())


def holds_advisory_lock(connection: Connection, key: int = ADVISORY_LOCK_KEY) -> bool:
    """Does this connection's session hold the lock? (Also proves the connection is alive.)"""
    query = text(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() "
        "AND granted AND ((classid::bigint << 32) | objid::bigint) = :k"
    )
    return bool(connection.execute(query, {"k": key & 0xFFFFFFFFFFFFFFFF}).scalar())


def advisory_unlock(connection: Connection, key: int = ADVISORY_LOCK_KEY) -> None:
    connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})


def acquire_lease(
    session: Session, name: str, holder: str, *, ttl: timedelta, now: datetime
) -> bool:
    """Take or renew the lease ``name`` for ``holder`` until ``now + ttl``.

    True when ``holder`` has it afterwards: it was free, expired, or already ``holder``'s.
    Call inside a write transaction (SQLite's ``BEGIN IMMEDIATE`` makes the read-then-write
    atomic across processes).
    """
    lease = session.get(Lease, name)
    if lease is None:
        session.add(Lease(name=name, holder=holder, renewed_at=now, expires_at=now + ttl))
    elif lease.holder == holder or lease.expires_at <= now:
        lease.holder, lease.renewed_at, lease.expires_at = holder, now, now + ttl
    else:
        return False
    session.flush()
    return True


def release_lease(session: Session, name: str, holder: str) -> None:
    """Give the lease up now (a clean shutdown), if ``holder`` has it, so a follower need not
    wait for it to expire."""
    lease = session.get(Lease, name)
    if lease is not None and lease.holder == holder:
        session.delete(lease)
        session.flush()


def lease_holder(session: Session, name: str, *, now: datetime) -> str | None:
    """The holder of an unexpired lease ``name``, else None."""
    lease = session.scalars(select(Lease).where(Lease.name == name)).one_or_none()
    return lease.holder if lease is not None and lease.expires_at > now else None
