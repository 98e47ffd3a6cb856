"""The late-label join's tables: predictions within the lookback and labels that came early.

Every function works on the caller's ``Session`` and touches only the rows it is given (a push
costs O(batch), whatever the backlog); expiry deletes in bulk by the indexed timestamp.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from smote_monitor.store.database import rows_affected
from smote_monitor.store.models import EarlyLabel, PendingPrediction

IN_CHUNK = 500
"""Keys per ``IN (...)`` query: well under every backend's bound-parameter limit."""


def _chunks(items: Sequence[Any], size: int = IN_CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _insert(session: Session, model: Any) -> Any:
    """A dialect INSERT on the model's table (Core, not the ORM's bulk path: 3x faster)."""
    dialect = session.get_bind().dialect.name
    return (pg_insert if dialect == "postgresql" else sqlite_insert)(cast(Table, model.__table__))


def insert_new_predictions(session: Session, rows: list[dict[str, Any]]) -> set[str]:
    """Insert the rows whose (dataset, key) is new; return the keys that were inserted.

    A key already stored (a prediction pushed twice) is left as it is: the first one counts.
    """
    key = cast(Table, PendingPrediction.__table__).c.key
    statement = (
        _insert(session, PendingPrediction)
        .on_conflict_do_nothing(index_elements=["dataset_id", "key"])
        .returning(key)
    )
    inserted: set[str] = set()
    for chunk in _chunks(rows, 5_000):
        inserted.update(session.execute(statement, list(chunk)).scalars().all())
    return inserted


def predictions_by_key(
    session: Session, dataset_id: int, keys: Sequence[str]
) -> dict[str, PendingPrediction]:
    found: dict[str, PendingPrediction] = {}
    for chunk in _chunks(keys):
        query = select(PendingPrediction).where(
            PendingPrediction.dataset_id == dataset_id, PendingPrediction.key.in_(chunk)
        )
        found.update({row.key: row for row in session.scalars(query)})
    return found


def set_outcomes(session: Session, dataset_id: int, changes: list[dict[str, Any]]) -> None:
    """``changes``: ``{"key", "outcome", "label"}`` per labelled prediction."""
    if not changes:
        return
    table = cast(Table, PendingPrediction.__table__)
    statement = (
        update(table)
        .where(table.c.dataset_id == dataset_id, table.c.key == bindparam("b_key"))
        .values(outcome=bindparam("b_outcome"), label=bindparam("b_label"))
    )
    session.execute(
        statement,
        [{"b_key": c["key"], "b_outcome": c["outcome"], "b_label": c["label"]} for c in changes],
    )


def early_labels_by_key(
    session: Session, dataset_id: int, keys: Sequence[str]
) -> dict[str, EarlyLabel]:
    found: dict[str, EarlyLabel] = {}
    for chunk in _chunks(keys):
        query = select(EarlyLabel).where(
            EarlyLabel.dataset_id == dataset_id, EarlyLabel.key.in_(chunk)
        )
        found.update({row.key: row for row in session.scalars(query)})
    return found


def save_early_labels(session: Session, rows: list[dict[str, Any]]) -> None:
    """Keep labels whose prediction has not arrived; a newer label for a key replaces it."""
    for chunk in _chunks(rows, 5_000):
        statement = _insert(session, EarlyLabel)
        statement = statement.on_conflict_do_update(
            index_elements=["dataset_id", "key"],
            set_={"label": statement.excluded.label, "ts": statement.excluded.ts},
        )
        session.execute(statement, list(chunk))


def delete_early_labels(session: Session, dataset_id: int, keys: Sequence[str]) -> None:
    for chunk in _chunks(keys):
        session.execute(
            delete(EarlyLabel).where(EarlyLabel.dataset_id == dataset_id, EarlyLabel.key.in_(chunk))
        )


def expire(session: Session, dataset_id: int, horizon: float) -> tuple[int, int]:
    """Drop predictions and early labels stamped before ``horizon``; (predictions, labels)."""
    predictions = session.execute(
        delete(PendingPrediction).where(
            PendingPrediction.dataset_id == dataset_id, PendingPrediction.ts < horizon
        )
    )
    labels = session.execute(
        delete(EarlyLabel).where(EarlyLabel.dataset_id == dataset_id, EarlyLabel.ts < horizon)
    )
    return rows_affected(predictions), rows_affected(labels)


def pending_counts(session: Session, dataset_id: int) -> dict[str, int]:
    """Predictions waiting for their label, labelled ones still within the lookback, and
    labels waiting for their prediction."""
    waiting, labelled = session.execute(
        select(
            func.count().filter(PendingPrediction.outcome.is_(None)),
            func.count().filter(PendingPrediction.outcome.is_not(None)),
        ).where(PendingPrediction.dataset_id == dataset_id)
    ).one()
    early = session.scalar(
        select(func.count()).select_from(EarlyLabel).where(EarlyLabel.dataset_id == dataset_id)
    )
    return {
        "predictions_waiting_for_label": int(waiting or 0),
        "labelled_within_lookback": int(labelled or 0),
        "labels_waiting_for_prediction": int(early or 0),
    }
