"""The late-label join's tables: predictions within the lookback and labels that came early.

Every function works on the caller's ``Session`` and touches only the rows it is given (a push
costs O(batch), whatever the backlog); expiry deletes in bulk by the indexed timestamp.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from smote_monitor.store.database import rows_affected
from smote_monitor.store.models import (
    PAIR_SEPARATOR,
    SLICE_SEPARATOR,
    EarlyLabel,
    PendingPrediction,
)

IN_CHUNK = 500
"""Keys per ``IN (...)`` query: well under every backend's bound-parameter limit."""


def _chunks(items: Sequence[Any], size: int = IN_CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _insert(session: Session, model: Any) -> Any:
    """A dialect INSERT on the model's table (Core, not the ORM's bulk path: 3x faster)."""
    dialect = session.get_bind().dialect.name
    return (pg_insert if dialect == "postgresql" else sqlite_insert)(cast(Table, model.__table__))


@dataclass(frozen=True)
class StoredPrediction:
    key: str
    ts: float
    prediction: str
    slices: str
    outcome: str | None


def _driver(session: Session) -> Any:
    """The DBAPI connection under the session's transaction (the hot path skips the ORM)."""
    return session.connection().connection.driver_connection


def load_batch_keys(session: Session, keys: Sequence[str]) -> None:
    """Put a batch's keys in the transaction's temporary table ``batch_keys``, so every lookup
    of the batch is one join instead of thousands of ``IN`` lists."""
    cursor = _driver(session).cursor()
    unique = list(dict.fromkeys(keys))
    if session.get_bind().dialect.name == "postgresql":
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS batch_keys (key varchar(200) PRIMARY KEY) "
            "ON COMMIT DELETE ROWS"
        )
        cursor.execute("TRUNCATE batch_keys")
        with cursor.copy("COPY batch_keys (key) FROM STDIN") as copy:
            for key in unique:
                copy.write_row((key,))
    else:
        cursor.execute("CREATE TEMP TABLE IF NOT EXISTS batch_keys (key TEXT PRIMARY KEY)")
        cursor.execute("DELETE FROM batch_keys")
        cursor.executemany("INSERT INTO batch_keys (key) VALUES (?)", [(k,) for k in unique])
    cursor.close()


def _joined(session: Session, sql: str, dataset_id: int) -> list[Any]:
    """Run a lookup of the loaded batch. The queries say ``batch_keys CROSS JOIN …``: SQLite
    keeps that order (the batch drives, probing the unique index), where its planner, with no
    statistics on the temporary table, could scan every waiting prediction instead — a push
    then cost O(backlog). PostgreSQL plans the join itself either way."""
    return list(session.execute(text(sql), {"dataset_id": dataset_id}))


def stored_predictions(session: Session, dataset_id: int) -> dict[str, StoredPrediction]:
    """The dataset's predictions of the loaded batch's keys."""
    rows = _joined(
        session,
        "SELECT p.key, p.ts, p.prediction, p.slices, p.outcome FROM batch_keys b "
        "CROSS JOIN pending_predictions p WHERE p.dataset_id = :dataset_id AND p.key = b.key",
        dataset_id,
    )
    return {row[0]: StoredPrediction(*row) for row in rows}


def early_labels(session: Session, dataset_id: int) -> dict[str, tuple[str, float]]:
    """Labels waiting for the loaded batch's keys: key → (label, ts)."""
    rows = _joined(
        session,
        "SELECT e.key, e.label, e.ts FROM batch_keys b CROSS JOIN early_labels e "
        "WHERE e.dataset_id = :dataset_id AND e.key = b.key",
        dataset_id,
    )
    return {row[0]: (row[1], row[2]) for row in rows}


def has_early_labels(session: Session, dataset_id: int) -> bool:
    """Whether any label of the dataset waits for its prediction (one index probe)."""
    found = session.execute(
        text("SELECT 1 FROM early_labels WHERE dataset_id = :dataset_id LIMIT 1"),
        {"dataset_id": dataset_id},
    ).first()
    return found is not None


