"""Migrations: a populated store made by an old revision upgrades without losing a row, and the
ORM models agree with what the migrations create."""

from __future__ import annotations

import json
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select, text

from smote_monitor.store import Store, migrate
from smote_monitor.store.database import SchemaOutdatedError
from smote_monitor.store.models import Base, Run
from smote_monitor.store.runs import get_run, list_runs, run_to_record
from tests.store_access import read

N_RUNS = 25


def _populate_revision_0001(store: Store) -> None:
    with store.engine.begin() as connection:
        connection.execute(
            text("INSERT INTO datasets (id, name, created_at) VALUES (1, 'fraud', :t)"),
            {"t": "2026-11-01 00:00:00"},
        )
        for i in range(N_RUNS):
            connection.execute(
                text(
                    "INSERT INTO runs (id, dataset_id, run_key, status, started_at, finished_at, "
                    "variant, params, seed, class_counts_before, class_counts_after, n_synthetic, "
                    "synthetic_ratio, validation_gap, neighbor_distance_quantiles, tags, attempts, "
                    "gate_passed, gate_checks, content_hash) "
                    "VALUES (:id, 1, :key, 'succeeded', :t, :t, 'SMOTE', :params, :seed, :before, "
                    ":after, :n, :ratio, 0.02, "
                    "'{}', '{}', 1, :passed, '[]', 'h')"
                ),
                {
                    "id": i + 1,
                    "key": f"run-{i}",
                    "t": f"2026-11-01 00:{i:02d}:00",
                    "params": json.dumps({"k_neighbors": 5}),
                    "seed": i,
                    "before": json.dumps({"0": 900, "1": 100}),
                    "after": json.dumps({"0": 900, "1": 100 + i}),
                    "n": i,
                    "ratio": i / (1000 + i),
                    "passed": i % 2 == 0,
                },
            )
            connection.execute(
                text(
                    "INSERT INTO run_metrics (run_id, split, metric, value) "
                    "VALUES (:id, 'validation', 'recall', :v)"
                ),
                {"id": i + 1, "v": i / 100},
            )


def test_upgrade_from_0001_keeps_every_row(store_url: str) -> None:
    store = Store(store_url, auto_upgrade=False)
    migrate.upgrade(store.engine, "0001")
    _populate_revision_0001(store)
    assert migrate.current_revision(store.engine) == "0001"

    store.upgrade()

    assert store.status().up_to_date
    runs = sorted(read(store, list_runs, limit=1000), key=lambda run: run.id)
    assert [run.run_key for run in runs] == [f"run-{i}" for i in range(N_RUNS)]
    for i, run in enumerate(runs):
        record = run_to_record(run)
        assert record.seed == i
        assert record.class_counts_after == {"0": 900, "1": 100 + i}
        assert record.metrics == {"validation": {"recall": pytest.approx(i / 100)}}
        assert run.gate_passed is (i % 2 == 0)
        assert run.leakage_suspected is None and run.audit_rows == []
        assert run.profile_error is None and record.profile_error is None


def test_an_outdated_postgres_store_asks_for_db_upgrade(postgres_url: str) -> None:
    store = Store(postgres_url, auto_upgrade=False)
    migrate.upgrade(store.engine, "0001")
    with pytest.raises(
        SchemaOutdatedError,
        match=rf"revision 0001, .* needs {migrate.head_revision()}: run "
        r"`smote-monitor db upgrade`",
    ):
        Store(postgres_url).ensure_schema()


def test_upgrade_from_0003_keeps_runs_and_stores_profile_errors_after(store_url: str) -> None:
    store = Store(store_url, auto_upgrade=False)
    migrate.upgrade(store.engine, "0001")
    _populate_revision_0001(store)
    migrate.upgrade(store.engine, "0003")

    store.upgrade()

    assert migrate.current_revision(store.engine) == migrate.head_revision()
    assert len(read(store, list_runs, limit=1000)) == N_RUNS
    # The populated rows carry explicit ids (PostgreSQL's sequence did not move): update one.
    with store.write() as session:
        run = session.get(Run, 1)
        assert run is not None and run.profile_error is None
        run.profile_error = "features.hour: all NaN"
    stored = read(store, get_run, 1)
    assert stored is not None and run_to_record(stored).profile_error == "features.hour: all NaN"
    migrate.downgrade(store.engine, "0003")
    with store.engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM runs")) == N_RUNS


