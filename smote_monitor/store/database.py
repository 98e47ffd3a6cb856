"""One handle on the store: engine, schema state, and transaction scopes."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, inspect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from smote_monitor.errors import SmoteMonitorError, StoreUnavailableError
from smote_monitor.store import migrate
from smote_monitor.store.engine import WRITE, create_store_engine

log = logging.getLogger(__name__)


class SchemaOutdatedError(SmoteMonitorError):
    """The store's schema is behind this version of smote-monitor."""


@dataclass(frozen=True)
class StoreStatus:
    url: str
    backend: str
    revision: str | None
    head: str

    @property
    def up_to_date(self) -> bool:
        return self.revision == self.head


class Store:
    """The SQL store at ``url``.

    Parameters
    ----------
    url : str
        SQLAlchemy URL: ``sqlite:///path.db`` (embedded default) or
        ``postgresql+psycopg://user@host/db``.
    auto_upgrade : bool, optional
        Migrate the schema to head on first use. Default: on for SQLite (a new user never runs a
        migration by hand) and for an empty PostgreSQL database; an existing PostgreSQL schema
        that is behind raises :class:`SchemaOutdatedError` pointing at ``smote-monitor db
        upgrade``, because production migrations should be a deliberate step.
    """

    def __init__(self, url: str, *, auto_upgrade: bool | None = None) -> None:
        self.url = url
        self.engine: Engine = create_store_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._auto_upgrade = auto_upgrade
        self._schema_checked = False

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    def status(self) -> StoreStatus:
        with _unavailable_as_error(self.url):
            revision = migrate.current_revision(self.engine)
        return StoreStatus(self.url_for_display, self.backend, revision, migrate.head_revision())

    @property
    def url_for_display(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    @property
    def identity(self) -> str:
        """Which store this is, whatever URL spelling named it (see :func:`store_identity`)."""
        return store_identity(self.url)

    def upgrade(self) -> StoreStatus:
        """Migrate to head (``smote-monitor db upgrade``); rows are kept."""
        with _unavailable_as_error(self.url):
            before = migrate.current_revision(self.engine)
            migrate.upgrade(self.engine)
        status = self.status()
        if before != status.revision:
            log.info("store %s upgraded from %s to %s", self.url_for_display, before, status.head)
        self._schema_checked = True
        return status

    def ensure_schema(self) -> None:
        if self._schema_checked:
            return
        status = self.status()
        if not status.up_to_date:
            auto = self._auto_upgrade
            if auto is None:
                auto = self.backend == "sqlite" or (
                    status.revision is None and not self._has_tables()
                )
            if not auto:
                raise SchemaOutdatedError(
                    f"the store {status.url} is at schema revision {status.revision or 'none'}, "
                    f"this smote-monitor needs {status.head}: run `smote-monitor db upgrade`"
                )
            self.upgrade()
        self._schema_checked = True

    def _has_tables(self) -> bool:
        with _unavailable_as_error(self.url):
            return bool(inspect(self.engine).get_table_names())

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session in one write transaction: committed whole on success, else rolled back."""
        self.ensure_schema()
        with _unavailable_as_error(self.url):
            connection = self.engine.connect().execution_options(**{WRITE: True})
            try:
                with Session(bind=connection, expire_on_commit=False) as session, session.begin():
                    yield session
            finally:
                connection.close()

    @contextmanager
    def read(self) -> Iterator[Session]:
        self.ensure_schema()
        with _unavailable_as_error(self.url), self._sessions() as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


PG_DEFAULT_PORT = 5432


def store_identity(url: str) -> str:
    """A store's identity, comparable across spellings of its URL and never holding a password.

    SQLite: the absolute, resolved path of the file (``sqlite:///x.db`` in /srv is
    ``sqlite:////srv/x.db``). PostgreSQL: the URL without password, with psycopg as the driver,
    the host in lower case and the default port written out. The spool files a run under it so
    that it is replayed into that store and no other.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database in (None, "", ":memory:"):
            return "sqlite://"
        return f"sqlite:///{Path(database).expanduser().resolve()}"
    without_password = URL.create(
        "postgresql+psycopg",
        username=parsed.username,
        host=(parsed.host or "localhost").lower(),
        port=parsed.port or PG_DEFAULT_PORT,
        database=parsed.database,
        query=parsed.query,
    )
    return without_password.render_as_string(hide_password=False)


@contextmanager
def _unavailable_as_error(url: str) -> Iterator[None]:
    try:
        yield
    except (OperationalError, InterfaceError) as exc:
        raise StoreUnavailableError(f"the store is unreachable: {exc.orig or exc}") from exc
