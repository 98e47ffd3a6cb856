"""A list of records is stored all or nothing, in one transaction (defect 4)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from smote_monitor import InvalidInputError, Monitor, RunConflictError
from smote_monitor.store.runs import list_runs
from smote_monitor.tracking.spool import Spool
from tests.store_access import read

from ..conftest import UNREACHABLE_URL
from .cli_helpers import run_cli
from .test_records import VALID

K1 = {**VALID, "run_key": "k1"}
K2 = {**VALID, "run_key": "k2"}
K1_CONFLICTING = {**K1, "seed": 99}


def _keys(monitor: Monitor) -> list[str]:
    return sorted(run.run_key for run in read(monitor.store, list_runs))


def test_a_conflict_in_a_batch_stores_none_of_it(store_url: str, tmp_path: Path) -> None:
    monitor = Monitor.from_url(store_url, spool_dir=tmp_path / "spool")
    monitor.record(K1)
    with pytest.raises(RunConflictError, match=r"^record 1 \(fraud/k1\): run_key 'k1'"):
        monitor.record_many([K2, K1_CONFLICTING])
    assert _keys(monitor) == ["k1"]
    outcomes = monitor.record_many([K2, K1])
    assert [recorded.action for recorded in outcomes] == ["created", "duplicate"]
    assert _keys(monitor) == ["k1", "k2"]


def test_an_invalid_record_in_a_batch_is_named_and_nothing_is_stored(sqlite_url: str) -> None:
    monitor = Monitor.from_url(sqlite_url)
    with pytest.raises(InvalidInputError, match=r"^record 1 \(fraud/k1\): n_synthetic: got -2"):
        monitor.record_many([K2, {**K1, "n_synthetic": -2}])
    assert _keys(monitor) == []


def test_cli_record_of_a_list_is_all_or_nothing(store_url: str, tmp_path: Path) -> None:
    url = ["--database-url", store_url]
    assert run_cli(*url, "record", "-", cwd=tmp_path, stdin=json.dumps(K1)).returncode == 0
    done = run_cli(*url, "record", "-", cwd=tmp_path, stdin=json.dumps([K2, K1_CONFLICTING]))
    assert done.returncode == 1, done.stderr
    assert "record 1 (fraud/k1): run_key 'k1' of dataset 'fraud' is already stored" in done.stderr
    assert "nothing was written" in done.stderr
    listed = json.loads(run_cli(*url, "runs", "list", "--json", cwd=tmp_path).stdout)
    assert [r["run_key"] for r in listed] == ["k1"]


def test_a_batch_is_spooled_whole_when_the_store_is_down(tmp_path: Path) -> None:
    monitor = Monitor.from_url(UNREACHABLE_URL, spool_dir=tmp_path / "spool")
    assert [recorded.outcome for recorded in monitor.record_many([K1, K2])] == [None, None]
    assert len(Spool(tmp_path / "spool").pending()) == 2
