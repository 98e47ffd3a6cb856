"""Every error message a user can hit, pinned."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import smote_core as sc

from ._data import blobs

OVER_SAMPLERS = [
    sc.SMOTE,
    sc.BorderlineSMOTE,
    sc.ADASYN,
    sc.SMOTETomek,
    sc.SMOTEENN,
]
ALL = [*OVER_SAMPLERS, sc.TomekLinks, sc.EditedNearestNeighbours]


@pytest.fixture
def data():
    return blobs((60, 20), seed=0)


@pytest.mark.parametrize("cls", ALL)
def test_nan_in_X_names_row_and_column(cls, data):
    X, y = data
    X = X.copy()
    X[4, 1] = np.nan
    with pytest.raises(ValueError, match=r"Input X contains NaN \(first at row 4, column 1\)"):
        cls().fit_resample(X, y)


@pytest.mark.parametrize("cls", ALL)
def test_inf_in_X(cls, data):
    X, y = data
    X = X.copy()
    X[7, 2] = -np.inf
    with pytest.raises(ValueError, match=r"Input X contains infinity \(first at row 7, column 2\)"):
        cls().fit_resample(X, y)


def test_nan_in_float32_dataframe(data):
    X, y = data
    frame = pd.DataFrame(X.astype(np.float32), columns=["a", "b", "c"])
    frame.iloc[3, 0] = np.nan
    with pytest.raises(ValueError, match=r"contains NaN \(first at row 3, column 0\)"):
        sc.SMOTE().fit_resample(frame, y)


@pytest.mark.parametrize("cls", ALL)
def test_non_numeric_dataframe_names_columns(cls, data):
    X, y = data
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    frame["colour"] = "red"
    with pytest.raises(
        ValueError,
        match=re.escape(
            f"Input X of {cls.__name__} must be numeric; column(s) ['colour'] are not. "
            "Use SMOTENC for categorical features."
        ),
    ):
        cls().fit_resample(frame, y)


def test_non_numeric_array(data):
    X, y = data
    X = X.astype(object)
    X[0, 0] = "abc"
    with pytest.raises(ValueError, match=r"Input X of SMOTE must be numeric; got dtype object"):
        sc.SMOTE().fit_resample(X, y)


def test_one_dimensional_X(data):
    _, y = data
    with pytest.raises(ValueError, match=r"Expected a 2-dimensional X .* shape \(80,\)"):
        sc.SMOTE().fit_resample(np.zeros(80), y)


@pytest.mark.parametrize("cls", ALL)
def test_length_mismatch(cls, data):
    X, y = data
    with pytest.raises(
        ValueError,
        match=r"inconsistent numbers of samples: X has 80 rows but y has 79",
    ):
        cls().fit_resample(X, y[:-1])


@pytest.mark.parametrize("cls", ALL)
def test_single_class(cls, data):
    X, _ = data
    with pytest.raises(
        ValueError, match=r"The target 'y' needs to have more than 1 class. Got 1 class instead"
    ):
        cls().fit_resample(X, np.zeros(len(X), dtype=int))


def test_continuous_y(data):
    X, _ = data
    with pytest.raises(ValueError, match=r"Unknown label type: y holds continuous values"):
        sc.SMOTE().fit_resample(X, np.linspace(0, 1, len(X)))


def test_missing_labels_in_nullable_y(data):
    X, y = data
    y = pd.Series(y, dtype="Int64")
    y[3] = pd.NA
    with pytest.raises(ValueError, match=r"Input y contains missing values \(1 rows\)"):
        sc.SMOTE().fit_resample(X, y)


@pytest.mark.parametrize(
    ("cls", "param"),
    [
        (sc.SMOTE, "k_neighbors"),
        (sc.BorderlineSMOTE, "k_neighbors"),
        (sc.ADASYN, "n_neighbors"),
    ],
)
def test_too_few_rows_names_class_and_count(cls, param):
    X, y = blobs((50, 4), seed=1)
    with pytest.raises(
        ValueError,
        match=re.escape(
            f"{cls.__name__} needs more rows than {param}=5 in every class it over-samples; "
            f"class 1 has 4 rows. Lower {param} to at most 3"
        ),
    ):
        cls(random_state=0, **{param: 5}).fit_resample(X, y)


def _one_row_class():
    """A 30-row majority and a class 'rare' of a single row, two continuous, one category."""
    rng = np.random.default_rng(3)
    X = pd.DataFrame(
        {
            "a": rng.normal(size=31),
            "b": rng.normal(size=31),
            "colour": pd.Categorical(rng.choice(["red", "blue"], size=31)),
        }
    )
    y = np.array(["common"] * 30 + ["rare"])
    return X, y


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda: sc.SMOTE(random_state=0), "SMOTE"),
        (lambda: sc.SMOTE(k_neighbors=1, random_state=0), "SMOTE"),
        (lambda: sc.BorderlineSMOTE(random_state=0), "BorderlineSMOTE"),
        (lambda: sc.BorderlineSMOTE(k_neighbors=1, random_state=0), "BorderlineSMOTE"),
        (lambda: sc.ADASYN(random_state=0), "ADASYN"),
        (lambda: sc.ADASYN(n_neighbors=1, random_state=0), "ADASYN"),
        (lambda: sc.SMOTENC(["colour"], random_state=0), "SMOTENC"),
        (lambda: sc.SMOTENC(["colour"], k_neighbors=1, random_state=0), "SMOTENC"),
        (lambda: sc.SMOTETomek(random_state=0), "SMOTE"),
        (lambda: sc.SMOTEENN(random_state=0), "SMOTE"),
    ],
    ids=[
        "SMOTE",
        "SMOTE-k1",
        "Borderline",
        "Borderline-k1",
        "ADASYN",
        "ADASYN-k1",
        "SMOTENC",
        "SMOTENC-k1",
        "SMOTETomek",
        "SMOTEENN",
    ],
)
def test_single_row_class_is_too_small_to_interpolate(make, name):
    # Lowering the neighbour count cannot help a class of one row, and 0 is refused anyway,
    # so the message must not suggest "at most 0".
    X, y = _one_row_class()
    sampler = make()
    if name != "SMOTENC":
        X = X[["a", "b"]].to_numpy()
    with pytest.raises(
        ValueError,
        match=re.escape(
            f"{name} cannot interpolate class 'rare': it has 1 row, and a synthetic row lies "
            "between two rows of its class, so a class needs at least 2 rows. Add rows of "
            "class 'rare' or leave it out of sampling_strategy."
        ),
    ) as caught:
        sampler.fit_resample(X, y)
    assert "at most 0" not in str(caught.value)


def test_too_few_rows_string_label():
    X, y = blobs((50, 3), seed=1)
    labels = np.where(y == 0, "common", "rare")
    with pytest.raises(ValueError, match=r"class 'rare' has 3 rows"):
        sc.SMOTE().fit_resample(X, labels)


def test_m_neighbors_above_all_rows():
    X, y = blobs((8, 4), seed=1)
    with pytest.raises(
        ValueError,
        match=re.escape("BorderlineSMOTE needs more rows in X than m_neighbors=20; X has 12 rows."),
    ):
        sc.BorderlineSMOTE(m_neighbors=20, k_neighbors=2).fit_resample(X, y)


def test_enn_neighbours_above_all_rows():
    X, y = blobs((3, 2), seed=1)
    with pytest.raises(
        ValueError,
        match=re.escape(
            "EditedNearestNeighbours needs more rows in X than n_neighbors=5; X has 5 rows."
        ),
    ):
        sc.EditedNearestNeighbours(n_neighbors=5).fit_resample(X, y)


def test_adasyn_without_other_class_neighbours():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 0.1, (50, 2)), rng.normal(100, 0.1, (20, 2))])
    y = np.array([0] * 50 + [1] * 20)
    with pytest.raises(
        ValueError,
        match=r"ADASYN found no row of class 1 with a neighbour of another class among its 5 "
        r"nearest rows, so every weight is 0",
    ):
        sc.ADASYN().fit_resample(X, y)


def test_adasyn_rounds_to_nothing():
    X, y = blobs((60, 40), seed=0)
    with pytest.raises(ValueError, match=r"ADASYN would generate no row for class 1"):
        sc.ADASYN(sampling_strategy={1: 41}).fit_resample(X, y)


@pytest.mark.parametrize(
    ("cls", "params", "message"),
    [
        (
            sc.SMOTE,
            {"k_neighbors": 0},
            "The 'k_neighbors' parameter of SMOTE must be an int in the range [1, inf). "
            "Got 0 instead.",
        ),
        (
            sc.SMOTE,
            {"k_neighbors": 2.5},
            "The 'k_neighbors' parameter of SMOTE must be an int in the range [1, inf). "
            "Got 2.5 instead.",
        ),
        (
            sc.SMOTE,
            {"k_neighbors": True},
            "The 'k_neighbors' parameter of SMOTE must be an int in the range [1, inf). "
            "Got True instead.",
        ),
        (
            sc.SMOTE,
            {"sampling_strategy": "majority"},
            "The 'sampling_strategy' parameter of SMOTE must be a float in the range (0, 1], "
            "a str among {'all', 'auto', 'minority', 'not majority', 'not minority'}, a dict "
            "or a callable. Got 'majority' instead.",
        ),
        (
            sc.SMOTE,
            {"sampling_strategy": 1.5},
            "The 'sampling_strategy' parameter of SMOTE must be a float in the range (0, 1]",
        ),
        (
            sc.SMOTE,
            {"random_state": "seed"},
            "The 'random_state' parameter of SMOTE must be an int in the range [0, 2**63), a "
            "numpy.random.Generator or None. Got 'seed' instead.",
        ),
        (
            sc.SMOTE,
            {"near_duplicate_threshold": -1.0},
            "The 'near_duplicate_threshold' parameter of SMOTE must be a float in the range "
            "[0, inf) or None. Got -1.0 instead.",
        ),
        (
            sc.BorderlineSMOTE,
            {"kind": "borderline-3"},
            "The 'kind' parameter of BorderlineSMOTE must be a str among {'borderline-1', "
            "'borderline-2'}. Got 'borderline-3' instead.",
        ),
        (
            sc.BorderlineSMOTE,
            {"m_neighbors": -1},
            "The 'm_neighbors' parameter of BorderlineSMOTE must be an int in the range "
            "[1, inf). Got -1 instead.",
        ),
        (
            sc.ADASYN,
            {"n_neighbors": "5"},
            "The 'n_neighbors' parameter of ADASYN must be an int in the range [1, inf). "
            "Got '5' instead.",
        ),
        (
            sc.TomekLinks,
            {"sampling_strategy": {0: 10}},
            "The 'sampling_strategy' parameter of TomekLinks must be a str among {'all', "
            "'auto', 'majority', 'not majority', 'not minority'}, a list or a callable. "
            "Got {0: 10} instead.",
        ),
        (
            sc.EditedNearestNeighbours,
            {"kind_sel": "any"},
            "The 'kind_sel' parameter of EditedNearestNeighbours must be a str among {'all', "
            "'mode'}. Got 'any' instead.",
        ),
        (
            sc.SMOTETomek,
            {"smote": "SMOTE"},
            "The 'smote' parameter of SMOTETomek must be a smote_core over-sampler (e.g. "
            "SMOTE(...)) or None. Got 'SMOTE' instead.",
        ),
        (
            sc.SMOTEENN,
            {"enn": sc.TomekLinks()},
            "The 'enn' parameter of SMOTEENN must be an EditedNearestNeighbours or None.",
        ),
    ],
)
def test_bad_parameters(cls, params, message, data):
    X, y = data
    with pytest.raises(sc.InvalidParameterError, match=re.escape(message)):
        cls(**params).fit_resample(X, y)


def test_inner_sampler_parameters_checked(data):
    X, y = data
    with pytest.raises(
        sc.InvalidParameterError, match=r"The 'k_neighbors' parameter of SMOTE must be"
    ):
        sc.SMOTETomek(smote=sc.SMOTE(k_neighbors=0)).fit_resample(X, y)


def test_set_params_unknown_name():
    with pytest.raises(ValueError, match=r"Invalid parameter 'k' for SMOTE; valid parameters"):
        sc.SMOTE().set_params(k=3)


def test_float_strategy_multiclass():
    X, y = blobs((60, 20, 15), seed=0)
    with pytest.raises(
        ValueError,
        match=r"sampling_strategy can be a float only when the target is binary; y has 3 classes",
    ):
        sc.SMOTE(sampling_strategy=0.5).fit_resample(X, y)


def test_float_strategy_below_current_ratio(data):
    X, y = data
    with pytest.raises(
        ValueError,
        match=re.escape(
            "sampling_strategy=0.1 asks for 6 rows of class 1, which already has 20: it would "
            "generate no row. Use a float of at least 0.35."
        ),
    ):
        sc.SMOTE(sampling_strategy=0.1).fit_resample(X, y)


@pytest.mark.parametrize(
    ("strategy", "message"),
    [
        ({5: 100}, "sampling_strategy names class(es) [5] not present in y; y has classes [0, 1]."),
        ({1: -3}, "sampling_strategy[1] must be >= 0 (desired number of rows); got -3."),
        (
            {1: 10},
            "sampling_strategy[1] asks for 10 rows but class 1 already has 20; an over-sampler "
            "can only add rows.",
        ),
        ({1: 30.5}, "sampling_strategy[1] must be an int (desired number of rows); got 30.5."),
    ],
)
def test_dict_strategy_errors(strategy, message, data):
    X, y = data
    with pytest.raises(ValueError, match=re.escape(message)):
        sc.SMOTE(sampling_strategy=strategy).fit_resample(X, y)


def test_callable_strategy_must_return_dict(data):
    X, y = data
    with pytest.raises(
        ValueError, match=r"A callable sampling_strategy must return a dict; got list"
    ):
        sc.SMOTE(sampling_strategy=lambda y: [1]).fit_resample(X, y)


def test_cleaning_list_unknown_class(data):
    X, y = data
    with pytest.raises(ValueError, match=re.escape("sampling_strategy names class(es) [9]")):
        sc.TomekLinks(sampling_strategy=[9]).fit_resample(X, y)


def test_mixed_label_types(data):
    X, _ = data
    y = np.array([0, "a"] * 40, dtype=object)
    with pytest.raises(ValueError, match=r"Input y mixes label types that cannot be ordered"):
        sc.SMOTE().fit_resample(X, y)


class TestSMOTENCErrors:
    @pytest.fixture
    def frame(self):
        X, y = blobs((60, 20), seed=0)
        frame = pd.DataFrame(X, columns=["a", "b", "c"])
        frame["colour"] = np.where(np.arange(80) % 2, "red", "blue")
        return frame, y

    def test_no_categorical(self, frame):
        X, y = frame
        with pytest.raises(ValueError, match=r"SMOTENC needs at least one categorical feature"):
            sc.SMOTENC("auto").fit_resample(X[["a", "b"]], y)

    def test_only_categorical(self, frame):
        X, y = frame
        with pytest.raises(
            ValueError, match=r"SMOTENC needs at least one continuous feature; all 1 features"
        ):
            sc.SMOTENC([0]).fit_resample(X[["colour"]], y)

    def test_index_out_of_range(self, frame):
        X, y = frame
        with pytest.raises(
            ValueError, match=r"categorical_features has index 9 but X has 4 features"
        ):
            sc.SMOTENC([9]).fit_resample(X, y)

    def test_unknown_name(self, frame):
        X, y = frame
        with pytest.raises(
            ValueError, match=re.escape("categorical_features names ['size'], which are not")
        ):
            sc.SMOTENC(["size"]).fit_resample(X, y)

    def test_mask_length(self, frame):
        X, y = frame
        with pytest.raises(ValueError, match=r"one entry per feature \(4\); got 2"):
            sc.SMOTENC([True, False]).fit_resample(X, y)

    def test_auto_needs_dataframe(self, frame):
        X, y = frame
        with pytest.raises(ValueError, match=r"categorical_features='auto' needs a pandas"):
            sc.SMOTENC("auto").fit_resample(X.to_numpy(), y)

    def test_missing_category(self, frame):
        X, y = frame
        X = X.copy()
        X.loc[5, "colour"] = None
        with pytest.raises(
            ValueError,
            match=r"missing values in categorical feature 'colour' \(first at row 5\)",
        ):
            sc.SMOTENC(["colour"]).fit_resample(X, y)

    def test_non_numeric_continuous(self, frame):
        X, y = frame
        X = X.copy()
        X["shape"] = "round"
        with pytest.raises(
            ValueError,
            match=r"non-numeric values in feature 'shape', which is not listed in "
            r"categorical_features",
        ):
            sc.SMOTENC(["colour"]).fit_resample(X, y)

    def test_bad_spec_type(self, frame):
        X, y = frame
        with pytest.raises(
            sc.InvalidParameterError,
            match=r"The 'categorical_features' parameter of SMOTENC must be a str among "
            r"\{'auto'\} or an array-like",
        ):
            sc.SMOTENC(3).fit_resample(X, y)