INSERTED_KEYS_SQLITE = "SELECT key FROM pending_predictions WHERE id > ? AND +dataset_id = ?"
"""The keys one ``executemany`` inserted, read by row id. The unary ``+`` keeps SQLite's planner
off the (dataset_id, key) index: by that equality it would scan every pending row of the
dataset (2 s per push at 10M pending, in any push that repeats an id) instead of the few rows
past ``id``."""


def insert_new_predictions(
    session: Session, dataset_id: int, rows: list[tuple[str, float, str, str]]
) -> set[str]:
    """Insert the (key, ts, prediction, slices) rows whose key is new for the dataset (keys
    distinct within ``rows``); return the keys inserted. A key already stored (a prediction
    pushed twice) keeps its first row.

    Duplicates are found by the unique index itself, set-wise, with no lookup before: on
    SQLite (one writer at a time) one ``executemany`` of ``ON CONFLICT DO NOTHING``; when it
    inserted fewer rows than given, the inserted ones are those past the largest row id seen
    before it. On PostgreSQL the rows are COPied into a temporary table and inserted from it
    with ``ON CONFLICT DO NOTHING RETURNING``, which also settles two replicas pushing one id
    at once.
    """
    if not rows:
        return set()
    if session.get_bind().dialect.name == "postgresql":
        return _insert_postgresql(session, dataset_id, rows)
    cursor = _driver(session).cursor()
    before = cursor.execute("SELECT max(id) FROM pending_predictions").fetchone()[0] or 0
    cursor.executemany(
        "INSERT INTO pending_predictions (dataset_id, key, ts, prediction, slices) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (dataset_id, key) DO NOTHING",
        [(dataset_id, *row) for row in rows],
    )
    if cursor.rowcount == len(rows):
        inserted = {row[0] for row in rows}
    else:
        # Row ids grow past the largest one (the table has no AUTOINCREMENT gap rule to fear
        # below 2**63), and this transaction is the only writer.
        cursor.execute(INSERTED_KEYS_SQLITE, (before, dataset_id))
        inserted = {row[0] for row in cursor.fetchall()}
    cursor.close()
    return inserted


def _insert_postgresql(
    session: Session, dataset_id: int, rows: list[tuple[str, float, str, str]]
) -> set[str]:
    cursor = _driver(session).cursor()
    cursor.execute(
        "CREATE TEMP TABLE IF NOT EXISTS pending_in "
        "(key varchar(200), ts double precision, prediction varchar(200), slices text) "
        "ON COMMIT DELETE ROWS"
    )
    cursor.execute("TRUNCATE pending_in")
    with cursor.copy("COPY pending_in (key, ts, prediction, slices) FROM STDIN") as copy:
        copy.write(_copy_text(rows))
    cursor.execute(
        "INSERT INTO pending_predictions (dataset_id, key, ts, prediction, slices) "
        "SELECT %s, key, ts, prediction, slices FROM pending_in "
        "ON CONFLICT (dataset_id, key) DO NOTHING RETURNING key",
        (dataset_id,),
    )
    inserted = {row[0] for row in cursor.fetchall()}
    cursor.close()
    return inserted


def join_slices(columns: Sequence[str], values: Sequence[str]) -> str:
    """A prediction's slice values as stored: ``column<RS>value`` pairs joined by
    :data:`SLICE_SEPARATOR`, so a later change of the configured slices still reads them."""
    return SLICE_SEPARATOR.join(
        f"{c}{PAIR_SEPARATOR}{v}" for c, v in zip(columns, values, strict=True)
    )


