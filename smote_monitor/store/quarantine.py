"""The quarantined_files table: production files that could not be read, kept out and listed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from smote_monitor.records import utcnow
from smote_monitor.store import counters
from smote_monitor.store.datasets import dataset_row
from smote_monitor.store.models import QuarantinedFile


def quarantined(session: Session, dataset_id: int) -> dict[str, tuple[int, float]]:
    """Quarantined paths and the (size, mtime) they had: a changed file is tried again."""
    query = select(QuarantinedFile).where(QuarantinedFile.dataset_id == dataset_id)
    return {row.path: (row.size, row.mtime) for row in session.scalars(query)}


def quarantined_files(session: Session, dataset_id: int) -> list[dict[str, Any]]:
    query = (
        select(QuarantinedFile)
        .where(QuarantinedFile.dataset_id == dataset_id)
        .order_by(QuarantinedFile.quarantined_at.desc())
    )
    return [
        {
            "path": row.path,
            "reason": row.reason,
            "size": row.size,
            "quarantined_at": row.quarantined_at.isoformat(),
        }
        for row in session.scalars(query)
    ]


def quarantine_file(
    store: Any, dataset: str, path: str, reason: str, size: int, mtime: float
) -> None:
    """Record (or refresh) a file's quarantine and count it, in one transaction."""
    with store.write() as session:
        dataset_id = dataset_row(session, dataset).id
        row = session.scalars(
            select(QuarantinedFile).where(
                QuarantinedFile.dataset_id == dataset_id, QuarantinedFile.path == path
            )
        ).one_or_none()
        if row is None:
            row = QuarantinedFile(dataset_id=dataset_id, path=path)
            session.add(row)
        row.reason, row.size, row.mtime, row.quarantined_at = reason, size, mtime, utcnow()
        counters.add(session, dataset_id, {(counters.FILES_QUARANTINED, "", ""): 1})
