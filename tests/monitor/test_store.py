"""The run store on a real SQLite file and a real PostgreSQL: idempotent, atomic writes."""

from __future__ import annotations

import math

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import StatementError

from smote_monitor import RunConflictError
from smote_monitor.records import INT64_MAX, INT64_MIN, RunStatus, parse_run_record, utcnow
from smote_monitor.store import Store
from smote_monitor.store.datasets import dataset_row
from smote_monitor.store.models import Run, RunMetric
from smote_monitor.store.runs import (
    _EMPTY_JSON,
    SaveOutcome,
    find_run,
    get_run,
    list_runs,
    run_to_record,
)
from smote_monitor.tracking.persist import open_run, persist_run
from tests.store_access import read

from .test_records import VALID


def _count(store: Store, model: type) -> int:
    with store.read() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_a_new_store_is_created_at_head(store_url: str) -> None:
    store = Store(store_url)
    store.ensure_schema()
    status = store.status()
    assert status.up_to_date
    assert status.revision == status.head


def test_save_then_read_back_every_field(store_url: str) -> None:
    store = Store(store_url)
    record = parse_run_record(
        {
            **VALID,
            "tags": {"team": "risk"},
            "duration_seconds": 1.5,
            "peak_memory_bytes": 2048,
            "feature_schema": [{"name": "amount", "dtype": "float64"}],
            "feature_schema_hash": "abc",
            "near_duplicate_ratio": 0.01,
            "neighbor_distance_quantiles": {"0.5": 0.3},
            "audit_sample": [{"parent": 3, "neighbor": 7, "gap": 0.25}],
            "leakage": {"suspected": False, "evidence": {"validation_rows_equal_to_synthetic": 0}},
        }
    )
    outcome = persist_run(store, record)
    assert outcome.action == "created"
    run = read(store, get_run, outcome.run_id)
    assert run is not None
    back = run_to_record(run)
    expected = record.model_dump(mode="json", exclude={"finished_at"})
    assert back.model_dump(mode="json", exclude={"finished_at"}) == expected
    assert back.finished_at is not None and back.finished_at.tzinfo is not None


def test_same_key_twice_is_one_run(store_url: str) -> None:
    store = Store(store_url)
    record = parse_run_record(VALID)
    first = persist_run(store, record)
    again = persist_run(store, parse_run_record({**VALID, "duration_seconds": 9.0}))
    assert (first.action, again.action) == ("created", "duplicate")
    assert again.run_id == first.run_id
    assert _count(store, Run) == 1
    assert _count(store, RunMetric) == 4


def test_same_key_with_other_content_is_a_conflict_and_writes_nothing(store_url: str) -> None:
    store = Store(store_url)
    persist_run(store, parse_run_record(VALID))
    with pytest.raises(
        RunConflictError,
        match=r"run_key '2026-11-28' of dataset 'fraud' is "
        r"already stored as run \d+ \(succeeded\)",
    ):
        persist_run(store, parse_run_record({**VALID, "seed": 7}))
    run = read(store, find_run, "fraud", "2026-11-28")
    assert run is not None and run.seed == 0


def test_a_failed_run_can_be_retried_under_its_key(store_url: str) -> None:
    store = Store(store_url)
    failed = parse_run_record(
        {"dataset": "fraud", "run_key": "k", "status": "failed", "error": "MemoryError"}
    )
    first = persist_run(store, failed)
    second = persist_run(store, parse_run_record({**VALID, "run_key": "k"}))
    assert second == type(second)(first.run_id, "updated")
    run = read(store, get_run, first.run_id)
    assert run is not None
    assert (run.status, run.attempts, run.error) == ("succeeded", 2, None)


