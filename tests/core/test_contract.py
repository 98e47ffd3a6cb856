"""Class counts equal imbalanced-learn 0.14's for every sampler, input kind and strategy."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pandas as pd
import pytest
from imblearn import combine as imb_combine
from imblearn import over_sampling as imb_over
from imblearn import under_sampling as imb_under

import smote_core as sc

from ._data import blobs

OVER = {
    "SMOTE": (lambda **kw: sc.SMOTE(**kw), lambda **kw: imb_over.SMOTE(**kw)),
    "Borderline-1": (
        lambda **kw: sc.BorderlineSMOTE(kind="borderline-1", **kw),
        lambda **kw: imb_over.BorderlineSMOTE(kind="borderline-1", **kw),
    ),
    "Borderline-2": (
        lambda **kw: sc.BorderlineSMOTE(kind="borderline-2", **kw),
        lambda **kw: imb_over.BorderlineSMOTE(kind="borderline-2", **kw),
    ),
    "ADASYN": (lambda **kw: sc.ADASYN(**kw), lambda **kw: imb_over.ADASYN(**kw)),
}

MULTI_STRATEGIES: dict[str, Any] = {
    "auto": "auto",
    "minority": "minority",
    "not minority": "not minority",
    "not majority": "not majority",
    "all": "all",
    "dict": {1: 90, 2: 70},
    "callable": lambda y: {1: int(np.sum(y == 1)) * 2, 2: int(np.sum(y == 2)) + 30},
}
BINARY_STRATEGIES: dict[str, Any] = {"float": 0.6, "auto": "auto", "float-1": 1.0}


def as_kind(X: np.ndarray, y: np.ndarray, kind: str, dtype: Any) -> tuple[Any, Any]:
    X = X.astype(dtype)
    if kind == "numpy":
        return X, y
    if kind == "list":
        return X.tolist(), y.tolist()
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    return frame, pd.Series(y, name="target")


def counts(y: Any) -> dict[Any, int]:
    return dict(Counter(np.asarray(y).tolist()))


def cases() -> list[Any]:
    out = []
    for name in OVER:
        for sname, strategy in MULTI_STRATEGIES.items():
            out.append(pytest.param(name, strategy, (120, 40, 25), id=f"{name}-{sname}"))
        for sname, strategy in BINARY_STRATEGIES.items():
            out.append(pytest.param(name, strategy, (120, 30), id=f"{name}-binary-{sname}"))
    return out


@pytest.mark.parametrize("seed", [0, 7])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kind", ["numpy", "pandas", "list"])
@pytest.mark.parametrize(("name", "strategy", "sizes"), cases())
def test_over_sampler_counts_match_imblearn(name, strategy, sizes, kind, dtype, seed):
    X, y = blobs(sizes, seed=seed)
    ours, theirs = OVER[name]
    Xi, yi = as_kind(X, y, kind, dtype)
    X_res, y_res = ours(sampling_strategy=strategy, random_state=seed).fit_resample(Xi, yi)
    _, y_ref = theirs(sampling_strategy=strategy, random_state=seed).fit_resample(
        X.astype(dtype), y
    )
    assert counts(y_res) == counts(y_ref)
    assert len(X_res) == len(y_res)
    # Originals first, unchanged and in order.
    head = np.asarray(X_res)[: len(y)]
    np.testing.assert_array_equal(head, X.astype(dtype))
    np.testing.assert_array_equal(np.asarray(y_res)[: len(y)], y)
    if kind == "pandas":
        assert isinstance(X_res, pd.DataFrame) and list(X_res.columns) == list(Xi.columns)
        assert (X_res.dtypes == Xi.dtypes).all()
        assert isinstance(y_res, pd.Series) and y_res.name == "target"
    else:
        # A list of Python floats is float64 whatever it was built from.
        assert isinstance(X_res, np.ndarray)
        assert X_res.dtype == (np.float64 if kind == "list" else dtype)


@pytest.mark.parametrize("seed", [0, 3])
@pytest.mark.parametrize(
    "strategy", ["auto", "all", {1: 80, 2: 50}, lambda y: {2: int(np.sum(y == 2)) * 3}]
)
@pytest.mark.parametrize("kind", ["numpy", "pandas"])
def test_smotenc_counts_match_imblearn(strategy, kind, seed):
    X, y = blobs((100, 35, 20), seed=seed)
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    frame["colour"] = rng.choice(["red", "green", "blue"], len(y))
    frame["size"] = rng.integers(0, 4, len(y))
    X_in: Any = frame if kind == "pandas" else frame.to_numpy(dtype=object)
    sampler = sc.SMOTENC([3, 4], sampling_strategy=strategy, random_state=seed)
    X_res, y_res = sampler.fit_resample(X_in, y)
    ref = imb_over.SMOTENC([3, 4], sampling_strategy=strategy, random_state=seed)
    _, y_ref = ref.fit_resample(frame, y)
    assert counts(y_res) == counts(y_ref)
    out = X_res if kind == "pandas" else pd.DataFrame(X_res, columns=frame.columns)
    assert set(out["colour"]) <= {"red", "green", "blue"}
    assert set(out["size"]) <= {0, 1, 2, 3}
    if kind == "pandas":
        assert (X_res.dtypes == frame.dtypes).all()


CLEAN_STRATEGIES = [
    "auto",
    "majority",
    "not minority",
    "not majority",
    "all",
    [0, 2],
    lambda y: [1],
]


@pytest.mark.parametrize("strategy", CLEAN_STRATEGIES)
@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (
            lambda s: sc.TomekLinks(sampling_strategy=s),
            lambda s: imb_under.TomekLinks(sampling_strategy=s),
        ),
        (
            lambda s: sc.EditedNearestNeighbours(sampling_strategy=s),
            lambda s: imb_under.EditedNearestNeighbours(sampling_strategy=s),
        ),
        (
            lambda s: sc.EditedNearestNeighbours(
                sampling_strategy=s, kind_sel="mode", n_neighbors=5
            ),
            lambda s: imb_under.EditedNearestNeighbours(
                sampling_strategy=s, kind_sel="mode", n_neighbors=5
            ),
        ),
    ],
    ids=["tomek", "enn-all", "enn-mode"],
)
@pytest.mark.parametrize("kind", ["numpy", "pandas", "list"])
def test_cleaner_counts_match_imblearn(ours, theirs, strategy, kind):
    X, y = blobs((120, 40, 25), seed=2)
    Xi, yi = as_kind(X, y, kind, np.float64)
    sampler = ours(strategy)
    X_res, y_res = sampler.fit_resample(Xi, yi)
    # imblearn 0.14 rejects every callable for cleaners (it expects a dict, then refuses
    # dicts); ours accepts one returning a list, compared with that list.
    ref_strategy = strategy(y) if callable(strategy) else strategy
    _, y_ref = theirs(ref_strategy).fit_resample(X, y)
    assert counts(y_res) == counts(y_ref)
    kept = sampler.sample_indices_
    np.testing.assert_array_equal(np.asarray(X_res), X[kept])
    assert np.all(np.diff(kept) > 0)
    assert sampler.report_.n_removed == len(y) - len(kept)


@pytest.mark.parametrize("seed", [0, 5])
@pytest.mark.parametrize("strategy", ["auto", "all", {1: 70, 2: 60}])
@pytest.mark.parametrize(
    ("ours", "theirs", "cleaner"),
    [
        (
            sc.SMOTETomek,
            imb_combine.SMOTETomek,
            lambda: imb_under.TomekLinks(sampling_strategy="all"),
        ),
        (
            sc.SMOTEENN,
            imb_combine.SMOTEENN,
            lambda: imb_under.EditedNearestNeighbours(sampling_strategy="all"),
        ),
    ],
    ids=["SMOTETomek", "SMOTEENN"],
)
@pytest.mark.parametrize("kind", ["numpy", "pandas"])
def test_combined_matches_smote_then_imblearn_cleaner(ours, theirs, cleaner, strategy, seed, kind):
    X, y = blobs((120, 40, 25), seed=seed)
    Xi, yi = as_kind(X, y, kind, np.float64)
    sampler = ours(sampling_strategy=strategy, random_state=seed)
    X_res, y_res = sampler.fit_resample(Xi, yi)
    # The over-sampling stage targets what imblearn's does...
    ref = theirs(sampling_strategy=strategy, random_state=seed)
    ref.fit_resample(X, y)
    assert sampler.sampling_strategy_ == dict(ref.smote_.sampling_strategy_)
    # ...and the cleaning removes what imblearn's cleaner removes from the same SMOTE output.
    X_s, y_s = sc.SMOTE(sampling_strategy=strategy, random_state=seed).fit_resample(X, y)
    _, y_ref = cleaner().fit_resample(X_s, y_s)
    assert counts(y_res) == counts(y_ref)
    report = sampler.report_
    assert report.n_removed == len(y_s) - len(y_res)
    assert report.n_synthetic == len(sampler.provenance_)
    prov = sampler.provenance_
    expected = X[prov.parent] + prov.gap[:, None] * (X[prov.neighbor] - X[prov.parent])
    np.testing.assert_allclose(np.asarray(X_res)[prov.row], expected, rtol=1e-12, atol=1e-12)


def test_parameter_names_are_read_from_the_signature_once(monkeypatch):
    # A fit asks for its parameters twice; inspect.signature cost ~0.1 ms each time.
    import inspect

    class Tuned(sc.SMOTE):
        def __init__(self, *, k_neighbors: int = 3) -> None:
            super().__init__(k_neighbors=k_neighbors)

    calls = []
    real = inspect.signature
    monkeypatch.setattr(inspect, "signature", lambda f, **kw: calls.append(f) or real(f, **kw))
    sampler = Tuned()
    for _ in range(3):
        assert sampler.get_params() == {"k_neighbors": 3}
    assert calls == [Tuned.__init__]
