"""A retried run keeps only the latest attempt's training profiles and synthetic shift."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from imblearn.over_sampling import SMOTE as ImblearnSMOTE
from sqlalchemy import func, select

from smote_monitor import Monitor
from smote_monitor.drift.reference import AUGMENTED, REAL
from smote_monitor.store.evaluations import SYNTHETIC_SHIFT, shift_of_run
from smote_monitor.store.models import Evaluation
from smote_monitor.store.profiles import load_profiles
from tests.store_access import read


def _frame(columns: list[str], seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random(400) < 0.1).astype(int)
    return pd.DataFrame(rng.normal(size=(400, len(columns))) + y[:, None], columns=columns), y


def test_a_retry_replaces_the_failed_attempts_profiles_and_shift(
    store_url: str, tmp_path: Path
) -> None:
    monitor = Monitor.from_url(store_url, spool_dir=tmp_path / "spool")
    with pytest.raises(RuntimeError), monitor.track_run(dataset="fraud", run_key="k") as first:
        first.resample(ImblearnSMOTE(random_state=0), *_frame(["a", "b", "c"], 0))
        raise RuntimeError("the model did not converge")
    run_id = first.run_id
    assert run_id is not None
    assert list(read(monitor.store, load_profiles, run_id, REAL)) == ["a", "b", "c"]

    with monitor.track_run(dataset="fraud", run_key="k") as retry:
        retry.resample(ImblearnSMOTE(random_state=1), *_frame(["u", "v"], 1))
    assert retry.run_id == run_id
    for split in (REAL, AUGMENTED):
        assert list(read(monitor.store, load_profiles, run_id, split)) == ["u", "v"]
    shift = read(monitor.store, shift_of_run, run_id)
    assert shift is not None and sorted(d["feature"] for d in shift.drift) == ["u", "v"]

    def shifts(session: object) -> int:
        query = select(func.count(Evaluation.id)).where(
            Evaluation.kind == SYNTHETIC_SHIFT, Evaluation.reference_run_id == run_id
        )
        return int(session.scalar(query) or 0)  # type: ignore[attr-defined]

    assert read(monitor.store, shifts) == 1
