"""Fixtures shared by the whole suite: real stores (a SQLite file, and PostgreSQL when
SMOTE_MONITOR_TEST_POSTGRES_URL is set), each test on an empty database of its own."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

POSTGRES_ENV = "SMOTE_MONITOR_TEST_POSTGRES_URL"
UNREACHABLE_URL = "postgresql+psycopg://postgres@127.0.0.1:1/nowhere"
"""Nothing listens on port 1: connecting fails at once, like a store that is down."""


@pytest.fixture(autouse=True)
def _isolated_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # A developer's SMOTE_MONITOR_* variables must not leak into tests.
    for name in list(os.environ):
        if name.startswith("SMOTE_MONITOR_") and name != POSTGRES_ENV:
            monkeypatch.delenv(name)


@pytest.fixture
def sqlite_url(tmp_path: os.PathLike[str]) -> str:
    return f"sqlite:///{tmp_path}/store.db"


def postgres_database(prefix: str = "smote_test") -> Iterator[str]:
    """A fresh, empty PostgreSQL database for as long as the generator runs (dropped after);
    the test is skipped when no server is configured."""
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"{POSTGRES_ENV} is not set")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    yield from postgres_database()


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest) -> str:
    """A URL of an empty store, once per backend."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(fixture))
