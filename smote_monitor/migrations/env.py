"""Alembic environment: runs on a connection handed over by smote_monitor.store.migrate."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from smote_monitor.store.models import Base

# Any fixed 64-bit number: the key of the PostgreSQL advisory lock that serialises migrations
# when several replicas start at once.
_PG_MIGRATION_LOCK = 0x736D6F74656D6967

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    # SQLite's DDL is transactional, though Alembic assumes not and commits after each
    # migration: a second process then ran a migration the first had applied since it read the
    # revision ("duplicate column name"). One transaction (BEGIN IMMEDIATE) holds the write lock
    # from reading the revision to the last migration.
    transactional_ddl=True,
)
with context.begin_transaction():
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
    context.run_migrations()
