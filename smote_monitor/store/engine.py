"""Engines for the store's backends: SQLite (embedded default) and PostgreSQL (production)."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

from smote_monitor import jsonio
from smote_monitor.config import check_database_url

log = logging.getLogger(__name__)

WRITE = "smote_monitor_write"
"""Execution option that marks a transaction as a writer (SQLite takes the write lock up front)."""

SQLITE_BUSY_TIMEOUT_SECONDS = 30
SQLITE_CACHE_KIB = 256 * 1024
"""Page cache per connection (an upper bound; SQLite takes pages as it needs them)."""
PG_CONNECT_TIMEOUT_SECONDS = 5


def create_store_engine(url: str) -> Engine:
    """An engine configured for the backend the URL names.

    SQLite gets WAL (readers never wait for the writer), foreign keys, a busy timeout, and
    ``BEGIN IMMEDIATE`` for write transactions so two processes racing on one run key serialise
    instead of failing with "database is locked" on lock upgrade. PostgreSQL gets a short connect
    timeout so a training job learns quickly that the store is down, and pre-ping. Both write JSON
    columns with :func:`smote_monitor.jsonio.dumps` (no NaN).
    """
    parsed = make_url(check_database_url(url))
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url, parsed.database)
    if backend == "postgresql":
        if (
            parsed.drivername == "postgresql"
        ):  # plain postgresql:// means psycopg2; we ship psycopg 3
            parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(
            parsed,
            pool_pre_ping=True,
            connect_args={"connect_timeout": PG_CONNECT_TIMEOUT_SECONDS},
            json_serializer=jsonio.dumps,
        )
    raise AssertionError(f"check_database_url admitted backend {backend!r}")


def sqlite_file(engine: Engine) -> Path | None:
    """The file of a file-backed SQLite store; None for PostgreSQL and in-memory SQLite."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if database in (None, "", ":memory:") or str(database).startswith("file:"):
        return None
    return Path(str(database)).expanduser()


def _sqlite_engine(url: str, database: str | None) -> Engine:
    in_memory = database in (None, "", ":memory:")
    kwargs: dict[str, Any] = {
        "connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
        # SQLite would store NaN in a JSON column; refuse it as PostgreSQL does.
        "json_serializer": jsonio.dumps,
    }
    if in_memory:
        kwargs["poolclass"] = StaticPool
    # The file and its directory are made by the Store's first write, never here: a command that
    # only reads must not leave an empty store behind.
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
        cursor.execute("PRAGMA foreign_keys=ON")
        # The join's unique index grows with the predictions waiting for labels; SQLite's 2 MB
        # default page cache made every push read it from disk past a million of them.
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        if not in_memory and cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            # WAL is a property of the file, kept once set. Switching needs an exclusive lock and
            # does not wait for it, so a connection that loses the race leaves it to the winner.
            try:
                cursor.execute("PRAGMA journal_mode=WAL")
            except sqlite3.OperationalError as exc:
                log.debug("journal_mode=WAL not set by this connection: %s", exc)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get(WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine
