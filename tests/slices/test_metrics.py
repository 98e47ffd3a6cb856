"""Slice SLIs and Wilson intervals against hand-computed cases, statsmodels and a brute-force
recount."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smote_monitor.errors import InvalidInputError
from smote_monitor.slices import (
    Confusion,
    OutcomeDelta,
    Rate,
    SliceCounts,
    count_batch,
    metrics_of,
    slice_metrics,
    wilson_interval,
)


@pytest.mark.parametrize(
    ("successes", "trials", "lower", "upper"),
    [
        # Worked by hand from the Wilson formula with z = 1.959964.
        (8, 10, 0.4901625, 0.9433178),
        (0, 10, 0.0, 0.2775328),
        (10, 10, 0.7224672, 1.0),
        (1, 2, 0.0945312, 0.9054688),
        (45, 60, 0.6276793, 0.8422348),
    ],
)
def test_wilson_hand_computed(successes: int, trials: int, lower: float, upper: float) -> None:
    lo, hi = wilson_interval(successes, trials)
    assert lo == pytest.approx(lower, abs=1e-6)
    assert hi == pytest.approx(upper, abs=1e-6)


def test_wilson_matches_statsmodels() -> None:
    from statsmodels.stats.proportion import proportion_confint

    for successes, trials in [(0, 1), (3, 7), (29, 30), (500, 1000), (1, 100000)]:
        expected = proportion_confint(successes, trials, alpha=0.05, method="wilson")
        assert wilson_interval(successes, trials) == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_wilson_empty_is_nan() -> None:
    assert all(math.isnan(b) for b in wilson_interval(0, 0))


def test_metrics_of_hand_computed_slice() -> None:
    m = metrics_of("region=eu", Confusion(tp=8, fp=2, tn=85, fn=2), min_slice_support=30)
    assert m.support == 10
    assert m.recall.value == pytest.approx(0.8)
    assert (m.recall.lower, m.recall.upper) == pytest.approx((0.4901625, 0.9433178), abs=1e-6)
    assert m.precision.value == pytest.approx(0.8)
    assert m.f1.value == pytest.approx(0.8)  # 2·8 / (2·8 + 2 + 2)
    assert m.false_positive_rate.value == pytest.approx(2 / 87)
    assert not m.sufficient
    d = m.to_dict()
    assert d["recall"]["value"] == pytest.approx(0.8) and d["slice"] == "region=eu"


def test_undefined_rates_are_nan_and_serialise_as_none() -> None:
    m = metrics_of("all", Confusion(tn=5), min_slice_support=1)
    assert math.isnan(m.recall.value) and math.isnan(m.precision.value)
    assert m.false_positive_rate.value == 0.0
    assert m.to_dict()["recall"] == {"value": None, "lower": None, "upper": None}


def test_count_batch_hand_computed() -> None:
    frame = {
        "y": [1, 1, 0, 0, 1, 0],
        "p": [1, 0, 1, 0, 1, 0],
        "region": ["eu", "eu", "eu", "us", "us", "us"],
    }
    counts = SliceCounts(["region"])
    counts.apply(count_batch(frame, ["region"], "y", "p", positive_class=1, negative_class=0))
    assert counts.counts["all"].to_dict() == {"tp": 2, "fp": 1, "tn": 2, "fn": 1}
    assert counts.counts["region=eu"].to_dict() == {"tp": 1, "fp": 1, "tn": 0, "fn": 1}
    assert counts.counts["region=us"].to_dict() == {"tp": 1, "fp": 0, "tn": 2, "fn": 0}
    labels = [m.slice for m in slice_metrics(counts, min_slice_support=1)]
    assert labels == ["all", "region=eu", "region=us"]


def test_a_label_outside_the_two_classes_names_the_label_column() -> None:
    frame = {"bad_loan": [1, 2, 0], "p": [1, 0, 0], "region": ["a", "b", "c"]}
    with pytest.raises(
        InvalidInputError, match=r"^bad_loan: got \[2\]; expected only the classes 1 and 0$"
    ):
        count_batch(frame, ["region"], "bad_loan", "p", positive_class=1, negative_class=0)


def test_a_prediction_outside_the_two_classes_names_the_prediction_column() -> None:
    frame = {"y": [1, 1, 0], "predicted_bad": [1, 3, 0], "region": ["a", "b", "c"]}
    with pytest.raises(
        InvalidInputError, match=r"^predicted_bad: got \[3\]; expected only the classes 1 and 0$"
    ):
        count_batch(frame, ["region"], "y", "predicted_bad", positive_class=1, negative_class=0)


def test_missing_slice_column_is_named() -> None:
    frame = {"y": [1], "p": [1], "region": ["a"]}
    with pytest.raises(InvalidInputError, match=r"slices\.device: got 'device'; expected a column"):
        count_batch(frame, ["region", "device"], "y", "p", positive_class=1, negative_class=0)


def test_values_past_the_cap_fold_into_other_and_are_counted() -> None:
    frame = {"y": [1] * 6, "p": [1] * 6, "shop": ["a", "b", "c", "d", "d", "e"]}
    counts = SliceCounts(["shop"], max_values=2)
    counts.apply(count_batch(frame, ["shop"], "y", "p", positive_class=1, negative_class=0))
    own = {
        label for label in counts.counts if label.startswith("shop=") and label != "shop=(other)"
    }
    assert len(own) == 2
    assert counts.counts["shop=(other)"].tp == 4
    assert counts.folded_rows["shop"] == 4
    assert sum(c.tp for label, c in counts.counts.items() if label.startswith("shop=")) == 6


def test_slices_below_support_are_reported_but_flagged() -> None:
    counts = SliceCounts(["region"])
    counts.apply(
        [OutcomeDelta((("region", "eu"),), "tp", 40), OutcomeDelta((("region", "us"),), "fn", 3)]
    )
    by_slice = {m.slice: m for m in slice_metrics(counts, min_slice_support=30)}
    assert by_slice["region=eu"].sufficient
    assert not by_slice["region=us"].sufficient
    assert by_slice["all"].support == 43


rows = st.lists(
    st.tuples(
        st.sampled_from(["pos", "neg"]),
        st.sampled_from(["pos", "neg"]),
        st.sampled_from("abcdefg"),
        st.sampled_from(["x", "y"]),
    ),
    min_size=0,
    max_size=120,
)


@settings(max_examples=60, deadline=None)
@given(data=rows, split=st.integers(0, 120), cap=st.integers(1, 8))
def test_counts_and_metrics_equal_brute_force(
    data: list[tuple[str, str, str, str]], split: int, cap: int
) -> None:
    frame = pd.DataFrame(data, columns=["y", "p", "shop", "device"])
    # Fixed slice values (as the daemon would take from training data) keep every count exact.
    known = {"shop": list("abcdefg")[:cap], "device": ["x", "y"][:cap]}

    def counted(part: pd.DataFrame) -> SliceCounts:
        out = SliceCounts(["shop", "device"], max_values=cap, known_values=known)
        if len(part):
            out.apply(
                count_batch(
                    part, ["shop", "device"], "y", "p", positive_class="pos", negative_class="neg"
                )
            )
        return out

    merged = counted(frame.iloc[:split]).merge(counted(frame.iloc[split:]))

    # Brute force: outcome of each row, then every slice's counts by looping over rows.
    def outcome(y: str, p: str) -> str:
        return {
            ("pos", "pos"): "tp",
            ("pos", "neg"): "fn",
            ("neg", "pos"): "fp",
            ("neg", "neg"): "tn",
        }[(y, p)]

    expected_all = {"tp": 0, "fp": 0, "tn": 0, "fn": 0}
    for y, p, _, _ in data:
        expected_all[outcome(y, p)] += 1
    assert merged.counts["all"].to_dict() == expected_all
    for column in ("shop", "device"):
        per_value: dict[str, dict[str, int]] = {}
        for y, p, shop, device in data:
            value = shop if column == "shop" else device
            per_value.setdefault(value, {"tp": 0, "fp": 0, "tn": 0, "fn": 0})[outcome(y, p)] += 1
        own = merged.values[column]
        assert len(own) <= cap
        for value in own:
            zero = {"tp": 0, "fp": 0, "tn": 0, "fn": 0}
            assert merged.counts[f"{column}={value}"].to_dict() == per_value.get(value, zero)
        folded = [v for v in per_value if v not in own]
        if folded:
            other = merged.counts[f"{column}=(other)"].to_dict()
            assert other == {k: sum(per_value[v][k] for v in folded) for k in other}
    # Every reported slice's counts recounted from the rows: `all`, own values, `other`.
    recount: dict[str, dict[str, int]] = {"all": expected_all}
    for column, position in (("shop", 2), ("device", 3)):
        own = merged.values[column]
        for row in data:
            value = row[position] if row[position] in own else "(other)"
            label = f"{column}={value}"
            recount.setdefault(label, {"tp": 0, "fp": 0, "tn": 0, "fn": 0})
            recount[label][outcome(row[0], row[1])] += 1
    for m in slice_metrics(merged, min_slice_support=3):
        c = recount.get(m.slice, {"tp": 0, "fp": 0, "tn": 0, "fn": 0})
        assert (m.tp, m.fp, m.tn, m.fn) == (c["tp"], c["fp"], c["tn"], c["fn"])
        assert m.support == c["tp"] + c["fn"]
        assert m.sufficient == (m.support >= 3)
        for rate, successes, trials in (
            (m.recall, c["tp"], c["tp"] + c["fn"]),
            (m.precision, c["tp"], c["tp"] + c["fp"]),
            (m.f1, 2 * c["tp"], 2 * c["tp"] + c["fp"] + c["fn"]),
            (m.false_positive_rate, c["fp"], c["fp"] + c["tn"]),
        ):
            _assert_rate_is_wilson(rate, successes, trials)


def _assert_rate_is_wilson(rate: Rate, successes: int, trials: int) -> None:
    """The rate is successes / trials with statsmodels' Wilson interval (all NaN when empty)."""
    from statsmodels.stats.proportion import proportion_confint

    if trials == 0:
        assert all(math.isnan(x) for x in (rate.value, rate.lower, rate.upper))
        return
    assert rate.value == pytest.approx(successes / trials, rel=1e-12)
    expected = proportion_confint(successes, trials, alpha=0.05, method="wilson")
    assert (rate.lower, rate.upper) == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert rate.lower <= rate.value <= rate.upper


