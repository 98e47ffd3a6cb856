"""The slice_states table: a dataset's late-label join state and cumulative confusion counts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from smote_monitor.store.models import SliceState


def slice_state_for_update(session: Session, dataset_id: int) -> SliceState | None:
    """The dataset's state, locked for the transaction on PostgreSQL (pushes serialise)."""
    query = select(SliceState).where(SliceState.dataset_id == dataset_id)
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        query = query.with_for_update()
    return session.scalars(query).one_or_none()


def save_slice_state(
    session: Session,
    dataset_id: int,
    row: SliceState | None,
    *,
    join_state: dict[str, Any],
    counts: dict[str, Any],
    new_predictions: int,
    new_labeled: int,
    updated_at: datetime,
) -> SliceState:
    """Write the state and add the new predictions and labels to its totals."""
    if row is None:
        row = SliceState(dataset_id=dataset_id, n_predictions=0, n_labeled=0)
        session.add(row)
    row.join_state = join_state
    row.counts = counts
    row.n_predictions = (row.n_predictions or 0) + new_predictions
    row.n_labeled = (row.n_labeled or 0) + new_labeled
    row.updated_at = updated_at
    return row
