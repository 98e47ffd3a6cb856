"""The datasets table: one row per dataset name, created on first use."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from smote_monitor.records import utcnow
from smote_monitor.store.models import Dataset


def dataset_row(session: Session, name: str) -> Dataset:
    """The dataset row of that name, created on first use (inside the caller's transaction)."""
    dataset = session.scalars(select(Dataset).where(Dataset.name == name)).one_or_none()
    if dataset is None:
        dataset = Dataset(name=name, created_at=utcnow())
        session.add(dataset)
        session.flush()
    return dataset


def find_dataset(session: Session, name: str) -> Dataset | None:
    return session.scalars(select(Dataset).where(Dataset.name == name)).one_or_none()


def clear_production_state(session: Session, name: str) -> dict[str, int]:
    """Forget what production told the dataset: predictions waiting for labels, early labels,
    staged rows, window buckets, watermarks, quarantined files and production evaluations.

    Runs, their profiles and the Prometheus counters stay (counters never go down). The demo
    calls it before each replay, so that a second replay is not mixed into the first one's
    windows. Returns the rows deleted per table.
    """
    from sqlalchemy import delete

    from smote_monitor.store.database import rows_affected
    from smote_monitor.store.evaluations import PRODUCTION
    from smote_monitor.store.models import (
        EarlyLabel,
        Evaluation,
        PendingPrediction,
        QuarantinedFile,
        StagedBatch,
        Watermark,
        WindowBucket,
    )

    dataset = find_dataset(session, name)
    if dataset is None:
        return {}
    deleted = {}
    for model in (
        PendingPrediction,
        EarlyLabel,
        StagedBatch,
        WindowBucket,
        Watermark,
        QuarantinedFile,
    ):
        query = delete(model).where(model.dataset_id == dataset.id)
        deleted[model.__tablename__] = rows_affected(session.execute(query))
    deleted[Evaluation.__tablename__] = rows_affected(
        session.execute(
            delete(Evaluation).where(
                Evaluation.dataset_id == dataset.id, Evaluation.kind == PRODUCTION
            )
        )
    )
    return deleted
