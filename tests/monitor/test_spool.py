"""The training job must not die because monitoring is down; nothing is lost or doubled."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from smote_monitor import Monitor, StoreUnavailableError
from smote_monitor.spool import Spool
from smote_monitor.store import Store
from smote_monitor.store.evaluations import REAL, load_profiles, shift_of_run
from smote_monitor.store.runs import list_runs, run_to_record

from ..conftest import UNREACHABLE_URL
from .cli_helpers import run_cli
from .test_records import VALID

TRAINING_SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    from imblearn.over_sampling import SMOTE
    from smote_monitor import Monitor

    store_url, spool_dir = sys.argv[1], sys.argv[2]
    rng = np.random.default_rng(0)
    y = (rng.random(500) < 0.1).astype(int)
    X = rng.normal(size=(500, 3)) + y[:, None]
    monitor = Monitor.from_url(store_url, spool_dir=spool_dir)
    with monitor.track_run(dataset="fraud", run_key="nightly-42") as run:
        X_res, y_res = run.resample(SMOTE(random_state=0), X, y)
        run.log_validation(train={"f1": 0.9}, validation={"f1": 0.88, "recall": 0.82,
                                                          "precision": 0.71})
    print("training finished with", len(y_res), "rows")
""")


def test_training_completes_while_the_store_is_down_and_replay_stores_once(
    store_url: str, tmp_path: Path
) -> None:
    script = tmp_path / "train.py"
    script.write_text(TRAINING_SCRIPT)
    spool_dir = tmp_path / "spool"

    done = subprocess.run(
        [sys.executable, str(script), UNREACHABLE_URL, str(spool_dir)],
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr
    assert "training finished with" in done.stdout
    assert "store unreachable" in done.stderr and "spooled to" in done.stderr
    assert [p.name for p in spool_dir.glob("*.json")] == ["fraud--nightly-42.json"]

    env = {"SMOTE_MONITOR_SPOOL_DIR": str(spool_dir)}
    first = run_cli("--database-url", store_url, "spool", "replay", "--json", cwd=tmp_path, env=env)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["stored"] == 1
    # the same record again (a copy a second machine still held) is not stored twice
    Spool(spool_dir).put(run_to_record(list_runs(Store(store_url))[0]))
    second = run_cli(
        "--database-url", store_url, "spool", "replay", "--json", cwd=tmp_path, env=env
    )
    assert json.loads(second.stdout) == {
        "stored": 0,
        "duplicates": 1,
        "rejected": [],
        "remaining": 0,
    }

    runs = list_runs(Store(store_url))
    assert [(r.run_key, r.status) for r in runs] == [("nightly-42", "succeeded")]
    assert runs[0].gate_passed is True
    assert list(spool_dir.glob("*.json")) == []
    # the training profiles travelled with the spooled run
    assert list(load_profiles(Store(store_url), runs[0].id, REAL)) == ["x0", "x1", "x2"]
    assert shift_of_run(Store(store_url), runs[0].id) is not None


def test_the_next_successful_write_replays_the_spool(store_url: str, tmp_path: Path) -> None:
    spool_dir = tmp_path / "spool"
    down = Monitor.from_url(UNREACHABLE_URL, spool_dir=spool_dir)
    assert down.record({**VALID, "run_key": "while-down"}) is None
    up = Monitor.from_url(store_url, spool_dir=spool_dir)
    up.record({**VALID, "run_key": "after"})
    assert sorted(r.run_key for r in list_runs(up.store)) == ["after", "while-down"]
    assert Spool(spool_dir).pending() == []


def test_strict_mode_raises_instead_of_spooling(tmp_path: Path) -> None:
    monitor = Monitor.from_url(UNREACHABLE_URL, spool_dir=tmp_path / "spool", strict=True)
    with pytest.raises(StoreUnavailableError, match="the store is unreachable"):
        monitor.record(VALID)
    with pytest.raises(StoreUnavailableError):
        monitor.track_run(dataset="fraud").__enter__()
    assert not (tmp_path / "spool").exists()


def test_a_conflicting_spooled_record_is_kept_aside_with_its_reason(
    sqlite_url: str, tmp_path: Path
) -> None:
    spool_dir = tmp_path / "spool"
    Monitor.from_url(sqlite_url, spool_dir=spool_dir).record(VALID)
    Monitor.from_url(UNREACHABLE_URL, spool_dir=spool_dir).record({**VALID, "seed": 99})
    result = Spool(spool_dir).replay(Store(sqlite_url))
    assert result.stored == 0 and len(result.rejected) == 1
    kept = spool_dir / "rejected" / "fraud--2026-11-28.json"
    assert kept.exists()
    assert "different content" in (spool_dir / "rejected" / f"{kept.name}.reason.txt").read_text()
