"""Exactly one replica runs the scheduled jobs: the leader.

- PostgreSQL: the replica whose dedicated connection holds the advisory lock
  (:data:`smote_monitor.store.leader.ADVISORY_LOCK_KEY`). Every ``interval`` seconds a follower
  tries to take it and the leader checks it still has it on a live connection; a dead leader's
  lock goes with its connection, so a follower leads within ``interval`` (plus the time
  PostgreSQL needs to notice a connection cut without a FIN: TCP keepalives, ~15 s).
- SQLite: the ``leases`` row, valid for ``ttl`` and renewed every ``interval`` (``ttl / 3``).
  A killed leader's lease expires and a follower takes over within ``ttl + interval``. A leader
  that could not renew for ``ttl`` stops calling itself leader, so two replicas never both
  believe they lead for longer than one check.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from abc import ABC, abstractmethod
from datetime import timedelta
from enum import StrEnum

from sqlalchemy import Connection, create_engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from smote_monitor.errors import StoreUnavailableError
from smote_monitor.records import utcnow
from smote_monitor.server.outage import StoreOutage
from smote_monitor.store import Store
from smote_monitor.store.database import SchemaOutdatedError
from smote_monitor.store.leader import (
    SCHEDULER_LEASE,
    acquire_lease,
    advisory_unlock,
    holds_advisory_lock,
    release_lease,
    try_advisory_lock,
)

log = logging.getLogger(__name__)

DEFAULT_LEASE_TTL_SECONDS = 15.0

_STORE_TROUBLE = (SQLAlchemyError, StoreUnavailableError, SchemaOutdatedError, OSError)


class Role(StrEnum):
    LEADER = "leader"
    FOLLOWER = "follower"


def replica_id() -> str:
    """Who this process is, as a lease holder: readable in the table, unique per start."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Leadership(ABC):
    """Base of both mechanisms: a daemon thread re-checking leadership every ``interval``."""

    mechanism = "none"

    def __init__(
        self,
        store: Store,
        *,
        ttl: float = DEFAULT_LEASE_TTL_SECONDS,
        outage: StoreOutage | None = None,
    ) -> None:
        self.store = store
        self.ttl = ttl
        self.interval = ttl / 3
        self.holder = replica_id()
        self.outage = outage or StoreOutage()
        self._role = Role.FOLLOWER
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def role(self) -> Role:
        return self._role

    def is_leader(self) -> bool:
        return self.role is Role.LEADER

    def start(self) -> None:
        self.check()  # the first answer before the HTTP server starts
        self._thread = threading.Thread(target=self._loop, name="leader-election", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval + 5)
        try:
            self._release()
        except _STORE_TROUBLE as exc:
            log.debug("could not release leadership: %s", exc)
        self._set(Role.FOLLOWER, quiet=True)

    def check(self) -> Role:
        """Take, keep or lose leadership now; the role afterwards."""
        try:
            leading = self._check()
        except _STORE_TROUBLE as exc:
            self.outage.failed(exc)
            self._lost()
            leading = False
        else:
            self.outage.succeeded()
        self._set(Role.LEADER if leading else Role.FOLLOWER)
        return self._role

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.check()

    def _set(self, role: Role, *, quiet: bool = False) -> None:
        if role is self._role:
            return
        self._role = role
        if quiet:
            return
        if role is Role.LEADER:
            log.info("role leader: this replica runs the scheduled jobs (%s)", self.mechanism)
        else:
            log.info("role follower: another replica runs the scheduled jobs (%s)", self.mechanism)

    @abstractmethod
    def _check(self) -> bool:
        """Hold or take leadership now; True when this replica is the leader."""

    def _lost(self) -> None:  # noqa: B027 - optional hook: only the lock holds state to drop
        """Forget leadership state after a store failure."""

    @abstractmethod
    def _release(self) -> None:
        """Give leadership up (a clean shutdown)."""


class AdvisoryLockLeadership(Leadership):
    """PostgreSQL: the holder of the advisory lock, on a connection of its own kept open."""

    mechanism = "PostgreSQL advisory lock"

    def __init__(
        self,
        store: Store,
        *,
        ttl: float = DEFAULT_LEASE_TTL_SECONDS,
        outage: StoreOutage | None = None,
    ) -> None:
        super().__init__(store, ttl=ttl, outage=outage)
        # NullPool: the lock lives in this one session; a pool could hand it back and reuse it.
        self._engine = create_engine(
            store.engine.url,
            poolclass=NullPool,
            isolation_level="AUTOCOMMIT",
            connect_args={
                "connect_timeout": 5,
                # Notice a cut connection (no FIN) within seconds, on both ends' behalf.
                "keepalives": 1,
                "keepalives_idle": 5,
                "keepalives_interval": 2,
                "keepalives_count": 3,
            },
        )
        self._connection: Connection | None = None

    def _check(self) -> bool:
        if self._connection is None:
            self._connection = self._engine.connect()
        if self._role is Role.LEADER:
            if holds_advisory_lock(self._connection):
                return True
            log.warning("the advisory lock is no longer held by this replica's connection")
            self._lost()
            return False
        return try_advisory_lock(self._connection)

    def _lost(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.invalidate()
                connection.close()
            except _STORE_TROUBLE as exc:
                log.debug("closing the leadership connection: %s", exc)

    def _release(self) -> None:
        if self._connection is not None and self._role is Role.LEADER:
            advisory_unlock(self._connection)
        self._lost()
        self._engine.dispose()


class LeaseLeadership(Leadership):
    """SQLite: the holder of the unexpired ``leases`` row, renewed every ``ttl / 3``."""

    mechanism = "lease in the store"

    def __init__(
        self,
        store: Store,
        *,
        ttl: float = DEFAULT_LEASE_TTL_SECONDS,
        outage: StoreOutage | None = None,
    ) -> None:
        super().__init__(store, ttl=ttl, outage=outage)
        self._renewed_at: float | None = None  # monotonic time of the last successful renewal

    def _check(self) -> bool:
        started = time.monotonic()
        with self.store.write() as session:
            held = acquire_lease(
                session,
                SCHEDULER_LEASE,
                self.holder,
                ttl=timedelta(seconds=self.ttl),
                now=utcnow(),
            )
        self._renewed_at = started if held else None
        return held

    def is_leader(self) -> bool:
        # A lease not renewed for a whole TTL may be someone else's by now.
        renewed = self._renewed_at
        return (
            self._role is Role.LEADER
            and renewed is not None
            and time.monotonic() - renewed < self.ttl
        )

    @property
    def role(self) -> Role:
        return Role.LEADER if self.is_leader() else Role.FOLLOWER

    def _lost(self) -> None:
        self._renewed_at = None

    def _release(self) -> None:
        if self._renewed_at is not None:
            with self.store.write() as session:
                release_lease(session, SCHEDULER_LEASE, self.holder)
        self._renewed_at = None


def leadership_for(store: Store, *, ttl: float, outage: StoreOutage) -> Leadership:
    """The mechanism the store's backend supports."""
    kind = {"postgresql": AdvisoryLockLeadership, "sqlite": LeaseLeadership}[store.backend]
    return kind(store, ttl=ttl, outage=outage)
