"""Reading production data: CSV or Parquet files (one path, a glob, or a directory), in batches.

:func:`production_batches` streams a window: each file is read ``batch_rows`` rows at a time
(pyarrow's Parquet batch reader, pandas' chunked CSV parser), so memory stays flat however many
rows the window holds. Every batch carries its file in ``batch.attrs["source"]`` for error
messages.
"""

from __future__ import annotations

import glob
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smote_monitor.errors import InvalidInputError

if TYPE_CHECKING:
    import pandas as pd

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
#: Rows read at once: bounds the memory of a window's evaluation (~25 columns: tens of MB).
DEFAULT_BATCH_ROWS = 65_536
log = logging.getLogger(__name__)

SOURCE = "source"
"""Key of ``DataFrame.attrs`` naming the file a batch came from."""


def production_files(path: str | os.PathLike[str]) -> list[Path]:
    """The files a path names: itself, the matches of a glob, or a directory's data files."""
    text = os.fspath(path)
    if any(ch in text for ch in "*?["):
        files = [Path(p) for p in sorted(glob.glob(text))]
    elif Path(text).is_dir():
        files = sorted(p for p in Path(text).iterdir() if p.suffix.lower() in FORMATS)
    else:
        files = [Path(text)]
    if not files:
        raise InvalidInputError(
            "production", text, "a CSV or Parquet file, glob or directory holding at least one"
        )
    for file in files:
        if file.suffix.lower() not in FORMATS:
            raise InvalidInputError("production", str(file), "a .csv or .parquet file")
        if not file.is_file():
            raise InvalidInputError("production", str(file), "an existing, readable file")
    return files


def production_batches(
    path: str | os.PathLike[str],
    *,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    columns: Sequence[str] | None = None,
    field: str = "production",
) -> Iterator[pd.DataFrame]:
    """The rows the path names, file after file, as DataFrames of at most ``batch_rows`` rows.

    Parameters
    ----------
    path : path-like
        A CSV or Parquet file, a glob, or a directory of them.
    batch_rows : int
    columns : sequence of str, optional
        Read only these columns; a file lacking one is an error naming the file and column.
    field : str, default "production"
        What errors call the files (``labels`` for a labels file).

    Raises
    ------
    InvalidInputError
        No such file, an unsupported or unreadable file, a missing column. Files are listed
        when iteration starts; a file is read (and can fail) only when its turn comes.
    """
    if isinstance(batch_rows, bool) or not isinstance(batch_rows, int) or batch_rows < 1:
        raise InvalidInputError("batch_rows", batch_rows, "an int >= 1")
    for file in production_files(path):
        batches = _READERS[FORMATS[file.suffix.lower()]](file, batch_rows)
        while True:
            try:
                batch = next(batches)
            except StopIteration:
                break
            except Exception as exc:  # the parser's own message says what is wrong with the file
                raise InvalidInputError(field, str(file), f"a readable file ({exc})") from exc
            if columns is not None:
                missing = [name for name in columns if name not in batch.columns]
                if missing:
                    raise InvalidInputError(
                        f"{field}.{missing[0]}", str(file), f"a column of every {field} file"
                    )
                batch = batch[list(columns)]
            batch.attrs[SOURCE] = str(file)
            yield batch


def read_production(path: str | os.PathLike[str]) -> pd.DataFrame:
    """All rows the path names, as one frame (for reports, which need the whole window)."""
    import pandas as pd

    frames = list(production_batches(path))
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def _parquet_batches(file: Path, batch_rows: int) -> Iterator[pd.DataFrame]:
    import pyarrow.parquet as pq

    with pq.ParquetFile(file) as parquet:
        empty = True
        for record_batch in parquet.iter_batches(batch_size=batch_rows):
            empty = False
            yield record_batch.to_pandas()
        if empty:  # no rows: its columns still count
            yield parquet.schema_arrow.empty_table().to_pandas()


def _csv_batches(file: Path, batch_rows: int) -> Iterator[pd.DataFrame]:
    import pandas as pd

    with pd.read_csv(file, chunksize=batch_rows) as chunks:
        empty = True
        for chunk in chunks:
            empty = False
            yield chunk
    if empty:  # a header-only file: its columns still count
        yield pd.read_csv(file)


