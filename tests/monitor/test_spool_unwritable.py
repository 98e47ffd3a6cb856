"""Store down and spool unwritable: training still finishes; the log names both failures."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from imblearn.over_sampling import SMOTE as ImblearnSMOTE

from smote_monitor import Monitor, StoreUnavailableError

from ..conftest import UNREACHABLE_URL
from .test_records import VALID


def test_an_unwritable_spool_is_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    monitor = Monitor.from_url(UNREACHABLE_URL, spool_dir=blocker / "spool")
    rng = np.random.default_rng(0)
    y = (rng.random(300) < 0.1).astype(int)
    X = rng.normal(size=(300, 3)) + y[:, None]
    with caplog.at_level(logging.ERROR), monitor.track_run(dataset="fraud") as run:
        run.resample(ImblearnSMOTE(random_state=0), X, y)
    assert monitor.record(VALID) is None
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 2, errors
    assert all("the store is unreachable" in e and "could not be spooled" in e for e in errors)
    assert str(blocker) in errors[0]

    strict = Monitor.from_url(UNREACHABLE_URL, spool_dir=blocker / "spool", strict=True)
    with pytest.raises(StoreUnavailableError):
        strict.record(VALID)