def test_models_match_the_migrations(store_url: str) -> None:
    store = Store(store_url)
    store.upgrade()
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_downgrade_and_upgrade_again(sqlite_url: str) -> None:
    store = Store(sqlite_url)
    store.upgrade()
    migrate.downgrade(store.engine, "0001")
    assert migrate.current_revision(store.engine) == "0001"
    store.upgrade()
    assert store.status().up_to_date


def test_an_upgrade_that_fails_midway_leaves_the_store_as_it_was(store_url: str) -> None:
    # One transaction from reading the revision to the last migration: that is what lets two
    # processes upgrade one fresh SQLite file at once (Alembic commits after each migration
    # unless told the DDL is transactional, and a racer then re-ran an applied migration).
    from sqlalchemy import event, inspect

    store = Store(store_url, auto_upgrade=False)

    def fail_in_the_last_migration(
        _conn: object, _cursor: object, statement: str, *_: object
    ) -> None:
        if "CREATE TABLE leases" in statement:
            raise RuntimeError("power cut during migration 0007")

    event.listen(store.engine, "before_cursor_execute", fail_in_the_last_migration)
    with pytest.raises(RuntimeError, match="power cut"):
        migrate.upgrade(store.engine)
    event.remove(store.engine, "before_cursor_execute", fail_in_the_last_migration)
    assert migrate.current_revision(store.engine) is None
    assert "runs" not in inspect(store.engine).get_table_names()


def test_upgrade_to_0006_moves_folded_push_counts_to_the_new_fold_bucket(store_url: str) -> None:
    store = Store(store_url, auto_upgrade=False)
    migrate.upgrade(store.engine, "0005")
    old = {
        "columns": ["company", "region"],
        "max_values": 2,
        "counts": {
            "all": {"tp": 6, "fp": 0, "tn": 0, "fn": 0},
            "company=acme": {"tp": 1, "fp": 0, "tn": 0, "fn": 0},
            "company=(x)": {"tp": 2, "fp": 0, "tn": 0, "fn": 0},
            "company=other": {"tp": 3, "fp": 0, "tn": 0, "fn": 0},
            "region=other": {"tp": 4, "fp": 0, "tn": 0, "fn": 0},
            "region=eu": {"tp": 2, "fp": 0, "tn": 0, "fn": 0},
        },
        "values": {"company": ["(x)", "acme"], "region": ["eu", "other"]},
        "folded_rows": {"company": 3, "region": 0},
        "fixed": [],
    }
    _slice_state(store, {"pending": [], "counted": [], "early_labels": []}, old, "taxi", 6, 6)
    migrate.upgrade(store.engine, "0006")
    from smote_monitor.slices import SliceCounts

    counts = SliceCounts.from_dict(_stored_counts(store))
    assert {label: c.tp for label, c in counts.counts.items()} == {
        "all": 6,
        "company=acme": 1,
        "company=((x))": 2,
        "company=(other)": 3,  # folded rows: the new bucket
        "region=other": 4,  # a real region named other: its own slice
        "region=eu": 2,
    }
    assert counts.values["company"] == {"((x))", "acme"}
    migrate.downgrade(store.engine, "0005")
    assert _stored_counts(store) == old


def test_upgrade_to_0007_turns_each_join_blob_into_rows_losing_nothing(store_url: str) -> None:
    """slice_states kept a dataset's whole join as one JSON value; 0007 converts it to rows."""
    from smote_monitor.store import counters
    from smote_monitor.store.models import EarlyLabel, PendingPrediction

    store = Store(store_url, auto_upgrade=False)
    migrate.upgrade(store.engine, "0006")
    join_state = {
        "pending": [[7, 1, [["region", "eu"]], 100.0]],
        "counted": [
            [8.0, [["region", "us"]], "fn", 90.0, 0],
            ["x9", [["region", "eu"]], "tp", 95.0, 1],
        ],
        "early_labels": [[10, 1, 80.0]],
    }
    counts = {
        "columns": ["region"],
        "max_values": 50,
        "counts": {
            "all": {"tp": 1, "fp": 0, "tn": 0, "fn": 1},
            "region=eu": {"tp": 1, "fp": 0, "tn": 0, "fn": 0},
            "region=us": {"tp": 0, "fp": 0, "tn": 0, "fn": 1},
        },
        "values": {"region": ["eu", "us"]},
        "folded_rows": {"region": 0},
        "fixed": [],
    }
    _slice_state(store, join_state, counts, "fraud", 3, 2)
    store.upgrade()
    with store.read() as session:
        rows = {p.key: p for p in session.scalars(select(PendingPrediction))}
        assert {k: (p.outcome, p.slices, p.ts, p.prediction) for k, p in rows.items()} == {
            "7": (None, "region\x1eeu", 100.0, "1"),
            "8": ("fn", "region\x1eus", 90.0, "0"),
            "x9": ("tp", "region\x1eeu", 95.0, "1"),
        }
        early = session.scalars(select(EarlyLabel)).one()
        assert (early.key, early.label, early.ts) == ("10", "1", 80.0)
        values = counters.counters_of(session, 1)
    assert values[(counters.SLICE_PREDICTIONS, "all", "tp")] == 1
    assert values[(counters.SLICE_PREDICTIONS, "region=us", "fn")] == 1
    assert values[(counters.PRODUCTION_ROWS, "", "")] == 3
    assert values[(counters.PRODUCTION_LABELED_ROWS, "", "")] == 2
    from sqlalchemy import inspect

    assert "slice_states" not in inspect(store.engine).get_table_names()


