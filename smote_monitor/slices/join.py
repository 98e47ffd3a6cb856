"""Late-label join: predictions and labels arrive separately; counts must stay right.

:func:`join_labels` is pure: it takes the join state and two batches and returns the new state
and the count deltas.

The rule: a label counts for its prediction only if the label's timestamp is at most
``lookback`` after the prediction's (a label stamped before its prediction counts too: it
waits for it). The same holds for a re-sent or corrected label. State older than
``now - lookback`` is expired *before* a batch is joined, so whether a label counts depends on
the timestamps, not on how often the join runs. Choose the lookback longer than the
labelling delay.

The state is all the store must keep between evaluations:

``pending``
    Predictions waiting for a label: id → (prediction, slice values, ts). Ids are keyed by
    their one text form (:func:`~smote_monitor.slices.values.key_text`: ``5``, ``"5"`` and
    ``5.0`` are one id, as in a labels file). Predictions older
    than ``now - lookback`` expire unlabelled.
``counted``
    Ids already counted: id → (slice values, outcome, ts). A label re-sent for such an id
    withdraws the old outcome and counts the new one, so duplicates never double-count and a
    corrected label corrects the counts. Also bounded by the lookback (of the prediction ts).
``early_labels``
    Labels that arrived before their prediction: id → (label, ts), kept for the lookback too.

A label too late for its prediction, or one whose own ts is already outside the lookback and
finds nothing to join, is dropped (``ignored_late_labels``); other unmatched labels wait in
``early_labels`` and expire with it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from smote_monitor.errors import InvalidInputError
from smote_monitor.slices.counts import OutcomeDelta
from smote_monitor.slices.values import key_text


@dataclass(frozen=True)
class Prediction:
    """One prediction from the serving log."""

    id: Any
    prediction: Any
    slices: tuple[tuple[str, Any], ...]
    ts: float


@dataclass(frozen=True)
class Label:
    """One ground-truth label."""

    id: Any
    label: Any
    ts: float


@dataclass(frozen=True)
class Counted:
    """What was counted for an id, so that a changed label can be withdrawn."""

    slices: tuple[tuple[str, Any], ...]
    outcome: str
    ts: float
    prediction: Any


@dataclass
class JoinState:
    """State of the join that the store persists (see the module docstring)."""

    pending: dict[Any, Prediction] = field(default_factory=dict)
    counted: dict[Any, Counted] = field(default_factory=dict)
    early_labels: dict[Any, Label] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form (ids and values must themselves be JSON-able)."""
        return {
            "pending": [
                [p.id, p.prediction, [list(s) for s in p.slices], p.ts]
                for p in self.pending.values()
            ],
            "counted": [
                [i, [list(s) for s in c.slices], c.outcome, c.ts, c.prediction]
                for i, c in self.counted.items()
            ],
            "early_labels": [[lb.id, lb.label, lb.ts] for lb in self.early_labels.values()],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JoinState:
        """Inverse of :meth:`to_dict`."""
        # Keyed by the ids' one text form: state written before ids were normalised joins too.
        return cls(
            pending={
                key_text(p[0]): Prediction(p[0], p[1], tuple(tuple(s) for s in p[2]), p[3])
                for p in data["pending"]
            },
            counted={
                key_text(c[0]): Counted(tuple(tuple(s) for s in c[1]), c[2], c[3], c[4])
                for c in data["counted"]
            },
            early_labels={
                key_text(lb[0]): Label(lb[0], lb[1], lb[2]) for lb in data["early_labels"]
            },
        )


@dataclass(frozen=True)
class JoinStats:
    """What one join step did (for logs and the ``series_dropped`` / labelled-rows counters)."""

    newly_counted: int = 0
    corrected: int = 0
    duplicates: int = 0
    expired_predictions: int = 0
    expired_labels: int = 0
    ignored_late_labels: int = 0


@dataclass(frozen=True)
class _Classes:
    """The two classes, and the column names an error about a value outside them names."""

    positive: Any
    negative: Any
    label_column: str
    prediction_column: str

    def outcome(self, label: Any, prediction: Any) -> str:
        for name, value in ((self.label_column, label), (self.prediction_column, prediction)):
            if value != self.positive and value != self.negative:
                raise InvalidInputError(
                    name, value, f"only the classes {self.positive!r} and {self.negative!r}"
                )
        if label == self.positive:
            return "tp" if prediction == self.positive else "fn"
        return "fp" if prediction == self.positive else "tn"


class _Stamped(Protocol):
    @property
    def ts(self) -> float: ...


_S = TypeVar("_S", bound=_Stamped)


def _unexpired(items: Mapping[Any, _S], horizon: float) -> tuple[dict[Any, _S], int]:
    """The entries stamped at or after ``horizon``, and how many were older."""
    kept = {key: item for key, item in items.items() if item.ts >= horizon}
    return kept, len(items) - len(kept)


def join_labels(
    state: JoinState,
    predictions: Iterable[Prediction],
    labels: Iterable[Label],
    *,
    slice_columns: Sequence[str],
    positive_class: Any,
    negative_class: Any,
    now: float,
    lookback: float,
    label_column: str = "label",
    prediction_column: str = "prediction",
) -> tuple[JoinState, list[OutcomeDelta], JoinStats]:
    """Join a batch of predictions and a batch of labels into the state.

    Parameters
    ----------
    state : JoinState
        Not modified.
    predictions, labels : iterable of Prediction / Label
    slice_columns : sequence of str
        Every prediction must carry a value for each.
    positive_class, negative_class
        The minority class and the other class; labels and predictions must be one of them.
    now, lookback : float
        Timestamps in seconds; state older than ``now - lookback`` is dropped before the
        batches are joined, and a label counts only if its ts is at most ``lookback`` after
        its prediction's.
    label_column, prediction_column : str
        The configured column names, which an error about a label or prediction names.

    Returns
    -------
    (JoinState, list of OutcomeDelta, JoinStats)
        Deltas to apply to a :class:`~smote_monitor.slices.counts.SliceCounts`.

    Raises
    ------
    InvalidInputError
        A prediction lacking a slice column, a label or prediction outside the two classes,
        a negative lookback. Nothing is returned then and ``state`` is unchanged.
    """
    if not lookback >= 0:
        raise InvalidInputError("lookback", lookback, "a duration >= 0 seconds")
    classes = _Classes(positive_class, negative_class, label_column, prediction_column)
    preds = list(predictions)
    labs = list(labels)
    for p in preds:
        given = dict(p.slices)
        for column in slice_columns:
            if column not in given:
                raise InvalidInputError(f"slices.{column}", p.id, "a value for every slice column")
        classes.outcome(positive_class, p.prediction)
    for lb in labs:
        classes.outcome(lb.label, positive_class)

    horizon = now - lookback
    # Expire before joining: whether a label counts must not depend on how often joins run.
    pending, expired_predictions = _unexpired(state.pending, horizon)
    counted, _ = _unexpired(state.counted, horizon)
    early, expired_labels = _unexpired(state.early_labels, horizon)
    deltas: list[OutcomeDelta] = []
    stats = {"newly_counted": 0, "corrected": 0, "duplicates": 0, "ignored_late_labels": 0}

    def in_time(label: Label, prediction_ts: float) -> bool:
        return label.ts - prediction_ts <= lookback

    def count(pred: Prediction, label: Label) -> None:
        outcome = classes.outcome(label.label, pred.prediction)
        counted[key_text(pred.id)] = Counted(pred.slices, outcome, pred.ts, pred.prediction)
        deltas.append(OutcomeDelta(pred.slices, outcome, 1))
        stats["newly_counted"] += 1

    for p in preds:
        key = key_text(p.id)
        if key in counted or key in pending:
            stats["duplicates"] += 1
            continue
        waiting = early.pop(key, None)
        if waiting is not None and in_time(waiting, p.ts):
            count(p, waiting)
            continue
        if waiting is not None:
            stats["ignored_late_labels"] += 1
        pending[key] = p
    for lb in labs:
        key = key_text(lb.id)
        if key in pending:
            if in_time(lb, pending[key].ts):
                count(pending.pop(key), lb)
            else:
                stats["ignored_late_labels"] += 1
        elif key in counted:
            old = counted[key]
            outcome = classes.outcome(lb.label, old.prediction)
            if not in_time(lb, old.ts):
                stats["ignored_late_labels"] += 1
            elif outcome == old.outcome:
                stats["duplicates"] += 1
            else:
                deltas.append(OutcomeDelta(old.slices, old.outcome, -1))
                deltas.append(OutcomeDelta(old.slices, outcome, 1))
                counted[key] = Counted(old.slices, outcome, old.ts, old.prediction)
                stats["corrected"] += 1
        elif lb.ts >= horizon:
            early[key] = lb
        else:
            stats["ignored_late_labels"] += 1
    # Predictions of this batch already older than the lookback wait for nothing.
    pending, arrived_expired = _unexpired(pending, horizon)
    counted, _ = _unexpired(counted, horizon)
    return (
        JoinState(pending, counted, early),
        deltas,
        JoinStats(
            expired_predictions=expired_predictions + arrived_expired,
            expired_labels=expired_labels,
            **stats,
        ),
    )
