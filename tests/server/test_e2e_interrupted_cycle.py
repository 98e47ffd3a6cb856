"""An evaluation cycle interrupted by SIGTERM or ``kill -9``, then a restart: nothing lost,
nothing doubled.

A ``files`` source holds enough Parquet rows that one cycle takes seconds. The server is stopped
while the cycle reads the files (once the first file's rows show in the counters), restarted on
the same store, and left to read the rest. The counters and the windows' slice counts then equal
those of ONE uninterrupted run of the same files into a separate store: SIGTERM lets the running
cycle finish; after ``kill -9`` each file's rows and its watermark were written in one
transaction and pushed ids dedupe, so the file being read is read again from scratch, once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from smote_monitor import conventions as c
from smote_monitor.server.service import EXIT_OK
from tests.server.e2e import (
    evaluated_after,
    key,
    record_reference,
    scrape,
    slice_confusion,
    wait_for,
    window_counts,
)
from tests.server.helpers import ServerProcess, write_config

pytestmark = pytest.mark.slow

FILES, ROWS, FEATURES = 20, 10_000, 20
"""200k rows of 20 features: one cycle reads and folds them in ~5s (measured on a laptop)."""
TOTAL = FILES * ROWS
FEATURE_NAMES = [f"f{i:02d}" for i in range(FEATURES)]
WINDOWS = ["1h", "24h"]
READ_ALL_TIMEOUT = 120.0
"""Bound for reading every file (a cycle takes ~10s here; slow CI machines get margin)."""


def _dataset(data: Path) -> dict[str, Any]:
    return {
        "target": "is_fraud",
        "prediction": "predicted_label",
        "id_column": "event_id",
        "timestamp_column": "ts",
        "slices": ["region"],
        "evaluate_every": "1s",
        "windows": WINDOWS,
        "slo": {"min_slice_support": 5},
        "production": {"kind": "files", "path": str(data / "*.parquet")},
    }


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("drop")
    rng = np.random.default_rng(1)
    now = datetime.now(UTC)
    for index in range(FILES):
        frame = pd.DataFrame({name: rng.normal(size=ROWS) for name in FEATURE_NAMES})
        frame.insert(0, "event_id", np.arange(index * ROWS, (index + 1) * ROWS))
        minutes = rng.uniform(1, 30, size=ROWS)
        frame["ts"] = pd.Timestamp(now) - pd.to_timedelta(minutes, unit="min")
        frame["region"] = rng.choice(["eu", "us", "asia"], size=ROWS)
        label = (rng.random(ROWS) < 0.1).astype(int)
        frame["is_fraud"] = label
        frame["predicted_label"] = np.where(rng.random(ROWS) < 0.8, label, 1 - label)
        frame.to_parquet(directory / f"part-{index:03d}.parquet", index=False)
    return directory


def _config(directory: Path, data: Path, store_url: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    config = write_config(
        directory,
        store_url,
        datasets={"fraud": _dataset(data)},
        shutdown_timeout=120,  # SIGTERM lets the running cycle finish: give it the time
    )
    rng = np.random.default_rng(0)
    y = (rng.random(2000) < 0.1).astype(int)
    X = pd.DataFrame({name: rng.normal(size=2000) + y for name in FEATURE_NAMES})
    record_reference(config, X, y)
    return config


@dataclass(frozen=True)
class Outcome:
    """What a store holds once every file is read and evaluated."""

    rows: float
    labelled: float
    slices: dict[str, dict[str, int]]
    windows: dict[str, Any]


def _rows_read(http: httpx.Client) -> float:
    return scrape(http).get(key(c.PRODUCTION_ROWS, dataset="fraud"), 0.0)


def _read_everything(server: ServerProcess) -> Outcome:
    """Wait until every file's rows are counted and a cycle evaluated them; what it shows."""
    with server.client() as http:
        wait_for(lambda: _rows_read(http) == TOTAL, "every file read", READ_ALL_TIMEOUT)
        # The cycle that read the last file is stamped before it read it: wait for the next.
        state = evaluated_after(http, datetime.now(UTC))
        samples = scrape(http)
    windows = {
        w: {
            "rows": state["windows"][w]["rows"],
            "labelled_rows": state["windows"][w]["labelled_rows"],
            "slices": window_counts(state, w),
        }
        for w in WINDOWS
    }
    assert state["quarantined_files"] == []
    return Outcome(
        rows=samples[key(c.PRODUCTION_ROWS, dataset="fraud")],
        labelled=samples[key(c.PRODUCTION_LABELED_ROWS, dataset="fraud")],
        slices=slice_confusion(samples),
        windows=windows,
    )


@pytest.fixture(scope="module")
def uninterrupted(data: Path, tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    directory = tmp_path_factory.mktemp("baseline")
    config = _config(directory, data, f"sqlite:///{directory}/store.db")
    with ServerProcess(config) as server:
        server.wait_ready()
        outcome = _read_everything(server)
        assert server.terminate() == EXIT_OK, server.log
    assert outcome.rows == TOTAL and outcome.labelled == TOTAL
    assert all(w["rows"] == TOTAL for w in outcome.windows.values())
    return outcome


def _interrupt(config: Path, stop: str) -> int:
    """Start a server, stop it (``stop``) once the cycle has read some but not all files;
    the rows read by then."""
    with ServerProcess(config) as server:
        server.wait_ready()
        with server.client() as http:
            read = wait_for(lambda: _rows_read(http), "the first file's rows", READ_ALL_TIMEOUT)
        assert read < TOTAL, "the cycle finished before it could be interrupted"
        if stop == "sigterm":
            assert server.terminate(timeout=150) == EXIT_OK, server.log
            assert "waiting up to" in server.log  # it was mid-cycle when told to stop
        else:
            server.kill()
            assert server.process.returncode == -9
    return int(read)


@pytest.fixture
def interrupted_config(data: Path, tmp_path: Path, store_url: str) -> Iterator[Path]:
    """The interrupted run's store: SQLite, and PostgreSQL (the baseline is SQLite either
    way, so the PostgreSQL case also checks that both backends count alike)."""
    yield _config(tmp_path / "interrupted", data, store_url)


@pytest.mark.parametrize("stop", ["sigterm", "kill-9"])
def test_an_interrupted_cycle_then_a_restart_equals_one_uninterrupted_run(
    stop: str, interrupted_config: Path, uninterrupted: Outcome
) -> None:
    read_before = _interrupt(interrupted_config, stop)
    assert 0 < read_before < TOTAL
    with ServerProcess(interrupted_config) as server:
        server.wait_ready()
        outcome = _read_everything(server)
        assert server.terminate() == EXIT_OK, server.log
    assert outcome == uninterrupted
