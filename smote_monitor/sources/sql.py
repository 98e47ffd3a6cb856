"""The ``sql`` production source: new rows of a table in any SQLAlchemy database.

Rows are read by the dataset's timestamp column, oldest first, in pages. The watermark is the
newest timestamp read, stored in the transaction of the page that carried it. Each cycle reads
again from ``watermark − overlap`` (:data:`OVERLAP_SECONDS`): rows that tie with the
watermark, and rows committed late with an older timestamp (a long transaction on the serving
side), are picked up; the ones already seen are duplicates by id and change nothing. Labels come
from ``labels_table`` the same way, by the same timestamp column, joined by id.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, MetaData, Table, create_engine, select
from sqlalchemy.exc import NoSuchTableError, SQLAlchemyError

from smote_monitor.errors import InvalidInputError, StoreUnavailableError

log = logging.getLogger(__name__)

PAGE_ROWS = 50_000
OVERLAP_SECONDS = 300.0
"""How far before the watermark each cycle reads again (ties and late commits)."""

_ENGINES: dict[str, Engine] = {}


def _engine(url: str) -> Engine:
    engine = _ENGINES.get(url)
    if engine is None:
        engine = _ENGINES[url] = create_engine(url, pool_pre_ping=True)
    return engine


def _table(engine: Engine, name: str, field: str) -> Table:
    try:
        return Table(name, MetaData(), autoload_with=engine)
    except NoSuchTableError:
        raise InvalidInputError(field, name, "an existing table of the source database") from None


def read_new_rows(store: Any, settings: Any, dataset: str, now: datetime) -> int:
    """Push the source table's new predictions, then its labels table's new labels."""
    from smote_monitor.config import SQLSource
    from smote_monitor.evaluation.push import configured, push_labels, push_predictions
    from smote_monitor.evaluation.reference import current_reference

    config = configured(settings, dataset)
    source = config.production
    assert isinstance(source, SQLSource)
    if config.timestamp_column is None:
        raise InvalidInputError(
            f"datasets.{dataset}.timestamp_column",
            None,
            "the timestamp column new rows of an sql source are read by",
        )
    features = list(current_reference(store, config, dataset).profiles)
    wanted = [config.id_column, config.timestamp_column, config.prediction, *config.slices]
    optional = [*features, config.target]
    rows = _read(
        store,
        dataset,
        source.url,
        source.table,
        f"datasets.{dataset}.production.table",
        [c for c in wanted if c],
        optional,
        config.timestamp_column,
        "sql:predictions",
        lambda frame, mark: push_predictions(
            store, settings, dataset, frame, now=now, watermark=mark
        ),
    )
    if source.labels_table:
        rows += _read(
            store,
            dataset,
            source.url,
            source.labels_table,
            f"datasets.{dataset}.production.labels_table",
            [c for c in (config.id_column, config.target, config.timestamp_column) if c],
            [],
            config.timestamp_column,
            "sql:labels",
            lambda frame, mark: push_labels(
                store, settings, dataset, frame, now=now, watermark=mark
            ),
        )
    return rows


def _read(
    store: Any,
    dataset: str,
    url: str,
    table_name: str,
    field: str,
    required: list[str],
    optional: list[str],
    ts_column: str,
    source: str,
    push: Any,
) -> int:
    import pandas as pd

    from smote_monitor.store.datasets import dataset_row
    from smote_monitor.store.watermarks import load_watermark

    engine = _engine(url)
    try:
        table = _table(engine, table_name, field)
    except SQLAlchemyError as exc:
        raise StoreUnavailableError(f"the sql source {url} is unreachable: {exc}") from exc
    missing = [c for c in required if c not in table.c]
    if missing:
        raise InvalidInputError(f"{field}.{missing[0]}", table_name, "a column of the table")
    columns = [table.c[c] for c in [*required, *[c for c in optional if c in table.c]]]
    with store.write() as session:
        state = load_watermark(session, dataset_row(session, dataset).id, source)
    since = state.get("ts")
    total = 0
    while True:
        query = select(*columns).order_by(table.c[ts_column]).limit(PAGE_ROWS)
        if since is not None:
            start = pd.Timestamp(since) - pd.Timedelta(seconds=OVERLAP_SECONDS)
            query = query.where(table.c[ts_column] >= _bound(start, table.c[ts_column]))
        try:
            with engine.connect() as connection:
                frame = pd.read_sql(query, connection)
        except SQLAlchemyError as exc:
            raise StoreUnavailableError(f"the sql source {url} is unreachable: {exc}") from exc
        if frame.empty:
            return total
        newest = pd.to_datetime(frame[ts_column], utc=True).max()
        push(frame, (source, {"ts": newest.isoformat()}))
        total += len(frame)
        if len(frame) < PAGE_ROWS or (since is not None and newest <= pd.Timestamp(since)):
            return total
        since = newest.isoformat()


def _bound(start: Any, column: Any) -> Any:
    """The lower bound typed like the column: naive datetimes for a naive column."""
    timezone = getattr(column.type, "timezone", False)
    value = start.to_pydatetime()
    return value if timezone else value.replace(tzinfo=None)
