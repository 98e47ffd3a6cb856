"""Reading production data: CSV or Parquet files (one path, a glob, or a directory)."""

from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import TYPE_CHECKING

from smote_monitor.errors import InvalidInputError

if TYPE_CHECKING:
    import pandas as pd

READERS = {".csv": "read_csv", ".parquet": "read_parquet", ".pq": "read_parquet"}


def production_files(path: str | os.PathLike[str]) -> list[Path]:
    """The files a path names: itself, the matches of a glob, or a directory's data files."""
    text = os.fspath(path)
    if any(ch in text for ch in "*?["):
        files = [Path(p) for p in sorted(glob.glob(text))]
    elif Path(text).is_dir():
        files = sorted(p for p in Path(text).iterdir() if p.suffix.lower() in READERS)
    else:
        files = [Path(text)]
    if not files:
        raise InvalidInputError(
            "production", text, "a CSV or Parquet file, glob or directory holding at least one"
        )
    for file in files:
        if file.suffix.lower() not in READERS:
            raise InvalidInputError("production", str(file), "a .csv or .parquet file")
        if not file.is_file():
            raise InvalidInputError("production", str(file), "an existing, readable file")
    return files


def read_production(path: str | os.PathLike[str]) -> pd.DataFrame:
    """All rows the path names, as one frame."""
    import pandas as pd

    frames = []
    for file in production_files(path):
        reader = getattr(pd, READERS[file.suffix.lower()])
        try:
            frames.append(reader(file))
        except Exception as exc:  # the parser's own message says what is wrong with the file
            raise InvalidInputError("production", str(file), f"a readable file ({exc})") from exc
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
