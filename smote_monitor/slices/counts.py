"""Confusion counts per slice, as a fixed-size mergeable accumulator.

Slices are labelled ``all`` or ``column=value``. Each slice column keeps at most
``max_values`` values of its own; the rest fold into ``column=(other)`` and the rows folded are
counted, so state stays fixed-size however many distinct values production sends.

``value`` is the value's one text form (:mod:`smote_monitor.slices.values`: ``36.0`` read
beside a NaN is ``36``), escaped so that no real value takes the fold bucket's ``(other)``: a
real ``(other)`` is labelled ``column=((other))``, a real ``other`` is ``column=other``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from smote_monitor.conventions import SLICE_ALL, SLICE_OTHER
from smote_monitor.errors import InvalidInputError
from smote_monitor.slices.limits import DEFAULT_MAX_SLICE_VALUES, check_max_slice_values
from smote_monitor.slices.values import key_texts, slice_value


def slice_label(column: str, value: str) -> str:
    """``column=value``, the slice label the metric catalog uses (``value`` already in its
    label form: :func:`~smote_monitor.slices.values.slice_value`, or the fold bucket)."""
    return f"{column}={value}"


@dataclass
class Confusion:
    """Confusion counts with the minority class as the positive class (may hold deltas < 0)."""

    tp: int = 0
    fp: int = 0
    tn: int = 0
    fn: int = 0

    def add(self, other: Confusion) -> None:
        """Add ``other``'s counts in place."""
        self.tp += other.tp
        self.fp += other.fp
        self.tn += other.tn
        self.fn += other.fn

    def bump(self, outcome: str, change: int = 1) -> None:
        """Add ``change`` to one outcome (``tp``, ``fp``, ``tn`` or ``fn``)."""
        setattr(self, outcome, getattr(self, outcome) + change)

    @property
    def total(self) -> int:
        """Labelled predictions counted."""
        return self.tp + self.fp + self.tn + self.fn

    def to_dict(self) -> dict[str, int]:
        """Plain form."""
        return {"tp": self.tp, "fp": self.fp, "tn": self.tn, "fn": self.fn}


@dataclass(frozen=True)
class OutcomeDelta:
    """A change to the counts of one labelled prediction.

    Attributes
    ----------
    slices : tuple of (column, value)
        The prediction's slice values.
    outcome : {'tp', 'fp', 'tn', 'fn'}
    change : int
        ``+1`` to count, ``-1`` to withdraw (a corrected label).
    """

    slices: tuple[tuple[str, Any], ...]
    outcome: str
    change: int


