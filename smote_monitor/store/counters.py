"""The counters table: monotonic totals the collector exports as Prometheus counters.

Only :func:`add` writes it, and it only adds non-negative amounts, so no counter ever goes down —
whichever replica writes, across restarts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from smote_monitor.store.models import Counter

SLICE_PREDICTIONS = "slice_predictions"
PRODUCTION_ROWS = "production_rows"
PRODUCTION_LABELED_ROWS = "production_labeled_rows"
LABEL_CORRECTIONS = "label_corrections"
FILES_QUARANTINED = "files_quarantined"

CounterKey = tuple[str, str, str]
"""(name, slice, outcome); slice and outcome are "" for dataset-level totals."""


def add(session: Session, dataset_id: int, amounts: Mapping[CounterKey, int]) -> None:
    """Add each (non-negative) amount to its counter, creating counters on first use."""
    rows: list[dict[str, Any]] = []
    for (name, slice_, outcome), amount in sorted(amounts.items()):
        if amount < 0:
            raise ValueError(f"counter {name} {slice_} {outcome}: cannot add {amount} (< 0)")
        if amount:
            rows.append(
                {
                    "dataset_id": dataset_id,
                    "name": name,
                    "slice": slice_,
                    "outcome": outcome,
                    "value": amount,
                }
            )
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    statement = (pg_insert if dialect == "postgresql" else sqlite_insert)(Counter)
    statement = statement.on_conflict_do_update(
        index_elements=["dataset_id", "name", "slice", "outcome"],
        set_={"value": Counter.value + statement.excluded.value},
    )
    session.execute(statement, rows)


def counters_of(session: Session, dataset_id: int) -> dict[CounterKey, int]:
    query = select(Counter.name, Counter.slice, Counter.outcome, Counter.value).where(
        Counter.dataset_id == dataset_id
    )
    return {(n, s, o): int(v) for n, s, o, v in session.execute(query)}
