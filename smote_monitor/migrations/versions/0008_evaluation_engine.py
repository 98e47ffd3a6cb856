"""Where an evaluation was folded: ``engine`` (``local``, one process; ``dask``, partitions on a
Dask cluster) and ``partitions`` (how many were merged; NULL for ``local``). Evaluations stored
before this revision were all folded in one process, so they become ``local``.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Batch mode, as 0005: SQLite alters a table only by recreating it (adding columns it can
    # do in place, and batch mode then does just that); PostgreSQL runs plain ALTER TABLE.
    with op.batch_alter_table("evaluations") as batch:
        batch.add_column(
            sa.Column("engine", sa.String(length=16), nullable=False, server_default="local")
        )
        batch.add_column(sa.Column("partitions", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("evaluations") as batch:
        batch.drop_column("partitions")
        batch.drop_column("engine")