@dataclass
class SliceCounts:
    """Confusion counts for ``all`` and for every value of the slice columns.

    Parameters
    ----------
    columns : sequence of str
        Slice columns (from the dataset config).
    max_values : int, default 50
        Values per column with a slice of their own; more fold into ``column=(other)``.
    known_values : mapping of column to values, optional
        Fix a column's own slices up front (e.g. its most frequent training values, at most
        ``max_values``); every other value folds into ``(other)``. Fixed columns count every
        value exactly and merge exactly associatively, whatever the arrival order. Columns
        without them admit values first come, first served, which is exact until the cap is
        hit; past it, a value admitted in one partial count but folded in another keeps the
        folded rows in ``(other)`` after a merge (totals stay exact either way).

    Examples
    --------
    >>> c = SliceCounts(["region"])
    >>> c.apply([OutcomeDelta((("region", "eu"),), "tp", 1)])
    >>> c.counts["region=eu"].tp, c.counts["all"].tp
    (1, 1)
    """

    columns: Sequence[str]
    max_values: int = DEFAULT_MAX_SLICE_VALUES
    counts: dict[str, Confusion] = field(default_factory=dict)
    values: dict[str, set[str]] = field(default_factory=dict)
    folded_rows: dict[str, int] = field(default_factory=dict)
    known_values: Mapping[str, Iterable[Any]] | None = None
    fixed: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        check_max_slice_values(self.max_values, "max_values")
        self.columns = list(self.columns)
        self.counts.setdefault(SLICE_ALL, Confusion())
        for column in self.known_values or {}:
            if column not in self.columns:
                raise InvalidInputError(
                    f"known_values.{column}", column, f"one of the slice columns {self.columns}"
                )
            values = sorted({slice_value(v) for v in (self.known_values or {})[column]})
            if len(values) > self.max_values:
                raise InvalidInputError(
                    f"known_values.{column}",
                    f"{len(values)} values",
                    f"at most max_values={self.max_values}",
                )
            self.values[column] = set(values)
            self.fixed.add(column)
            # Fixed slices are reported even before traffic reaches them (support 0).
            for value in values:
                self.counts.setdefault(slice_label(column, value), Confusion())
        self.known_values = None
        for column in self.columns:
            self.values.setdefault(column, set())
            self.folded_rows.setdefault(column, 0)

    def _label(self, column: str, value: Any) -> str:
        text = slice_value(value)
        known = self.values[column]
        if text in known:
            return slice_label(column, text)
        if column not in self.fixed and len(known) < self.max_values:
            known.add(text)
            return slice_label(column, text)
        return slice_label(column, SLICE_OTHER)

    def apply(self, deltas: Iterable[OutcomeDelta], *, require_all: bool = True) -> None:
        """Add a sequence of count changes (from :func:`count_batch` or the label join).

        ``require_all=False`` lets a delta lack a slice column: it counts in ``all`` and in the
        columns it has (a prediction joined before that column was configured).
        """
        for delta in deltas:
            given = dict(delta.slices)
            if require_all:
                for column in self.columns:
                    if column not in given:
                        raise InvalidInputError(
                            f"slices.{column}", None, "a value for every slice column"
                        )
            self.counts[SLICE_ALL].bump(delta.outcome, delta.change)
            for column in self.columns:
                if column not in given:
                    continue
                label = self._label(column, given[column])
                if label == slice_label(column, SLICE_OTHER):
                    self.folded_rows[column] += delta.change
                self.counts.setdefault(label, Confusion()).bump(delta.outcome, delta.change)

    def resliced(
        self, columns: Sequence[str], known_values: Mapping[str, Iterable[Any]] | None = None
    ) -> SliceCounts:
        """These counts for other slice columns (the config's ``slices`` changed): ``all`` and
        the columns kept carry over; new columns start empty, with their ``known_values`` if
        given; dropped ones are forgotten."""
        new = {
            c: v for c, v in (known_values or {}).items() if c in columns and c not in self.columns
        }
        out = SliceCounts(columns, self.max_values, known_values=new)
        out.counts[SLICE_ALL] = Confusion(**self.counts[SLICE_ALL].to_dict())
        for column in out.columns:
            if column not in self.columns:
                continue
            prefix = slice_label(column, "")
            for label, c in self.counts.items():
                if label.startswith(prefix):
                    out.counts[label] = Confusion(**c.to_dict())
            out.values[column] = set(self.values[column])
            out.folded_rows[column] = self.folded_rows[column]
            if column in self.fixed:
                out.fixed.add(column)
        return out

    def merge(self, other: SliceCounts) -> SliceCounts:
        """Counts of both, as a new accumulator.

        Totals (``all`` and each column's sum over its slices) are always exact. Which values
        keep a slice of their own is decided by support when the union exceeds ``max_values``
        (ties by label), so merging is associative as long as no column overflows its cap.
        """
        if list(other.columns) != list(self.columns):
            raise InvalidInputError(
                "slice_columns", list(other.columns), f"the same columns {list(self.columns)}"
            )
        if self.fixed != other.fixed or any(self.values[c] != other.values[c] for c in self.fixed):
            raise InvalidInputError(
                "known_values", sorted(other.fixed), "the same fixed slice values on both sides"
            )
        out = SliceCounts(
            self.columns, self.max_values, known_values={c: self.values[c] for c in self.fixed}
        )
        out.counts[SLICE_ALL].add(self.counts[SLICE_ALL])
        out.counts[SLICE_ALL].add(other.counts[SLICE_ALL])
        for column in self.columns:
            merged: dict[str, Confusion] = {}
            for source in (self, other):
                for value in source.values[column] | {SLICE_OTHER}:
                    label = slice_label(column, value)
                    if label in source.counts:
                        merged.setdefault(value, Confusion()).add(source.counts[label])
            own = sorted(
                (v for v in merged if v != SLICE_OTHER), key=lambda v: (-merged[v].total, v)
            )
            keep, fold = own[: self.max_values], own[self.max_values :]
            if column in self.fixed:
                keep, fold = [v for v in own if v in self.values[column]], []
            out.values[column] = set(self.values[column]) if column in self.fixed else set(keep)
            out.folded_rows[column] = self.folded_rows[column] + other.folded_rows[column]
            for value in keep:
                out.counts[slice_label(column, value)] = merged[value]
            rest = merged.get(SLICE_OTHER, Confusion())
            for value in fold:
                rest.add(merged[value])
                out.folded_rows[column] += merged[value].total
            if rest.total or SLICE_OTHER in merged or fold:
                out.counts[slice_label(column, SLICE_OTHER)] = rest
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able state."""
        return {
            "columns": list(self.columns),
            "max_values": self.max_values,
            "counts": {label: c.to_dict() for label, c in self.counts.items()},
            "values": {column: sorted(v) for column, v in self.values.items()},
            "folded_rows": dict(self.folded_rows),
            "fixed": sorted(self.fixed),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SliceCounts:
        """Inverse of :meth:`to_dict`."""
        return cls(
            columns=list(data["columns"]),
            max_values=int(data["max_values"]),
            counts={label: Confusion(**c) for label, c in data["counts"].items()},
            values={column: set(v) for column, v in data["values"].items()},
            folded_rows={column: int(n) for column, n in data["folded_rows"].items()},
            fixed=set(data.get("fixed", [])),
        )


def outcomes(
    labels: Any,
    predictions: Any,
    positive_class: Any,
    negative_class: Any,
    *,
    label_column: str = "label",
    prediction_column: str = "prediction",
) -> np.ndarray:
    """Outcome name of every row; an error naming the column when a value is not one of the classes.

    Parameters
    ----------
    labels, predictions : array-like of shape (n_rows,)
    positive_class, negative_class
        The minority (positive) class and the other class.
    label_column, prediction_column : str
        The columns' configured names, which an error about their values names.

    Returns
    -------
    ndarray of str, shape (n_rows,)
    """
    y = pd.Series(labels).to_numpy(dtype=object)
    p = pd.Series(predictions).to_numpy(dtype=object)
    if y.shape != p.shape:
        raise InvalidInputError(
            "predictions", f"{p.size} rows", f"as many rows as labels ({y.size})"
        )
    for field_name, values in ((label_column, y), (prediction_column, p)):
        pos = values == positive_class
        neg = values == negative_class
        bad = ~(pos | neg)
        if bad.any():
            raise InvalidInputError(
                field_name,
                values[bad][:3].tolist(),
                f"only the classes {positive_class!r} and {negative_class!r}",
            )
    y_pos = y == positive_class
    p_pos = p == positive_class
    out = np.where(y_pos, np.where(p_pos, "tp", "fn"), np.where(p_pos, "fp", "tn"))
    return out


def count_batch(
    frame: Mapping[str, Any],
    slice_columns: Sequence[str],
    label: str,
    prediction: str,
    positive_class: Any,
    negative_class: Any,
) -> list[OutcomeDelta]:
    """Count deltas of a batch of labelled predictions (one delta per distinct slice/outcome).

    Raises
    ------
    InvalidInputError
        A missing slice, label or prediction column; a label or prediction outside the classes.
    """
    for role, column in (
        ("label", label),
        ("prediction", prediction),
        *(("slices", c) for c in slice_columns),
    ):
        if column not in frame:
            raise InvalidInputError(
                f"{role}.{column}" if role == "slices" else role, column, "a column of the batch"
            )
    outcome = outcomes(
        frame[label],
        frame[prediction],
        positive_class,
        negative_class,
        label_column=label,
        prediction_column=prediction,
    )
    data = pd.DataFrame(
        {**{c: key_texts(frame[c]).to_numpy() for c in slice_columns}, "_o": outcome}
    )
    grouped = data.groupby([*slice_columns, "_o"], sort=False).size()
    deltas = []
    for key, n in grouped.items():
        parts = key if isinstance(key, tuple) else (key,)
        deltas.append(
            OutcomeDelta(tuple(zip(slice_columns, parts[:-1], strict=True)), str(parts[-1]), int(n))
        )
    return deltas
