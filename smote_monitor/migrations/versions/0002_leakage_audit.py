"""Leakage-check verdict on runs, and the per-run provenance audit sample.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("leakage_suspected", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("leakage_evidence", sa.JSON(), nullable=True))
    op.create_table(
        "run_audit_rows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("parent", sa.BigInteger(), nullable=False),
        sa.Column("neighbor", sa.BigInteger(), nullable=False),
        sa.Column("gap", sa.Float(), nullable=False),
        sa.Column("row", sa.BigInteger(), nullable=True),
        sa.Column("distance", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_run_audit_rows_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_run_audit_rows")),
    )
    op.create_index(op.f("ix_run_audit_rows_run_id"), "run_audit_rows", ["run_id"])


def downgrade() -> None:
    op.drop_table("run_audit_rows")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("leakage_evidence")
        batch.drop_column("leakage_suspected")
