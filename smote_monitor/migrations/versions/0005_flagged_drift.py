"""A feature flagged broken (method ``missing`` or ``empty``) has no threshold: make it nullable.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("drift_results") as batch:
        batch.alter_column("threshold", existing_type=sa.Float(), nullable=True)


def downgrade() -> None:
    # A flagged feature had no threshold; NaN cannot be stored, so it reads 0 after a downgrade.
    op.execute("UPDATE drift_results SET threshold = 0 WHERE threshold IS NULL")
    with op.batch_alter_table("drift_results") as batch:
        batch.alter_column("threshold", existing_type=sa.Float(), nullable=False)
