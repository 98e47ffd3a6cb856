"""The fold bucket is ``column=(other)``: rewrite the stored push counts that used ``other``.

Until now folded values were counted under ``column=other``, the label a real category
``other`` takes too. In each dataset's stored counts (``slice_states.counts``):

- a real value written in brackets, ``(…)``, is escaped to ``((…))`` (its label and its entry
  in the column's values), so it cannot be read as the new bucket;
- ``column=other`` becomes ``column=(other)`` unless ``other`` is one of the column's own
  values: then it was a real category (with whatever had folded into it) and stays its slice.

The join state keeps raw slice values and is relabelled when counted, so it needs no change.
Stored evaluation results (``slice_results``) are history and keep the labels they were
reported with.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_OLD, _NEW = "other", "(other)"
_states = sa.table(
    "slice_states", sa.column("id", sa.Integer()), sa.column("counts", sa.JSON())
)


def _escape(text: str) -> str:
    # Frozen copy of smote_monitor.slices.values.escape_value at this revision.
    return f"({text})" if text.startswith("(") and text.endswith(")") else text


def _unescape(text: str) -> str:
    return text[1:-1] if text.startswith("((") and text.endswith("))") else text


def _relabel(counts: dict[str, Any], forward: bool) -> dict[str, Any]:
    convert = _escape if forward else _unescape
    old, new = (_OLD, _NEW) if forward else (_NEW, _OLD)
    out = dict(counts)
    labels = dict(counts["counts"])
    values = {column: list(vs) for column, vs in counts["values"].items()}
    for column in counts["columns"]:
        prefix = f"{column}="
        own = set(values.get(column, []))
        renamed = {}
        for label, confusion in labels.items():
            if not label.startswith(prefix):
                renamed[label] = confusion
                continue
            value = label[len(prefix) :]
            if value == old and old not in own:
                renamed[prefix + new] = confusion
            elif value in own:
                renamed[prefix + convert(value)] = confusion
            else:
                renamed[label] = confusion
        labels = renamed
        values[column] = sorted(convert(v) for v in own)
    out["counts"], out["values"] = labels, values
    return out


def _rewrite(forward: bool) -> None:
    connection = op.get_bind()
    for row_id, counts in connection.execute(sa.select(_states.c.id, _states.c.counts)).all():
        connection.execute(
            _states.update()
            .where(_states.c.id == row_id)
            .values(counts=_relabel(counts, forward))
        )


def upgrade() -> None:
    _rewrite(forward=True)


def downgrade() -> None:
    _rewrite(forward=False)