def _slice_state(
    store: Store, join: dict[str, Any], counts: dict[str, Any], name: str, n: int, labeled: int
) -> None:
    with store.engine.begin() as connection:
        connection.execute(
            text("INSERT INTO datasets (id, name, created_at) VALUES (1, :n, :t)"),
            {"n": name, "t": "2026-11-28 00:00:00"},
        )
        connection.execute(
            text(
                "INSERT INTO slice_states (id, dataset_id, join_state, counts, n_predictions, "
                "n_labeled, updated_at) VALUES (1, 1, :j, :c, :n, :l, :t)"
            ),
            {
                "j": json.dumps(join),
                "c": json.dumps(counts),
                "n": n,
                "l": labeled,
                "t": "2026-11-28 00:00:00",
            },
        )


def _stored_counts(store: Store) -> Any:
    with store.engine.connect() as connection:
        stored = connection.scalar(text("SELECT counts FROM slice_states"))
    # SQLite hands the JSON column back as text, PostgreSQL as a decoded object.
    return json.loads(stored) if isinstance(stored, str) else stored


def test_upgrade_to_0008_marks_stored_evaluations_local_and_records_dask_ones(
    store_url: str,
) -> None:
    """0008 records where a window was folded: evaluations stored before were all folded in
    one process; one folded on Dask reads back engine dask with its partitions."""
    from datetime import UTC, datetime

    from smote_monitor.store.evaluations import (
        DASK,
        LOCAL,
        PRODUCTION,
        add_evaluation,
        latest_evaluations,
    )

    store = Store(store_url, auto_upgrade=False)
    migrate.upgrade(store.engine, "0007")
    with store.engine.begin() as connection:
        connection.execute(
            text("INSERT INTO datasets (id, name, created_at) VALUES (1, 'fraud', :t)"),
            {"t": "2026-12-01 00:00:00"},
        )
        connection.execute(
            text(
                'INSERT INTO evaluations (dataset_id, kind, "window", evaluated_at, n_rows, '
                "n_labeled, drift_share, dataset_drift) "
                "VALUES (1, 'production', '1h', :t, 1200, 300, 0.25, :drifted)"
            ),
            {"t": "2026-12-01 01:00:00", "drifted": False},
        )
    store.upgrade()

    assert store.status().up_to_date
    with store.write() as session:
        add_evaluation(
            session,
            dataset="fraud",
            kind=PRODUCTION,
            window="1h",
            evaluated_at=datetime(2026, 12, 1, 2, tzinfo=UTC),
            reference_run_id=None,
            drift=None,
            kinds={},
            n_rows=5000,
            partitions=7,
        )
    with store.read() as session:
        newest, old = latest_evaluations(session, "fraud", window="1h", limit=2)
    assert (old.n_rows, old.n_labeled, old.drift_share) == (1200, 300, 0.25)
    assert (old.engine, old.partitions, old.dataset_drift) == (LOCAL, None, False)
    assert (newest.n_rows, newest.engine, newest.partitions) == (5000, DASK, 7)
    assert newest.to_dict()["engine"] == DASK and newest.to_dict()["partitions"] == 7

    migrate.downgrade(store.engine, "0007")
    with store.engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM evaluations")) == 2
    store.upgrade()
    with store.read() as session:
        engines = [(e.engine, e.partitions) for e in latest_evaluations(session, "fraud", limit=2)]
    assert engines == [(LOCAL, None), (LOCAL, None)]  # a downgrade forgets where they were folded
