"""Reference profiles of a training set held as a Dask DataFrame equal those of the same rows in
memory: kinds, exact values and counts, categories in order, sketches bin for bin."""

from __future__ import annotations

from typing import Any

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

from smote_monitor.drift import ProfileSettings, build_profiles, compute_drift
from smote_monitor.errors import InvalidInputError
from smote_monitor.evaluation.partitioned import profiles_on_dask


def _training(n: int = 8000, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    amount = rng.lognormal(3, 1, n)
    amount[rng.random(n) < 0.01] = np.nan
    amount[rng.random(n) < 0.005] = np.inf
    return pd.DataFrame(
        {
            "amount": amount,
            "rounded": np.round(amount[np.isfinite(amount)].mean() + rng.normal(0, 5, n), 1),
            "children": rng.integers(0, 4, n),  # few distinct ints: categorical, inferred
            "age": rng.integers(18, 90, n),  # many distinct ints: numeric, inferred
            "device": rng.choice(["web", "ios", "android"], n),
        }
    )


def _comparable(profile: Any) -> dict[str, Any]:
    data = profile.to_dict()
    for key in ("mean", "m2"):  # merged pairwise: equal up to the last bits only
        data.pop(key, None)
    return data


@pytest.mark.parametrize(
    ("settings", "npartitions"),
    [(ProfileSettings(), 1), (ProfileSettings(), 6), (ProfileSettings(exact_cap=1000), 6)],
    ids=["exact, 1 partition", "exact, 6 partitions", "sketch, 6 partitions"],
)
def test_profiles_equal_those_of_the_rows_in_memory(
    client: Any, settings: ProfileSettings, npartitions: int
) -> None:
    frame = _training()
    one = build_profiles(frame, categorical=["device"], settings=settings)
    on_dask = profiles_on_dask(
        dd.from_pandas(frame, npartitions=npartitions, sort=False),
        client,
        categorical=["device"],
        settings=settings,
    )
    assert list(on_dask) == list(one)
    assert {n: p.kind.value for n, p in on_dask.items()} == {
        "amount": "numeric",
        "rounded": "numeric",
        "children": "categorical",
        "age": "numeric",
        "device": "categorical",
    }
    assert {n: _comparable(p) for n, p in on_dask.items()} == {
        n: _comparable(p) for n, p in one.items()
    }
    for name in ("amount", "rounded"):
        assert on_dask[name].mean == pytest.approx(one[name].mean, rel=1e-12)
    if settings.exact_cap == 1000:
        assert on_dask["amount"].mode == "sketch"
    # A production window compared with either reference gets the same drift.
    window = build_profiles(_training(3000, seed=9), categorical=["device"])
    window = {n: window[n] for n in one}
    mine, theirs = compute_drift(one, window), compute_drift(on_dask, window)
    assert [(r.method, r.drifted) for r in theirs.features] == [
        (r.method, r.drifted) for r in mine.features
    ]
    if settings.exact_cap == 1000:
        # A sketch's Wasserstein distance is normalised by the reference's standard deviation,
        # from m2, which a merge may change in its last bits: equal to rounding, same verdicts.
        for r_theirs, r_mine in zip(theirs.features, mine.features, strict=True):
            assert r_theirs.value == pytest.approx(r_mine.value, rel=1e-12, abs=1e-15)
    else:
        assert [r.value for r in theirs.features] == [r.value for r in mine.features]


def test_a_column_without_a_finite_value_is_refused_by_name(client: Any) -> None:
    frame = _training(400)
    frame["amount"] = np.nan
    with pytest.raises(InvalidInputError, match=r"features\.amount: got '400 rows, all NaN"):
        profiles_on_dask(dd.from_pandas(frame, npartitions=3), client)
