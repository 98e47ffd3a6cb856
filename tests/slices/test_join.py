"""The late-label join keeps counts right when labels arrive late, early, twice or corrected."""

from __future__ import annotations

import itertools
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smote_monitor.errors import InvalidInputError
from smote_monitor.slices import JoinState, Label, Prediction, SliceCounts, join_labels

COLS = ["region"]


def step(state, preds=(), labels=(), now=100.0, lookback=50.0):
    return join_labels(
        state,
        preds,
        labels,
        slice_columns=COLS,
        positive_class=1,
        negative_class=0,
        label_column="is_fraud",
        prediction_column="predicted",
        now=now,
        lookback=lookback,
    )


def pred(i, p=1, region="eu", ts=90.0):
    return Prediction(i, p, (("region", region),), ts)


def test_late_label_is_counted_once() -> None:
    state, deltas, stats = step(JoinState(), preds=[pred("a")])
    assert deltas == [] and "a" in state.pending
    state, deltas, stats = step(state, labels=[Label("a", 1, 95.0)])
    assert [(d.outcome, d.change) for d in deltas] == [("tp", 1)]
    assert stats.newly_counted == 1 and not state.pending and "a" in state.counted
    state, deltas, stats = step(state, labels=[Label("a", 1, 96.0)])
    assert deltas == [] and stats.duplicates == 1


def test_changed_label_corrects_instead_of_doubling() -> None:
    state, _, _ = step(JoinState(), preds=[pred("a", p=1)], labels=[Label("a", 1, 91.0)])
    state, deltas, stats = step(state, labels=[Label("a", 0, 99.0)])
    assert [(d.outcome, d.change) for d in deltas] == [("tp", -1), ("fp", 1)]
    assert stats.corrected == 1
    counts = SliceCounts(COLS)
    counts.apply([*step(JoinState(), preds=[pred("a")], labels=[Label("a", 1, 91.0)])[1], *deltas])
    assert counts.counts["all"].to_dict() == {"tp": 0, "fp": 1, "tn": 0, "fn": 0}


def test_label_before_prediction_waits() -> None:
    state, deltas, _ = step(JoinState(), labels=[Label("b", 0, 95.0)])
    assert deltas == [] and "b" in state.early_labels
    state, deltas, _ = step(state, preds=[pred("b", p=0)])
    assert [(d.outcome, d.change) for d in deltas] == [("tn", 1)]
    assert not state.early_labels


def test_state_outside_the_lookback_expires() -> None:
    state, _, _ = step(
        JoinState(), preds=[pred("old", ts=10.0), pred("new", ts=90.0)], labels=[Label("e", 1, 5.0)]
    )
    assert set(state.pending) == {"new"}
    assert not state.early_labels
    state, deltas, _ = step(state, labels=[Label("old", 1, 99.0)])
    assert deltas == [] and "old" in state.early_labels  # the prediction expired; the label waits


@pytest.mark.parametrize("cadence", [[], [60.0], [60.0, 80.0, 140.0]])
def test_a_label_later_than_the_lookback_after_its_prediction_never_counts(
    cadence: list[float],
) -> None:
    # Prediction at 0, lookback 50: a label at 120 is too late however often the join runs in
    # between (it used to count when no join ran between them: expiry came after the join).
    state, _, _ = step(JoinState(), preds=[pred("a", ts=0.0)], now=0.0)
    for now in cadence:
        state, _, _ = step(state, now=now)
    state, deltas, stats = step(state, labels=[Label("a", 1, 120.0)], now=120.0)
    assert deltas == [] and stats.newly_counted == 0
    assert "a" not in state.pending and "a" not in state.counted


def test_a_label_timestamped_past_the_lookback_of_a_pending_prediction_is_ignored() -> None:
    # The prediction is still pending at the join's clock, but the label's own timestamp is
    # 60 after it (lookback 50): it does not count, and its prediction keeps waiting.
    state, _, _ = step(JoinState(), preds=[pred("a", ts=90.0)])
    state, deltas, stats = step(state, labels=[Label("a", 1, 150.0)], now=100.0)
    assert deltas == [] and stats.ignored_late_labels == 1
    assert "a" in state.pending and not state.early_labels


