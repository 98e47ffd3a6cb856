"""Slice labels: the fold bucket no real value can take, and one text form of ids and slice
values whatever door (file, push, reference profile) they came in by."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from smote_monitor.config import SLOConfig
from smote_monitor.conventions import SLICE_OTHER
from smote_monitor.errors import InvalidInputError
from smote_monitor.slices import OutcomeDelta, SliceCounts, count_batch, slice_metrics
from smote_monitor.slices.values import escape_value, key_text, key_texts, slice_value


def test_the_fold_bucket_is_a_label_no_real_value_takes() -> None:
    assert SLICE_OTHER == "(other)"
    assert slice_value("other") == "other"
    assert slice_value("(other)") == "((other))"
    assert slice_value("((other))") == "(((other)))"
    values = ["other", "(other)", "((other))", "(a)", "(", ")", "()", "a(b)", "(a", "a)"]
    escaped = [escape_value(v) for v in values]
    assert len(set(escaped)) == len(values)  # injective on these
    assert SLICE_OTHER not in escaped


def test_a_real_other_is_its_own_slice_and_a_real_bracketed_other_is_escaped() -> None:
    counts = SliceCounts(["company"], max_values=2)
    counts.apply(
        [
            OutcomeDelta((("company", "other"),), "tp", 3),
            OutcomeDelta((("company", "(other)"),), "tp", 2),
            OutcomeDelta((("company", "acme"),), "tp", 1),  # over the cap of 2: folded
        ]
    )
    assert counts.counts["company=other"].tp == 3
    assert counts.counts["company=((other))"].tp == 2
    assert counts.counts["company=(other)"].tp == 1
    assert counts.folded_rows == {"company": 1}
    merged = counts.merge(SliceCounts(["company"], max_values=2))
    assert merged.counts["company=other"].tp == 3 and merged.counts["company=(other)"].tp == 1
    assert SliceCounts.from_dict(counts.to_dict()).counts == counts.counts


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (5, "5"),
        ("5", "5"),
        (5.0, "5"),
        (np.int64(5), "5"),
        (np.float64(5.0), "5"),
        (5.5, "5.5"),
        (True, "True"),
        (None, "nan"),
        (float("nan"), "nan"),
        ("eu", "eu"),
    ],
)
def test_one_text_form_of_a_scalar(raw: object, text: str) -> None:
    assert key_text(raw) == text


def test_a_series_gets_the_text_form_of_its_scalars() -> None:
    cases = [
        pd.Series([36.0, np.nan, 12.0]),  # ints read beside a NaN
        pd.Series([36.5, 36.0]),
        pd.Series([5, 6]),
        pd.Series(["5", 5, 5.0, None], dtype=object),
    ]
    for series in cases:
        assert key_texts(series).tolist() == [key_text(v) for v in series.tolist()]
    assert key_texts(pd.Series([36.0, np.nan])).tolist() == ["36", "nan"]


def test_int_slice_values_beside_a_nan_match_the_ints_of_a_clean_batch() -> None:
    gappy = pd.DataFrame({"age": [36.0, np.nan, 36.0], "y": [1, 1, 0], "p": [1, 0, 0]})
    clean = pd.DataFrame({"age": [36, 36], "y": [1, 1], "p": [1, 1]})
    counts = SliceCounts(["age"], known_values={"age": [36.0]})  # a profile read as floats
    for frame in (gappy, clean):
        counts.apply(count_batch(frame, ["age"], "y", "p", 1, 0))
    assert counts.counts["age=36"].to_dict() == {"tp": 3, "fp": 0, "tn": 1, "fn": 0}
    assert "age=36.0" not in counts.counts
    assert counts.counts["age=(other)"].fn == 1  # the missing age is not a fixed slice


def test_min_slice_support_has_one_bound_and_one_message_in_config_and_engine() -> None:
    with pytest.raises(ValueError, match=r"got 0; expected an int >= 1") as config_error:
        SLOConfig(min_slice_support=0)
    with pytest.raises(
        InvalidInputError, match=r"^min_slice_support: got 0; expected an int >= 1$"
    ) as engine_error:
        slice_metrics(SliceCounts(["region"]), min_slice_support=0)
    assert "expected an int >= 1" in str(config_error.value)
    assert str(engine_error.value).endswith("got 0; expected an int >= 1")
    from smote_monitor.slices import Confusion, metrics_of

    with pytest.raises(InvalidInputError, match=r"^min_slice_support: got 0; expected an int"):
        metrics_of("all", Confusion(tp=1), min_slice_support=0)


def test_counts_follow_a_change_of_slice_columns_keeping_totals() -> None:
    old = SliceCounts(["region"])
    old.apply([OutcomeDelta((("region", "eu"),), "tp", 2)])
    new = old.resliced(["region", "device"])
    assert new.columns == ["region", "device"]
    assert new.counts["all"].tp == 2 and new.counts["region=eu"].tp == 2
    # A prediction joined before the change carries no device: it counts in all and region.
    new.apply([OutcomeDelta((("region", "eu"),), "tp", 1)], require_all=False)
    new.apply([OutcomeDelta((("region", "us"), ("device", "ios")), "fn", 1)])
    assert new.counts["all"].to_dict() == {"tp": 3, "fp": 0, "tn": 0, "fn": 1}
    assert new.counts["device=ios"].fn == 1 and new.counts["region=eu"].tp == 3
    assert old.resliced(["device"]).counts["all"].tp == 2
    fixed = old.resliced(["region", "device"], known_values={"device": ["ios"], "region": ["x"]})
    assert fixed.fixed == {"device"} and "device=ios" in fixed.counts  # kept columns keep theirs
    assert "region=eu" not in old.resliced(["device"]).counts
