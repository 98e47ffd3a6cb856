"""Tests read the store through its repositories, each in a read session of its own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from smote_monitor.store import Store

T = TypeVar("T")


def read(store: Store, repository: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``repository(session, *args, **kwargs)`` in one read session of ``store``."""
    with store.read() as session:
        return repository(session, *args, **kwargs)


__all__ = ["Session", "read"]
