"""Time-bucketed accumulators behind rolling windows.

Production rows fall into buckets of ``window_bucket`` seconds by their timestamp. A bucket
keeps mergeable accumulators: drift profiles of its rows' features (against the reference run)
and confusion counts per slice of its predictions as labelled so far. A window is the merge of
the buckets it covers — exact, with no re-read of production data — and storage is bounded by
(largest window / bucket width) × (features × bins + slices).

Slice labels are decided here, once, for pushes and sources alike: a slice column that the
reference profiled as categorical has its ``max_slice_values`` most common training values as
its own slices; any other slice column admits values first come up to that cap. Every other
value folds into the fold bucket.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from smote_monitor.config import DatasetConfig
from smote_monitor.conventions import CONFUSION_OUTCOMES, SLICE_ALL, SLICE_OTHER
from smote_monitor.slices.counts import Confusion, slice_label
from smote_monitor.slices.values import escape_value, slice_value

BucketCounts = dict[str, dict[str, int]]
"""Confusion counts of one bucket: slice label → {tp, fp, tn, fn}."""


def bucket_start(ts: float, width: int) -> float:
    """Start (Unix seconds) of the bucket holding ``ts``."""
    return float(math.floor(ts / width) * width)


class SliceLabeler:
    """Slice labels of predictions, by the rule of the module docstring.

    Parameters
    ----------
    config : DatasetConfig
    reference_values : mapping of column to values
        The own slices of the columns the reference profiled as categorical.
    admitted : mapping of column to set of str
        Values (label form) other columns already admitted (what earlier counts hold).
    """

    def __init__(
        self,
        config: DatasetConfig,
        reference_values: Mapping[str, Sequence[Any]],
        admitted: Mapping[str, set[str]],
    ) -> None:
        self.columns = list(config.slices)
        self.cap = config.max_slice_values
        self.fixed = {
            column: {slice_value(v) for v in values}
            for column, values in reference_values.items()
            if column in self.columns
        }
        self.admitted = {
            c: set(admitted.get(c, set())) for c in self.columns if c not in self.fixed
        }

    def labels(self, values: Mapping[str, str]) -> list[str]:
        """``all`` and one label per slice column of a prediction's ``{column: value text}``.

        A column the prediction has no value for (a slice column configured after it was
        stored) is left out: the prediction counts in ``all`` and the columns it has.
        """
        out = [SLICE_ALL]
        for column in self.columns:
            if column not in values:
                continue
            value = escape_value(values[column])
            own = self.fixed.get(column)
            if own is None:
                own = self.admitted[column]
                if value not in own and len(own) < self.cap:
                    own.add(value)
            out.append(slice_label(column, value if value in own else SLICE_OTHER))
        return out

    def known_labels(self) -> list[str]:
        """Slices reported even before traffic reaches them (support 0)."""
        return [SLICE_ALL] + [
            slice_label(column, value)
            for column, values in self.fixed.items()
            for value in sorted(values)
        ]


def admitted_values(labels: Iterable[str], columns: Sequence[str]) -> dict[str, set[str]]:
    """The values each slice column already has a label for, read back from stored labels."""
    admitted: dict[str, set[str]] = {c: set() for c in columns}
    for label in labels:
        column, sep, value = label.partition("=")
        if sep and column in admitted and value != SLICE_OTHER:
            admitted[column].add(value)
    return admitted


def add_counts(counts: BucketCounts, label: str, outcome: str, change: int) -> None:
    confusion = counts.setdefault(label, dict.fromkeys(CONFUSION_OUTCOMES, 0))
    confusion[outcome] += change


def merge_counts(buckets: Iterable[Mapping[str, Mapping[str, int]] | None]) -> dict[str, Confusion]:
    """Sum of the buckets' counts per slice."""
    total: dict[str, Confusion] = defaultdict(Confusion)
    for counts in buckets:
        for label, confusion in (counts or {}).items():
            total[label].add(Confusion(**{o: int(confusion.get(o, 0)) for o in CONFUSION_OUTCOMES}))
    return dict(total)
