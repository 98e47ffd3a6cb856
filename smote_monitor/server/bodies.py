"""Request bodies to Python: strict JSON, run records, and pushed rows (JSON or Arrow IPC).

Pure functions of the bytes and the ``Content-Type``, so they are tested without a server.
Malformed bytes raise :class:`MalformedBodyError` (400); well-formed bodies of the wrong shape
raise :class:`InvalidInputError` (422). Both name the field, the value and what was expected.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from smote_monitor.errors import InvalidInputError
from smote_monitor.server.errors import HTTPProblem, MalformedBodyError

if TYPE_CHECKING:
    import pandas as pd

JSON = "application/json"
ARROW_STREAM = "application/vnd.apache.arrow.stream"

ROWS_EXPECTED = 'a JSON object {"rows": [{column: value, ...}, ...]} with at least one row'


def media_type(content_type: str | None) -> str:
    """``"application/json; charset=utf-8"`` → ``"application/json"`` (none means JSON)."""
    return (content_type or JSON).split(";", 1)[0].strip().lower() or JSON


def parse_json(body: bytes) -> Any:
    """Standard JSON only: NaN and Infinity are refused, as the store would refuse them.

    orjson parses (the push API's rows are its hot path: 5-8x the standard library), and it is
    strict where we need it to be: no NaN/Infinity constants, valid UTF-8 only.
    """
    import orjson

    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        if b"NaN" in body or b"Infinity" in body:
            try:
                json.loads(body, parse_constant=_no_constants)
            except MalformedBodyError:
                raise
            except (json.JSONDecodeError, UnicodeDecodeError):
                pass
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as bad:
            raise MalformedBodyError(
                "body", f"byte {bad.start}: {body[bad.start : bad.start + 1]!r}", "UTF-8 JSON"
            ) from None
        raise MalformedBodyError(
            "body", f"line {exc.lineno} column {exc.colno}: {exc.msg}", "a valid JSON document"
        ) from None
    if b"\\u0000" in body:  # a NUL can only be in JSON text escaped; walk only then
        _check_text(data, "body")
    return data


def _no_constants(token: str) -> Any:
    raise MalformedBodyError("body", token, "standard JSON (no NaN or Infinity)")


def _check_text(value: Any, path: str) -> None:
    """Refuse NUL characters: PostgreSQL cannot store them in text, SQLite truncates at them."""
    if isinstance(value, str):
        if "\x00" in value:
            raise InvalidInputError(path, value, "text without NUL (\\u0000) characters")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key, f"{path} key")
            _check_text(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_text(item, f"{path}.{index}")


def require_json(content_type: str | None) -> None:
    if media_type(content_type) != JSON:
        raise HTTPProblem(
            415,
            f"Content-Type: got {content_type!r}; expected {JSON}",
            field="Content-Type",
            value=content_type,
            expected=JSON,
        )


def rows_frame(body: bytes, content_type: str | None) -> pd.DataFrame:
    """Pushed rows as a DataFrame: ``{"rows": [...]}`` JSON or an Arrow IPC stream."""
    kind = media_type(content_type)
    if kind == ARROW_STREAM:
        return arrow_frame(body)
    if kind == JSON:
        return json_rows_frame(parse_json(body))
    raise HTTPProblem(
        415,
        f"Content-Type: got {content_type!r}; expected {JSON} or {ARROW_STREAM}",
        field="Content-Type",
        value=content_type,
        expected=f"{JSON} or {ARROW_STREAM}",
    )


def json_rows_frame(data: Any) -> pd.DataFrame:
    import pandas as pd

    if not isinstance(data, dict):
        raise InvalidInputError("body", data, ROWS_EXPECTED)
    unknown = sorted(set(data) - {"rows"})
    if unknown:
        raise InvalidInputError(unknown[0], data[unknown[0]], 'no such key (only "rows")')
    rows = data.get("rows")
    if not isinstance(rows, list) or not rows:
        raise InvalidInputError("rows", rows, "a non-empty list of row objects")
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            raise InvalidInputError(f"rows.{index}", row, "an object {column: value, ...}")
    frame = pd.DataFrame.from_records(rows)
    # Only a column pandas could not type holds anything but scalars: check those alone.
    for column in frame.select_dtypes(include="object").columns:
        nested = frame[column].map(lambda v: isinstance(v, dict | list)).to_numpy()
        if nested.any():
            index = int(nested.argmax())
            raise InvalidInputError(
                f"rows.{index}.{column}",
                frame[column].iloc[index],
                "a number, string, boolean or null",
            )
    return frame


def arrow_frame(body: bytes) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.ipc

    try:
        table = pyarrow.ipc.open_stream(pa.py_buffer(body)).read_all()
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OSError) as exc:
        raise MalformedBodyError(
            "body",
            f"{len(body)} bytes ({exc})",
            f"an Apache Arrow IPC stream ({ARROW_STREAM}, e.g. pyarrow.ipc.new_stream)",
        ) from None
    if table.num_rows == 0:
        raise InvalidInputError("rows", "0 rows", "at least one row")
    try:
        return table.to_pandas()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise InvalidInputError(
            "body", str(table.schema), f"columns pandas can read ({exc})"
        ) from None