def test_a_label_within_the_lookback_after_its_prediction_counts() -> None:
    state, _, _ = step(JoinState(), preds=[pred("a", ts=60.0)], now=60.0)
    state, deltas, _ = step(state, labels=[Label("a", 1, 110.0)], now=110.0)
    assert [(d.outcome, d.change) for d in deltas] == [("tp", 1)]


def test_a_correction_later_than_the_lookback_after_its_prediction_is_ignored() -> None:
    state, _, _ = step(JoinState(), preds=[pred("a", ts=90.0)], labels=[Label("a", 1, 91.0)])
    state, deltas, stats = step(state, labels=[Label("a", 0, 141.0)], now=100.0)
    assert deltas == [] and stats.ignored_late_labels == 1 and stats.corrected == 0


def test_bad_label_raises_naming_its_column_and_leaves_state_untouched() -> None:
    state, _, _ = step(JoinState(), preds=[pred("a")])
    before = json.dumps(state.to_dict())
    with pytest.raises(
        InvalidInputError, match=r"^is_fraud: got 7; expected only the classes 1 and 0$"
    ):
        step(state, labels=[Label("a", 7, 95.0)])
    with pytest.raises(InvalidInputError, match=r"^predicted: got 3; expected only the classes"):
        step(state, preds=[pred("z", p=3)])
    with pytest.raises(InvalidInputError, match=r"slices\.region"):
        step(state, preds=[Prediction("z", 1, (), 95.0)])
    assert json.dumps(state.to_dict()) == before


def test_state_round_trips_through_json() -> None:
    state, _, _ = step(
        JoinState(), preds=[pred("a"), pred("b")], labels=[Label("a", 1, 91.0), Label("c", 0, 92.0)]
    )
    restored = JoinState.from_dict(json.loads(json.dumps(state.to_dict())))
    assert restored == state


events = st.lists(
    st.one_of(
        st.tuples(
            st.just("pred"), st.integers(0, 9), st.integers(0, 1), st.sampled_from(["eu", "us"])
        ),
        st.tuples(st.just("label"), st.integers(0, 9), st.integers(0, 1), st.just("")),
    ),
    max_size=60,
)


@settings(max_examples=80, deadline=None)
@given(evs=events, cuts=st.lists(st.integers(0, 60), max_size=5))
def test_counts_equal_last_label_per_predicted_id(evs: list, cuts: list[int]) -> None:
    """With a lookback covering everything: first prediction per id × its latest label."""
    bounds = sorted({0, len(evs), *[min(c, len(evs)) for c in cuts]})
    state = JoinState()
    counts = SliceCounts(COLS)
    for lo, hi in itertools.pairwise(bounds):
        chunk = evs[lo:hi]
        preds = [
            Prediction(i, v, (("region", r),), 50.0) for kind, i, v, r in chunk if kind == "pred"
        ]
        labels = [Label(i, v, 50.0) for kind, i, v, _ in chunk if kind == "label"]
        # Within one step predictions are joined before labels, so replay in that order below.
        state, deltas, _ = step(state, preds=preds, labels=labels, now=60.0, lookback=1000.0)
        counts.apply(deltas)
    first_pred: dict[int, tuple[int, str]] = {}
    last_label: dict[int, int] = {}
    for lo, hi in itertools.pairwise(bounds):
        chunk = evs[lo:hi]
        for kind, i, v, r in chunk:
            if kind == "pred":
                first_pred.setdefault(i, (v, r))
        for kind, i, v, _ in chunk:
            if kind == "label":
                last_label[i] = v
    expected = {"tp": 0, "fp": 0, "tn": 0, "fn": 0}
    for i, label in last_label.items():
        if i in first_pred:
            p = first_pred[i][0]
            expected[{(1, 1): "tp", (1, 0): "fn", (0, 1): "fp", (0, 0): "tn"}[(label, p)]] += 1
    assert counts.counts["all"].to_dict() == expected
    for c in counts.counts.values():
        assert min(c.to_dict().values()) >= 0
