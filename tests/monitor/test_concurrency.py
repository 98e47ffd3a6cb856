"""Two processes recording the same (dataset, run_key) at the same moment store one run."""

from __future__ import annotations

import multiprocessing as mp
import traceback
from typing import Any

from smote_monitor import Monitor
from smote_monitor.records import parse_run_record
from smote_monitor.store import Store
from smote_monitor.store.runs import list_runs
from tests.store_access import read

from .test_records import VALID

KEYS = [f"race-{i}" for i in range(6)]


def _racer(url: str, barrier: Any, results: Any, spool_dir: str) -> None:
    try:
        monitor = Monitor.from_url(url, spool_dir=spool_dir, strict=True)
        outcomes = []
        for key in KEYS:
            barrier.wait(timeout=240)
            outcome = monitor.record({**VALID, "run_key": key})
            assert outcome is not None
            outcomes.append((outcome.run_id, outcome.action))
        results.put(outcomes)
    except BaseException:  # the parent must see why, not wait for a result that never comes
        barrier.abort()
        results.put(traceback.format_exc())
        raise


def test_two_processes_racing_on_one_key_record_one_run(store_url: str, tmp_path: Any) -> None:
    # The store is not created beforehand: the racers also race on creating the schema.
    context = mp.get_context("spawn")
    barrier = context.Barrier(2)
    results = context.Queue()
    racers = [
        context.Process(target=_racer, args=(store_url, barrier, results, str(tmp_path / f"s{i}")))
        for i in range(2)
    ]
    for racer in racers:
        racer.start()
    outcomes = [results.get(timeout=300) for _ in racers]
    for outcome in outcomes:
        assert not isinstance(outcome, str), outcome
    for racer in racers:
        racer.join(timeout=60)
        assert racer.exitcode == 0

    runs = read(Store(store_url), list_runs, limit=100)
    assert sorted(run.run_key for run in runs) == sorted(KEYS)
    for a, b in zip(*outcomes, strict=True):
        assert a[0] == b[0]  # both processes were told the same run id
        assert sorted((a[1], b[1])) == ["created", "duplicate"]
    for run in runs:
        assert (
            run.content_hash == parse_run_record({**VALID, "run_key": run.run_key}).content_hash()
        )
