"""Reading production data: CSV or Parquet files (one path, a glob, or a directory), in batches.

:func:`production_batches` streams a window: each file is read ``batch_rows`` rows at a time
(pyarrow's Parquet batch reader, pandas' chunked CSV parser), so memory stays flat however many
rows the window holds. Every batch carries its file in ``batch.attrs["source"]`` for error
messages.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from smote_monitor.errors import InvalidInputError

if TYPE_CHECKING:
    import pandas as pd

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
#: Rows read at once: bounds the memory of a window's evaluation (~25 columns: tens of MB).
DEFAULT_BATCH_ROWS = 65_536
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
