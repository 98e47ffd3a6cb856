"""Minority-class SLIs per slice, with Wilson intervals, from confusion counts."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from smote_monitor.conventions import CONFUSION_OUTCOMES, SLICE_ALL
from smote_monitor.errors import InvalidInputError
from smote_monitor.slices.counts import Confusion, SliceCounts
from smote_monitor.slices.limits import DEFAULT_MIN_SLICE_SUPPORT, check_min_slice_support
from smote_monitor.slices.wilson import Z_95, wilson_interval


@dataclass(frozen=True)
class Rate:
    """A proportion with its Wilson interval (all NaN when its denominator is 0)."""

    value: float
    lower: float
    upper: float


@dataclass(frozen=True)
class SliceMetrics:
    """SLIs of one slice.

    Attributes
    ----------
    slice : str
        ``all`` or ``column=value`` (``column=(other)`` for folded values).
    tp, fp, tn, fn : int
    support : int
        Labelled minority rows, ``tp + fn``.
    recall : Rate
        ``tp / (tp + fn)``.
    precision : Rate
        ``tp / (tp + fp)``.
    f1 : Rate
        ``2tp / (2tp + fp + fn)``; its interval treats F1 as the proportion ``2tp`` of
        ``2tp + fp + fn`` (an approximation: F1 is not a binomial proportion).
    false_positive_rate : Rate
        ``fp / (fp + tn)``.
    sufficient : bool
        ``support >= min_slice_support``; insufficient slices are reported, not alerted on.
    """

    slice: str
    tp: int
    fp: int
    tn: int
    fn: int
    support: int
    recall: Rate
    precision: Rate
    f1: Rate
    false_positive_rate: Rate
    sufficient: bool

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form (NaN becomes ``None``)."""
        return _nan_to_none(asdict(self))


def _rate(successes: int, trials: int, z: float) -> Rate:
    if trials <= 0:
        return Rate(math.nan, math.nan, math.nan)
    lower, upper = wilson_interval(successes, trials, z)
    return Rate(successes / trials, lower, upper)


def metrics_of(label: str, c: Confusion, min_slice_support: int, z: float = Z_95) -> SliceMetrics:
    """SLIs of one slice's counts."""
    check_min_slice_support(min_slice_support, "min_slice_support")
    for name in CONFUSION_OUTCOMES:
        if getattr(c, name) < 0:
            raise InvalidInputError(f"counts.{label}.{name}", getattr(c, name), "a count >= 0")
    return SliceMetrics(
        slice=label,
        tp=c.tp,
        fp=c.fp,
        tn=c.tn,
        fn=c.fn,
        support=c.tp + c.fn,
        recall=_rate(c.tp, c.tp + c.fn, z),
        precision=_rate(c.tp, c.tp + c.fp, z),
        f1=_rate(2 * c.tp, 2 * c.tp + c.fp + c.fn, z),
        false_positive_rate=_rate(c.fp, c.fp + c.tn, z),
        sufficient=c.tp + c.fn >= min_slice_support,
    )


def slice_metrics(
    counts: SliceCounts, min_slice_support: int = DEFAULT_MIN_SLICE_SUPPORT, z: float = Z_95
) -> list[SliceMetrics]:
    """SLIs of every slice: ``all`` first, then the slices sorted by label.

    Parameters
    ----------
    counts : SliceCounts
    min_slice_support : int, default 30
    z : float, default 1.96

    Returns
    -------
    list of SliceMetrics
    """
    check_min_slice_support(min_slice_support, "min_slice_support")
    labels = sorted(counts.counts, key=lambda s: (s != SLICE_ALL, s))
    return [metrics_of(label, counts.counts[label], min_slice_support, z) for label in labels]


def _nan_to_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _nan_to_none(v) for k, v in value.items()}
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
