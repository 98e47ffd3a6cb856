"""The watermarks table: how far each production source has been read.

A watermark is written in the transaction of the rows it produced (the push that carried the
source's rows), so a restart resumes exactly where the last committed batch ended.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from smote_monitor.records import utcnow
from smote_monitor.store.models import Watermark


def load_watermark(session: Session, dataset_id: int, source: str) -> dict[str, Any]:
    row = session.scalars(
        select(Watermark).where(Watermark.dataset_id == dataset_id, Watermark.source == source)
    ).one_or_none()
    return dict(row.state) if row is not None else {}


def save_watermark(session: Session, dataset_id: int, source: str, state: dict[str, Any]) -> None:
    row = session.scalars(
        select(Watermark).where(Watermark.dataset_id == dataset_id, Watermark.source == source)
    ).one_or_none()
    if row is None:
        session.add(
            Watermark(dataset_id=dataset_id, source=source, state=state, updated_at=utcnow())
        )
    else:
        row.state = state
        row.updated_at = utcnow()
