"""The sidecar's state: the late-label join as tables, time buckets, counters, watermarks,
quarantined files, job statistics and the scheduler lease. ``slice_states`` (one JSON blob per
dataset, rewritten whole by every push) is converted row for row and dropped.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

import json
import math
from typing import Any

import sqlalchemy as sa
from alembic import op

from smote_monitor.store.models import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _fk(table: str, column: str, target: str, ondelete: str | None = None) -> Any:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete=ondelete
    )


def upgrade() -> None:
    op.create_table(
        "pending_predictions",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.Column("prediction", sa.String(length=200), nullable=False),
        sa.Column("slices", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(length=2), nullable=True),
        sa.Column("label", sa.String(length=200), nullable=True),
        _fk("pending_predictions", "dataset_id", "datasets"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_predictions")),
        sa.UniqueConstraint("dataset_id", "key", name="uq_pending_predictions_key"),
    )
    op.create_index("ix_pending_predictions_dataset_ts", "pending_predictions", ["dataset_id", "ts"])
    op.create_table(
        "early_labels",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        _fk("early_labels", "dataset_id", "datasets"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_early_labels")),
        sa.UniqueConstraint("dataset_id", "key", name="uq_early_labels_key"),
    )
    op.create_index("ix_early_labels_dataset_ts", "early_labels", ["dataset_id", "ts"])
    op.create_table(
        "staged_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("n_rows", sa.BigInteger(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        _fk("staged_batches", "dataset_id", "datasets"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staged_batches")),
    )
    op.create_index(op.f("ix_staged_batches_dataset_id"), "staged_batches", ["dataset_id"])
    op.create_table(
        "window_buckets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("start", sa.Float(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("reference_run_id", sa.Integer(), nullable=True),
        sa.Column("n_rows", sa.BigInteger(), nullable=False),
        sa.Column("n_labeled", sa.BigInteger(), nullable=False),
        sa.Column("profiles", sa.JSON(), nullable=True),
        sa.Column("slice_counts", sa.JSON(), nullable=True),
        _fk("window_buckets", "dataset_id", "datasets"),
        _fk("window_buckets", "reference_run_id", "runs", ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_window_buckets")),
        sa.UniqueConstraint("dataset_id", "start", name="uq_window_buckets_start"),
    )
    op.create_index(op.f("ix_window_buckets_dataset_id"), "window_buckets", ["dataset_id"])
    op.create_table(
        "counters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=48), nullable=False),
        sa.Column("slice", sa.String(length=300), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        _fk("counters", "dataset_id", "datasets"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_counters")),
        sa.UniqueConstraint("dataset_id", "name", "slice", "outcome", name="uq_counters_key"),
    )
    op.create_index(op.f("ix_counters_dataset_id"), "counters", ["dataset_id"])
    op.create_table(
        "watermarks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        _fk("watermarks", "dataset_id", "datasets"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watermarks")),
        sa.UniqueConstraint("dataset_id", "source", name="uq_watermarks_source"),
    )
    op.create_table(
        "quarantined_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=1000), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("mtime", sa.Float(), nullable=False),
        sa.Column("quarantined_at", UTCDateTime(), nullable=False),
        _fk("quarantined_files", "dataset_id", "datasets"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantined_files")),
        sa.UniqueConstraint("dataset_id", "path", name="uq_quarantined_files_path"),
    )
    op.create_table(
        "job_stats",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job", sa.String(length=128), nullable=False),
        sa.Column("runs", sa.BigInteger(), nullable=False),
        sa.Column("failures", sa.BigInteger(), nullable=False),
        sa.Column("last_success_at", UTCDateTime(), nullable=True),
        sa.Column("last_failure_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("duration_sum", sa.Float(), nullable=False),
        sa.Column("duration_buckets", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_stats")),
        sa.UniqueConstraint("job", name=op.f("uq_job_stats_job")),
    )
    op.create_table(
        "leases",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("renewed_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_leases")),
    )
    _convert_slice_states()
    op.drop_table("slice_states")


def _key(value: Any) -> str:
    """Ids as the join keys them (``5``, ``"5"`` and ``5.0`` are one id), frozen here."""
    if isinstance(value, float) and math.isfinite(value) and value == int(value):
        return str(int(value))
    return str(value)


def _convert_slice_states() -> None:
    """Each dataset's blob becomes rows: pending and counted predictions, early labels, and
    the cumulative counts as counters — nothing is lost."""
    bind = op.get_bind()
    meta = sa.MetaData()
    states = sa.Table("slice_states", meta, autoload_with=bind)
    pending = sa.Table("pending_predictions", meta, autoload_with=bind)
    early = sa.Table("early_labels", meta, autoload_with=bind)
    counters = sa.Table("counters", meta, autoload_with=bind)
    for row in bind.execute(sa.select(states)).mappings():
        dataset_id = row["dataset_id"]
        join = _json(row["join_state"])
        counts = _json(row["counts"])
        predictions = {}
        for p in join.get("pending", []):
            predictions[_key(p[0])] = {
                "ts": float(p[3]),
                "prediction": str(p[1]),
                "slices": "\x1f".join(f"{c}\x1e{_key(v)}" for c, v in p[2]),
                "outcome": None,
            }
        for c in join.get("counted", []):
            predictions[_key(c[0])] = {
                "ts": float(c[3]),
                "prediction": str(c[4]),
                "slices": "\x1f".join(f"{col}\x1e{_key(v)}" for col, v in c[1]),
                "outcome": c[2],
            }
        if predictions:
            bind.execute(
                pending.insert(),
                [{"dataset_id": dataset_id, "key": k, "label": None, **v} for k, v in predictions.items()],
            )
        labels = {_key(lb[0]): lb for lb in join.get("early_labels", [])}
        if labels:
            bind.execute(
                early.insert(),
                [
                    {"dataset_id": dataset_id, "key": k, "label": str(lb[1]), "ts": float(lb[2])}
                    for k, lb in labels.items()
                ],
            )
        rows = [
            {"dataset_id": dataset_id, "name": "slice_predictions", "slice": label,
             "outcome": outcome, "value": max(int(n), 0)}
            for label, confusion in counts.get("counts", {}).items()
            for outcome, n in confusion.items()
        ]
        rows += [
            {"dataset_id": dataset_id, "name": name, "slice": "", "outcome": "",
             "value": int(row[column] or 0)}
            for name, column in (("production_rows", "n_predictions"),
                                 ("production_labeled_rows", "n_labeled"))
        ]
        bind.execute(counters.insert(), rows)


def _json(value: Any) -> dict[str, Any]:
    return json.loads(value) if isinstance(value, str) else (value or {})


def downgrade() -> None:
    op.create_table(
        "slice_states",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("join_state", sa.JSON(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("n_predictions", sa.BigInteger(), nullable=False),
        sa.Column("n_labeled", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["datasets.id"], name=op.f("fk_slice_states_dataset_id_datasets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slice_states")),
        sa.UniqueConstraint("dataset_id", name=op.f("uq_slice_states_dataset_id")),
    )
    # Lossy by nature: the join restarts empty on the older schema.
    for table in ("leases", "job_stats", "quarantined_files", "watermarks", "counters",
                  "window_buckets", "staged_batches", "early_labels", "pending_predictions"):
        op.drop_table(table)
