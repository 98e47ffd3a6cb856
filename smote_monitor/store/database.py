"""One handle on the store: engine, schema state, and transaction scopes."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from sqlalchemy import Engine, inspect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DatabaseError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from smote_monitor.errors import (
    NotAStoreError,
    SmoteMonitorError,
    StoreNotFoundError,
    StorePermissionError,
    StoreUnavailableError,
    is_permission_problem,
)
from smote_monitor.store import migrate
from smote_monitor.store.engine import WRITE, create_store_engine, sqlite_file

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
    create : bool, optional
        Whether a SQLite store that does not exist yet is created (with its directory) on first
        use. ``False`` for whatever only reads (``runs list``, ``db status``…): a missing file
        raises :class:`~smote_monitor.errors.StoreNotFoundError` and nothing is created.
    """

    def __init__(self, url: str, *, auto_upgrade: bool | None = None, create: bool = True) -> None:
        self.url = url
        self.engine: Engine = create_store_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._auto_upgrade = auto_upgrade
        self._schema_checked = False
        self._create = create
        self._file = sqlite_file(self.engine)
        self._file_ready = self._file is None

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    def status(self) -> StoreStatus:
        self.prepare_file()
        with _unavailable_as_error(self.url, self._file):
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
        self.prepare_file()
        with _unavailable_as_error(self.url, self._file):
            before = migrate.current_revision(self.engine)
            migrate.upgrade(self.engine)
        status = self.status()
        if before != status.revision:
            log.info("store %s upgraded from %s to %s", self.url_for_display, before, status.head)
        self._schema_checked = True
        return status

    def prepare_file(self) -> None:
        """Make a SQLite store's directory and file exist and check it takes writes.

        Without ``create``, only check that the file exists. OS errors become ours, with the
        path: a permission problem (EACCES, EPERM, EROFS) is a :class:`StorePermissionError`,
        any other a :class:`StoreUnavailableError`; a training job spools on both. No-op for
        PostgreSQL and in-memory SQLite.
        """
        if self._file_ready:
            return
        path = self._file
        assert path is not None
        self._check_file(missing_ok=self._create)
        if not self._create:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            action = f"create the directory {path.parent} of the store"
            if is_permission_problem(exc):
                raise StorePermissionError(str(path), action, exc.strerror or "") from exc
            raise StoreUnavailableError(
                f"cannot create the directory {path.parent} of the store {path} "
                f"({exc.strerror or exc})"
            ) from exc
        try:
            # Append mode changes nothing in an existing file and creates an empty one (an empty
            # SQLite database), so the system's own answer says whether we may write.
            with path.open("ab"):
                pass
        except OSError as exc:
            if is_permission_problem(exc):
                raise StorePermissionError(
                    str(path), "write the store", exc.strerror or ""
                ) from exc
            raise StoreUnavailableError(
                f"cannot create the store {path} ({exc.strerror or exc})"
            ) from exc
        self._file_ready = True

    def _check_file(self, *, missing_ok: bool = False) -> None:
        path = self._file
        if path is None or self._file_ready:
            return
        if path.is_dir():
            raise NotAStoreError(f"{path} is a directory, not a SQLite database")
        if not missing_ok and not path.exists():
            raise StoreNotFoundError(str(path))

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
        with _unavailable_as_error(self.url, self._file):
            return bool(inspect(self.engine).get_table_names())

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session in one write transaction: committed whole on success, else rolled back."""
        self.ensure_schema()
        with _unavailable_as_error(self.url, self._file):
            connection = self.engine.connect().execution_options(**{WRITE: True})
            try:
                with Session(bind=connection, expire_on_commit=False) as session, session.begin():
                    yield session
            finally:
                connection.close()

    @contextmanager
    def read(self) -> Iterator[Session]:
        self.ensure_schema()
        with _unavailable_as_error(self.url, self._file), self._sessions() as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


PG_DEFAULT_PORT = 5432


def store_identity(url: str) -> str:
    """A store's identity, comparable across spellings of its URL and never holding a password.

    SQLite: the file's absolute path, its directory resolved (``sqlite:///x.db`` in /srv is
    ``sqlite:////srv/x.db``); the file itself is named, not followed, so a store whose file is
    a link that breaks for a while keeps its identity. PostgreSQL: the URL without password,
    with psycopg as the driver, the host in lower case and the default port written out. The
    spool files a run under it so that it is replayed into that store and no other.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database in (None, "", ":memory:"):
            return "sqlite://"
        path = Path(database).expanduser()
        return f"sqlite:///{path.parent.resolve() / path.name}"
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
def _unavailable_as_error(url: str, sqlite_path: Path | None = None) -> Iterator[None]:
    """The driver's errors as ours: what a user can act on, with the store's path for SQLite."""
    try:
        yield
    except (OperationalError, InterfaceError) as exc:
        reason = str(exc.orig or exc)
        if sqlite_path is not None:
            _raise_sqlite_error(sqlite_path, reason, exc)
        raise StoreUnavailableError(f"the store is unreachable: {reason}") from exc
    except DatabaseError as exc:
        # Only SQLite's bare DatabaseError ("file is not a database"); IntegrityError and the
        # like are for the caller.
        if sqlite_path is not None and type(exc.orig) is sqlite3.DatabaseError:
            _raise_sqlite_error(sqlite_path, str(exc.orig), exc)
        raise
    except sqlite3.DatabaseError as exc:  # from our connect hook, when SQLAlchemy did not wrap it
        if sqlite_path is not None and type(exc) in (
            sqlite3.DatabaseError,
            sqlite3.OperationalError,
        ):
            _raise_sqlite_error(sqlite_path, str(exc), exc)
        raise


def _raise_sqlite_error(path: Path, reason: str, exc: Exception) -> NoReturn:
    if "not a database" in reason or "malformed" in reason:
        raise NotAStoreError(
            f"{path} is not a SQLite database ({reason}); expected a store made by smote-monitor"
        ) from exc
    if "readonly" in reason or "read-only" in reason:
        raise StorePermissionError(str(path), "write the store", reason) from exc
    if "unable to open" in reason:
        raise StoreUnavailableError(f"cannot open the store {path} ({reason})") from exc
    raise StoreUnavailableError(f"the store is unreachable: {reason}") from exc


def rows_affected(result: Any) -> int:
    """Rows a bulk UPDATE/DELETE touched (``CursorResult.rowcount``; 0 when unknown)."""
    count = getattr(result, "rowcount", None)
    return int(count) if isinstance(count, int) and count > 0 else 0