@settings(max_examples=40, deadline=None)
@given(parts=st.lists(rows, min_size=3, max_size=3))
def test_merge_is_associative_below_the_cap(parts: list[list[tuple[str, str, str, str]]]) -> None:
    # Below the cap nothing folds, so first-come admission merges exactly too.
    def counted(data: list[tuple[str, str, str, str]]) -> SliceCounts:
        out = SliceCounts(["shop", "device"], max_values=50)
        if data:
            frame = pd.DataFrame(data, columns=["y", "p", "shop", "device"])
            out.apply(
                count_batch(
                    frame, ["shop", "device"], "y", "p", positive_class="pos", negative_class="neg"
                )
            )
        return out

    a, b, c = (counted(p) for p in parts)
    left, right = a.merge(b).merge(c), a.merge(b.merge(c))
    assert left.to_dict() == right.to_dict()
    assert SliceCounts.from_dict(left.to_dict()).to_dict() == left.to_dict()


@settings(max_examples=40, deadline=None)
@given(data=rows, split=st.integers(0, 120), cap=st.integers(1, 8))
def test_first_come_admission_keeps_totals_exact(
    data: list[tuple[str, str, str, str]], split: int, cap: int
) -> None:
    def counted(part: list[tuple[str, str, str, str]]) -> SliceCounts:
        out = SliceCounts(["shop", "device"], max_values=cap)
        if part:
            frame = pd.DataFrame(part, columns=["y", "p", "shop", "device"])
            out.apply(
                count_batch(
                    frame, ["shop", "device"], "y", "p", positive_class="pos", negative_class="neg"
                )
            )
        return out

    merged = counted(data[:split]).merge(counted(data[split:]))
    whole = merged.counts["all"].to_dict()
    assert whole["tp"] + whole["fp"] + whole["tn"] + whole["fn"] == len(data)
    for column in ("shop", "device"):
        assert len(merged.values[column]) <= cap
        column_sum = {k: 0 for k in whole}
        for label, c in merged.counts.items():
            if label.startswith(f"{column}="):
                for k, v in c.to_dict().items():
                    column_sum[k] += v
        assert column_sum == whole
    single = counted(data)
    for column in ("shop", "device"):
        for value in single.values[column]:
            truth = sum(1 for row in data if row[2 if column == "shop" else 3] == value)
            assert single.counts[f"{column}={value}"].total == truth


def test_merging_different_fixed_values_is_refused() -> None:
    a = SliceCounts(["r"], known_values={"r": ["eu"]})
    b = SliceCounts(["r"], known_values={"r": ["us"]})
    with pytest.raises(InvalidInputError, match=r"known_values"):
        a.merge(b)


def test_numpy_labels_are_accepted() -> None:
    frame = {"y": np.array([True, False]), "p": np.array([True, True]), "r": np.array(["a", "b"])}
    counts = SliceCounts(["r"])
    counts.apply(count_batch(frame, ["r"], "y", "p", positive_class=True, negative_class=False))
    assert counts.counts["all"].to_dict() == {"tp": 1, "fp": 1, "tn": 0, "fn": 0}
