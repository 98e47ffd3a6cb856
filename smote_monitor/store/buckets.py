"""Time buckets of production rows (``window_buckets``) and the rows staged for them
(``staged_batches``): repositories on the caller's ``Session``."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from smote_monitor.records import utcnow
from smote_monitor.store.database import rows_affected
from smote_monitor.store.models import StagedBatch, WindowBucket


def buckets_for_update(
    session: Session, dataset_id: int, starts: Sequence[float]
) -> dict[float, WindowBucket]:
    """The dataset's buckets that start at ``starts`` (locked on PostgreSQL)."""
    if not starts:
        return {}
    query = select(WindowBucket).where(
        WindowBucket.dataset_id == dataset_id, WindowBucket.start.in_(list(starts))
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return {row.start: row for row in session.scalars(query)}


def new_bucket(session: Session, dataset_id: int, start: float, width: int) -> WindowBucket:
    bucket = WindowBucket(
        dataset_id=dataset_id,
        start=start,
        width=width,
        n_rows=0,
        n_labeled=0,
        profiles=None,
        slice_counts=None,
    )
    session.add(bucket)
    return bucket


def buckets_since(session: Session, dataset_id: int, since: float) -> list[WindowBucket]:
    query = (
        select(WindowBucket)
        .where(WindowBucket.dataset_id == dataset_id, WindowBucket.start >= since)
        .order_by(WindowBucket.start)
    )
    return list(session.scalars(query))


def drop_buckets_before(session: Session, dataset_id: int, horizon: float) -> int:
    result = session.execute(
        delete(WindowBucket).where(
            WindowBucket.dataset_id == dataset_id, WindowBucket.start < horizon
        )
    )
    return rows_affected(result)


def stage(session: Session, dataset_id: int, n_rows: int, payload: bytes) -> None:
    session.add(
        StagedBatch(dataset_id=dataset_id, n_rows=n_rows, payload=payload, created_at=utcnow())
    )


def staged_batches(session: Session, dataset_id: int, max_rows: int) -> list[StagedBatch]:
    """The oldest staged batches, as many as hold ``max_rows`` rows (at least one), locked on
    PostgreSQL (one folder at a time): what one fold transaction takes, so its memory is
    bounded whatever the backlog."""
    sizes = select(StagedBatch.id, StagedBatch.n_rows).where(StagedBatch.dataset_id == dataset_id)
    chosen: list[int] = []
    rows = 0
    for batch_id, n_rows in session.execute(sizes.order_by(StagedBatch.id).limit(10_000)):
        if chosen and rows + n_rows > max_rows:
            break
        chosen.append(batch_id)
        rows += n_rows
    if not chosen:
        return []
    query = select(StagedBatch).where(StagedBatch.id.in_(chosen)).order_by(StagedBatch.id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(session.scalars(query))


def delete_staged(session: Session, ids: Sequence[int]) -> None:
    if ids:
        session.execute(delete(StagedBatch).where(StagedBatch.id.in_(list(ids))))
