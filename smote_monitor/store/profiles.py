"""The reference_profiles table: what drift needs of a run's training data, per split."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from smote_monitor.store.models import ReferenceProfile

if TYPE_CHECKING:  # the drift engine pulls in scipy.stats: keep it off the CLI's start-up path
    from smote_monitor.drift import FeatureProfile


def replace_profiles(
    session: Session, run_id: int, profiles: Mapping[str, Mapping[str, FeatureProfile]]
) -> None:
    """Make ``{split: {feature: profile}}`` the run's profiles (none: the run has none)."""
    session.execute(delete(ReferenceProfile).where(ReferenceProfile.run_id == run_id))
    for split, features in profiles.items():
        for name, profile in features.items():
            session.add(
                ReferenceProfile(
                    run_id=run_id,
                    split=split,
                    feature=name,
                    column_type=profile.kind.value,
                    mode=profile.mode,
                    n=profile.n,
                    n_missing=profile.n_missing,
                    payload=profile.to_dict(),
                )
            )


def load_profiles(session: Session, run_id: int, split: str) -> dict[str, FeatureProfile]:
    """The run's profiles of one split, in the order they were recorded."""
    from smote_monitor.drift import FeatureProfile

    query = (
        select(ReferenceProfile)
        .where(ReferenceProfile.run_id == run_id, ReferenceProfile.split == split)
        .order_by(ReferenceProfile.id)
    )
    return {row.feature: FeatureProfile.from_dict(row.payload) for row in session.scalars(query)}
