"""Exceptions smote-monitor raises at its entry points.

Every input error names the field, the value received and what was expected, so that the
message alone tells a user at 3 a.m. what to fix.
"""

from __future__ import annotations

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


class StoreUnavailableError(SmoteMonitorError):
    """The SQL store could not be reached (connection refused, timeout, locked database)."""


class RunConflictError(SmoteMonitorError):
    """A run with the same (dataset, run_key) exists with different content."""


def _short_repr(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
