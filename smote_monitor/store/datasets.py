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
