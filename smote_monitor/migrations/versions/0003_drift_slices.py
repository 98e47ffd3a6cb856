"""Reference profiles of runs, evaluations with drift and slice results, and slice join state.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

from smote_monitor.store.models import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reference_profiles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("split", sa.String(length=16), nullable=False),
        sa.Column("feature", sa.String(length=200), nullable=False),
        sa.Column("column_type", sa.String(length=16), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.Column("n_missing", sa.BigInteger(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_reference_profiles_run_id_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reference_profiles")),
        sa.UniqueConstraint("run_id", "split", "feature", name="uq_reference_profiles_key"),
    )
    op.create_index(op.f("ix_reference_profiles_run_id"), "reference_profiles", ["run_id"])
    op.create_table(
        "evaluations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("reference_run_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("window", sa.String(length=64), nullable=False),
        sa.Column("evaluated_at", UTCDateTime(), nullable=False),
        sa.Column("window_start", UTCDateTime(), nullable=True),
        sa.Column("window_end", UTCDateTime(), nullable=True),
        sa.Column("n_rows", sa.BigInteger(), nullable=False),
        sa.Column("n_labeled", sa.BigInteger(), nullable=False),
        sa.Column("drift_share", sa.Float(), nullable=True),
        sa.Column("dataset_drift", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["datasets.id"], name=op.f("fk_evaluations_dataset_id_datasets")
        ),
        sa.ForeignKeyConstraint(
            ["reference_run_id"], ["runs.id"], name=op.f("fk_evaluations_reference_run_id_runs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evaluations")),
    )
    op.create_index(op.f("ix_evaluations_dataset_id"), "evaluations", ["dataset_id"])
    op.create_index(op.f("ix_evaluations_evaluated_at"), "evaluations", ["evaluated_at"])
    op.create_table(
        "drift_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("evaluation_id", sa.Integer(), nullable=False),
        sa.Column("feature", sa.String(length=200), nullable=False),
        sa.Column("column_type", sa.String(length=16), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("drifted", sa.Boolean(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("n_reference", sa.BigInteger(), nullable=False),
        sa.Column("n_current", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["evaluation_id"], ["evaluations.id"],
            name=op.f("fk_drift_results_evaluation_id_evaluations"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drift_results")),
    )
    op.create_index(op.f("ix_drift_results_evaluation_id"), "drift_results", ["evaluation_id"])
    rate_columns = [
        sa.Column(f"{name}{suffix}", sa.Float(), nullable=True)
        for name in ("recall", "precision", "f1", "false_positive_rate")
        for suffix in ("", "_lower", "_upper")
    ]
    op.create_table(
        "slice_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("evaluation_id", sa.Integer(), nullable=False),
        sa.Column("slice", sa.String(length=300), nullable=False),
        sa.Column("tp", sa.BigInteger(), nullable=False),
        sa.Column("fp", sa.BigInteger(), nullable=False),
        sa.Column("tn", sa.BigInteger(), nullable=False),
        sa.Column("fn", sa.BigInteger(), nullable=False),
        sa.Column("support", sa.BigInteger(), nullable=False),
        sa.Column("sufficient", sa.Boolean(), nullable=False),
        *rate_columns,
        sa.ForeignKeyConstraint(
            ["evaluation_id"], ["evaluations.id"],
            name=op.f("fk_slice_results_evaluation_id_evaluations"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slice_results")),
    )
    op.create_index(op.f("ix_slice_results_evaluation_id"), "slice_results", ["evaluation_id"])
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


def downgrade() -> None:
    op.drop_table("slice_states")
    op.drop_table("slice_results")
    op.drop_table("drift_results")
    op.drop_table("evaluations")
    op.drop_table("reference_profiles")