def _copy_text(rows: list[tuple[str, float, str, str]]) -> bytes:
    """The (key, ts, prediction, slices) rows in COPY's text format, built column-wise by
    Arrow (``write_row`` formats row by row in Python): texts escaped (backslash, tab, newline,
    carriage return), floats in their round-trip ``repr``."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    keys, stamps, predictions, slices = zip(*rows, strict=True)

    def escaped(values: Any) -> Any:
        array = pa.array(values, type=pa.string())
        for raw, escape in (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r")):
            array = pc.replace_substring(array, raw, escape)
        return array

    ts = pa.array(np.asarray(stamps, dtype=np.float64).astype(str).astype(object), pa.string())
    lines = pc.binary_join_element_wise(
        escaped(keys), ts, escaped(predictions), escaped(slices), "\t"
    )
    return ("\n".join(lines.to_pylist()) + "\n").encode("utf-8")


def join_slice_columns(columns: Sequence[str], values: Sequence[Sequence[str]]) -> list[str]:
    """:func:`join_slices` of every row of a batch, column by column (``values[i]`` holds
    column ``columns[i]``'s value of every row), in numpy's element loop."""
    import numpy as np

    if not columns:
        return []
    joined: Any = None
    for column, texts in zip(columns, values, strict=True):
        part = f"{column}{PAIR_SEPARATOR}" + np.asarray(texts, dtype=object)
        joined = part if joined is None else joined + SLICE_SEPARATOR + part
    return cast(list[str], joined.tolist())


def split_slices(text: str) -> dict[str, str]:
    """A stored prediction's ``{column: value}`` (inverse of :func:`join_slices`)."""
    pairs = (item.partition(PAIR_SEPARATOR) for item in text.split(SLICE_SEPARATOR) if item)
    return {column: value for column, _, value in pairs}


def set_outcomes(session: Session, dataset_id: int, changes: list[dict[str, Any]]) -> None:
    """``changes``: ``{"key", "outcome", "label"}`` per labelled prediction."""
    if not changes:
        return
    table = cast(Table, PendingPrediction.__table__)
    statement = (
        update(table)
        .where(table.c.dataset_id == dataset_id, table.c.key == bindparam("b_key"))
        .values(outcome=bindparam("b_outcome"), label=bindparam("b_label"))
    )
    session.execute(
        statement,
        [{"b_key": c["key"], "b_outcome": c["outcome"], "b_label": c["label"]} for c in changes],
    )


def save_early_labels(session: Session, rows: list[dict[str, Any]]) -> None:
    """Keep labels whose prediction has not arrived; a newer label for a key replaces it."""
    for chunk in _chunks(rows, 5_000):
        statement = _insert(session, EarlyLabel)
        statement = statement.on_conflict_do_update(
            index_elements=["dataset_id", "key"],
            set_={"label": statement.excluded.label, "ts": statement.excluded.ts},
        )
        session.execute(statement, list(chunk))


def delete_early_labels(session: Session, dataset_id: int, keys: Sequence[str]) -> None:
    for chunk in _chunks(keys):
        session.execute(
            delete(EarlyLabel).where(EarlyLabel.dataset_id == dataset_id, EarlyLabel.key.in_(chunk))
        )


def expire(session: Session, dataset_id: int, horizon: float) -> tuple[int, int]:
    """Drop predictions and early labels stamped before ``horizon``; (predictions, labels)."""
    predictions = session.execute(
        delete(PendingPrediction).where(
            PendingPrediction.dataset_id == dataset_id, PendingPrediction.ts < horizon
        )
    )
    labels = session.execute(
        delete(EarlyLabel).where(EarlyLabel.dataset_id == dataset_id, EarlyLabel.ts < horizon)
    )
    return rows_affected(predictions), rows_affected(labels)


def pending_counts(session: Session, dataset_id: int) -> dict[str, int]:
    """Predictions waiting for their label, labelled ones still within the lookback, and
    labels waiting for their prediction."""
    waiting, labelled = session.execute(
        select(
            func.count().filter(PendingPrediction.outcome.is_(None)),
            func.count().filter(PendingPrediction.outcome.is_not(None)),
        ).where(PendingPrediction.dataset_id == dataset_id)
    ).one()
    early = session.scalar(
        select(func.count()).select_from(EarlyLabel).where(EarlyLabel.dataset_id == dataset_id)
    )
    return {
        "predictions_waiting_for_label": int(waiting or 0),
        "labelled_within_lookback": int(labelled or 0),
        "labels_waiting_for_prediction": int(early or 0),
    }