def test_another_failure_under_the_key_updates_the_error_and_counts_the_attempt(
    store_url: str,
) -> None:
    store = Store(store_url)

    def failure(error: str, hour: int) -> SaveOutcome:
        return persist_run(
            store,
            parse_run_record(
                {
                    "dataset": "fraud",
                    "run_key": "k",
                    "status": "failed",
                    "error": error,
                    "started_at": f"2026-11-28T{hour:02d}:00:00Z",
                }
            ),
        )

    first = failure("OSError: disk full", 0)
    assert failure("RuntimeError: CUDA OOM", 1) == SaveOutcome(first.run_id, "updated")
    # the very same failure delivered again (a spool replay) is not another attempt
    assert failure("RuntimeError: CUDA OOM", 1) == SaveOutcome(first.run_id, "duplicate")
    # the same error in a later attempt is one
    assert failure("RuntimeError: CUDA OOM", 2) == SaveOutcome(first.run_id, "updated")
    run = read(store, get_run, first.run_id)
    assert run is not None
    assert (run.status, run.attempts, run.error) == ("failed", 3, "RuntimeError: CUDA OOM")
    assert _count(store, Run) == 1


def test_open_run_then_finish_fills_the_same_row(store_url: str) -> None:
    store = Store(store_url)
    record = parse_run_record(VALID)
    run_id = open_run(store, "fraud", record.run_key, record.started_at)
    assert open_run(store, "fraud", record.run_key, record.started_at) == run_id
    running = read(store, get_run, run_id)
    assert running is not None and running.status == RunStatus.RUNNING
    assert persist_run(store, record).run_id == run_id
    assert _count(store, Run) == 1


def test_list_runs_newest_first_with_filters(store_url: str) -> None:
    store = Store(store_url)
    for day in ("2026-11-01", "2026-11-02", "2026-11-03"):
        persist_run(
            store, parse_run_record({**VALID, "run_key": day, "started_at": f"{day}T00:00:00Z"})
        )
    persist_run(store, parse_run_record({**VALID, "dataset": "churn", "run_key": "x"}))
    keys = [run.run_key for run in read(store, list_runs, dataset="fraud")]
    assert keys == ["2026-11-03", "2026-11-02", "2026-11-01"]
    assert len(read(store, list_runs, limit=2)) == 2
    assert read(store, list_runs, outcome="error") == []
    assert len(read(store, list_runs, outcome="passed")) == 4


def test_a_write_that_fails_midway_leaves_nothing(store_url: str) -> None:
    store = Store(store_url)
    store.ensure_schema()
    with pytest.raises(RuntimeError), store.write() as session:
        session.add(RunMetric(run_id=1, split="train", metric="f1", value=0.5))
        raise RuntimeError("crash between statements")
    assert _count(store, RunMetric) == 0


def test_the_largest_values_a_record_accepts_fit_the_store(store_url: str) -> None:
    # The record's limits are the columns' limits: what validates, PostgreSQL stores.
    store = Store(store_url)
    record = parse_run_record(
        {
            **VALID,
            "run_key": "k" * 128,
            "seed": INT64_MIN,
            "class_counts_after": {"0": INT64_MAX},
            "n_synthetic": INT64_MAX,
            "peak_memory_bytes": INT64_MAX,
            "code_version": "c" * 200,
            "model_version": "m" * 200,
            "feature_schema": [{"name": "f" * 200, "dtype": "float64"}],
            "feature_schema_hash": "h" * 128,
            "tags": {"team": "t" * 500},
            "metrics": {"validation": {"m" * 64: 0.5}},
            "audit_sample": [{"parent": INT64_MAX, "neighbor": INT64_MAX, "gap": 1, "row": 0}],
        }
    )
    run = read(store, get_run, persist_run(store, record).run_id)
    assert run is not None
    back = run_to_record(run)
    assert (back.seed, back.n_synthetic, back.metrics) == (
        INT64_MIN,
        INT64_MAX,
        {"validation": {"m" * 64: 0.5}},
    )


def test_the_store_never_writes_non_finite_json(store_url: str) -> None:
    # Whatever bypasses record validation still cannot put NaN into a JSON column: SQLite would
    # keep it and every JSON reader would then choke on the row.
    store = Store(store_url)
    store.ensure_schema()
    # (SQLite raises it wrapped, psycopg from its JSON adapter as it is.)
    with (
        pytest.raises((StatementError, ValueError), match="not JSON compliant"),
        store.write() as session,
    ):
        session.add(
            Run(
                dataset=dataset_row(session, "fraud"),
                run_key="nan",
                status="failed",
                started_at=utcnow(),
                **{**_EMPTY_JSON, "params": {"k": [math.nan]}},
            )
        )
    assert _count(store, Run) == 0
