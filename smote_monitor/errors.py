"""Exceptions smote-monitor raises at its entry points.

Every input error names the field, the value received and what was expected, so that the
message alone tells a user at 3 a.m. what to fix.
"""

from __future__ import annotations

import errno
from typing import Any


class SmoteMonitorError(Exception):
    """Base class of every error smote-monitor raises on purpose."""


class InvalidInputError(SmoteMonitorError, ValueError):
    """Bad input at an entry point (API, CLI, HTTP, config, production data).

    Parameters
    ----------
    field : str
        Dotted path of the offending field, e.g. ``"metrics.validation.f1"``.
    value : Any
        The value received.
    expected : str
        What would have been accepted, in words.
    where : str, optional
        Which of several inputs it was (``"record 1 (fraud/k1)"``); the message starts with it.
    """

    def __init__(self, field: str, value: Any, expected: str, *, where: str | None = None) -> None:
        self.field = field
        self.value = value
        self.expected = expected
        self.where = where
        message = f"{field}: got {_short_repr(value)}; expected {expected}"
        super().__init__(f"{where}: {message}" if where else message)

    def within(self, where: str) -> InvalidInputError:
        """The same error, said of one item of several (``record 1 (fraud/k1): …``)."""
        return InvalidInputError(self.field, self.value, self.expected, where=where)

    def __reduce__(self) -> tuple[Any, ...]:
        # Raised on a Dask worker, the error crosses to the client pickled: rebuild it from
        # its parts (the default would call __init__ with the message alone).
        return (_invalid_input, (self.field, self.value, self.expected, self.where))


def _invalid_input(field: str, value: Any, expected: str, where: str | None) -> InvalidInputError:
    return InvalidInputError(field, value, expected, where=where)


class DistributedJobError(SmoteMonitorError):
    """A job on a Dask cluster could not finish: the scheduler was unreachable, or a task's
    workers kept dying. Nothing was stored."""


class StoreUnavailableError(SmoteMonitorError):
    """The SQL store could not be reached (connection refused, timeout, locked database)."""


class StoreNotFoundError(SmoteMonitorError):
    """A command that only reads found no store at the SQLite path (it never creates one)."""

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(f"no store at {path} (run `smote-monitor init` or record a run first)")


class NotAStoreError(SmoteMonitorError):
    """The store's SQLite path holds a file that is not a (usable) SQLite database."""


class PermissionDeniedError(SmoteMonitorError):
    """A path smote-monitor must write refuses it: file permissions or a read-only file system.

    Parameters
    ----------
    path : str
        The path the user named (not a temporary file next to it).
    action : str
        What was attempted, e.g. ``"write the config"``.
    reason : str
        The system's words, e.g. ``"Permission denied"`` or ``"Read-only file system"``.
    """

    def __init__(self, path: str, action: str, reason: str) -> None:
        self.path = path
        super().__init__(f"permission denied: cannot {action} {path} ({reason})")


class StorePermissionError(PermissionDeniedError, StoreUnavailableError):
    """The store's file or directory refuses writes. A training job spools, as when it is down."""


PERMISSION_ERRNOS = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})
"""The errors that mean "not allowed" rather than "not there"."""


def is_permission_problem(exc: OSError) -> bool:
    return exc.errno in PERMISSION_ERRNOS


def path_error(exc: OSError, path: str, action: str) -> SmoteMonitorError:
    """An OS error on a path the user named, as one of our errors with the path and the reason."""
    reason = exc.strerror or type(exc).__name__
    if is_permission_problem(exc):
        return PermissionDeniedError(path, action, reason)
    return SmoteMonitorError(f"cannot {action} {path} ({reason})")


class RunConflictError(SmoteMonitorError):
    """A run with the same (dataset, run_key) exists with different content."""


def _short_repr(value: Any, limit: int = 80) -> str:
    # A numpy scalar reads as the value it holds: "got 7", not "got np.int64(7)".
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "shape", None) == ():
        value = item()
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
