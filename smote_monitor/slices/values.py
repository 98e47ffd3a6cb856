"""One text form of ids and slice values, whatever door they came in by.

Files type a column as pandas reads it (an int column with a gap becomes floats: ``36.0``), a
push body as JSON decodes it (``5`` or ``"5"``), a reference profile as training data had it.
:func:`key_text` (a scalar) and :func:`key_texts` (a Series) give all of them one text:

- whole floats are ints: ``5``, ``5.0``, ``np.int64(5)`` and ``"5"`` are all ``"5"``;
- other floats, bools and strings are ``str(value)`` (``"5.5"``, ``"True"``, ``"eu"``);
- a missing value (``None``, NaN, ``pd.NA``) is ``"nan"``.

Slice values are then escaped (:func:`escape_value`) so that no real value takes the fold
bucket's label ``(other)`` (:data:`~smote_monitor.conventions.SLICE_OTHER`): a value written
in brackets, ``(…)``, gets one more pair, so ``(other)`` is reported as ``((other))`` and
``((other))`` as ``(((other)))``. Escaped values all read ``((…))``, unescaped ones never read
``(…)``, so the escaping is injective and never yields ``(other)``. A real category ``other``
is just ``column=other``, a slice of its own.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

MISSING_TEXT = "nan"
"""The text of a missing id or slice value."""


def key_text(value: Any) -> str:
    """The text form of one id or slice value (see the module docstring)."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NA or value is pd.NaT:
        return MISSING_TEXT
    if isinstance(value, float):
        if math.isnan(value):
            return MISSING_TEXT
        if value.is_integer():
            return str(int(value))
    return str(value)


def key_texts(values: Any) -> pd.Series:
    """:func:`key_text` of every value of a Series (or array-like), keeping its index.

    Each distinct value is converted once, so a batch costs one factorisation.
    """
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    if pd.api.types.is_integer_dtype(series.dtype) and not series.hasnans:
        # Ids are mostly ints: their text is ``str(int)``, one vectorised cast (no unique
        # values to factorise, a batch of ids is all distinct).
        return pd.Series(series.to_numpy().astype(str).astype(object), index=series.index)
    if series.dtype == object and pd.api.types.infer_dtype(series, skipna=False) == "string":
        return series  # every value already text: ``str(value)`` is the value
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    texts = np.array([key_text(u) for u in uniques] + [MISSING_TEXT], dtype=object)
    return pd.Series(texts[codes], index=series.index, dtype=object)


def escape_value(text: str) -> str:
    """A slice value's text as its label shows it: bracketed values get one more pair."""
    return f"({text})" if text.startswith("(") and text.endswith(")") else text


def slice_value(value: Any) -> str:
    """The value part of a ``column=value`` slice label of a raw value."""
    return escape_value(key_text(value))