_READERS: dict[str, Callable[[Path, int], Iterator[pd.DataFrame]]] = {
    "csv": _csv_batches,
    "parquet": _parquet_batches,
}


def read_new_files(store: Any, settings: Any, dataset: str, now: datetime) -> int:
    """Push every file of the dataset's ``files`` source not read yet; return the rows read.

    Each file is read once: its size and modification time are kept in the source's
    watermark, written in the transaction of the file's last batch. A file that changes after
    it was read is noticed (logged) and read again — predictions already seen are duplicates by
    id, so nothing is counted twice. A file that cannot be read (corrupt, a schema that does
    not fit) is quarantined — logged, counted, listed by the status route — and the other files
    go on; it is tried again only once it changes.
    """
    from smote_monitor.config import FilesSource
    from smote_monitor.evaluation.push import configured, push_predictions
    from smote_monitor.evaluation.reference import current_reference
    from smote_monitor.store import quarantine
    from smote_monitor.store.datasets import dataset_row
    from smote_monitor.store.watermarks import load_watermark

    config = configured(settings, dataset)
    source = config.production
    assert isinstance(source, FilesSource)
    pattern = source.path
    reference = current_reference(store, config, dataset)
    features = list(reference.profiles)
    with store.write() as session:
        dataset_id = dataset_row(session, dataset).id
        seen = load_watermark(session, dataset_id, WATERMARK).get("files", {})
        held = quarantine.quarantined(session, dataset_id)
    rows = 0
    for file in _matching(pattern):
        stat = file.stat()
        signature = {"size": stat.st_size, "mtime": stat.st_mtime}
        key = str(file)
        if {k: seen.get(key, {}).get(k) for k in signature} == signature:
            continue
        if held.get(key) == (stat.st_size, stat.st_mtime):
            continue
        if key in seen:
            log.warning(
                "%s changed after it was read (size %s -> %s); reading it again, predictions "
                "already seen are ignored by id",
                key,
                seen[key].get("size"),
                stat.st_size,
            )
        try:
            batches = list(_file_batches(file, config, features))
            for index, batch in enumerate(batches):
                done = index == len(batches) - 1
                state = {"files": {**seen, key: {**signature, "read_at": now.isoformat()}}}
                push_predictions(
                    store,
                    settings,
                    dataset,
                    batch,
                    now=now,
                    watermark=(WATERMARK, state) if done else None,
                )
                rows += len(batch)
            seen[key] = signature
        except InvalidInputError as exc:
            quarantine.quarantine_file(store, dataset, key, str(exc), stat.st_size, stat.st_mtime)
            log.error("quarantined %s (%s); the other files go on", key, exc)
    return rows


WATERMARK = "files"


def _matching(pattern: str) -> list[Path]:
    """The files a glob, directory or path names now (none yet is fine for a drop folder)."""
    text = os.fspath(pattern)
    if any(ch in text for ch in "*?["):
        files = [Path(p) for p in glob.glob(text, recursive=True)]
    elif Path(text).is_dir():
        files = [p for p in Path(text).rglob("*")]
    else:
        files = [Path(text)] if Path(text).exists() else []
    found = [f for f in files if f.is_file() and f.suffix.lower() in FORMATS]
    return sorted(found, key=lambda f: (f.stat().st_mtime, str(f)))


def _file_batches(file: Path, config: Any, features: list[str]) -> Iterator[pd.DataFrame]:
    """The file's batches restricted to the dataset's columns.

    The id, prediction, timestamp and slice columns are required; a feature column may be
    missing (drift reports the feature as broken rather than the file being refused).
    """
    required = [config.id_column, config.prediction, *config.slices]
    if config.timestamp_column:
        required.append(config.timestamp_column)
    known = {*required, *features, config.target}
    for batch in production_batches(file):
        missing = [c for c in required if c not in batch.columns]
        if missing:
            raise InvalidInputError(
                f"production.{missing[0]}",
                str(file),
                "a column of every production file (the id, prediction, timestamp and slice "
                "columns)",
            )
        yield batch[[c for c in batch.columns if c in known]]
