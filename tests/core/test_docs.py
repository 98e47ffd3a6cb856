"""The doctest example of every public class runs and prints what its docstring says."""

from __future__ import annotations

import doctest
import re

import pytest

import smote_core as sc


@pytest.mark.parametrize("name", sc.__all__)
def test_public_names_are_documented(name):
    # A dataclass without a docstring gets one made from its signature, "Name(field: type,
    # ...)", long enough to pass a length check: it must be a written one, opening with a
    # summary sentence (numpydoc).
    doc = (getattr(sc, name).__doc__ or "").strip()
    assert not re.fullmatch(rf"{name}\(.*\)", doc, flags=re.DOTALL), doc[:80]
    summary = doc.split("\n\n")[0]
    assert len(summary) > 20 and summary.endswith("."), summary
    assert len(doc) > 40


@pytest.mark.parametrize(
    "name",
    [
        "SMOTE",
        "BorderlineSMOTE",
        "ADASYN",
        "SMOTENC",
        "SMOTETomek",
        "SMOTEENN",
        "TomekLinks",
        "EditedNearestNeighbours",
    ],
)
def test_class_doctest(name):
    obj = getattr(sc, name)
    assert ">>>" in obj.__doc__
    finder = doctest.DocTestFinder(recurse=False)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(obj, name, globs={}):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.attempted > 0 and result.failed == 0


def test_smotenc_many_categories_stays_small():
    # imbalanced-learn#768: one-hot encoding a high-cardinality feature blew up memory; here
    # categories are compared as codes, so 5,000 categories cost nothing extra.
    import numpy as np

    rng = np.random.default_rng(0)
    n = 6000
    X = np.empty((n, 3), dtype=object)
    X[:, 0] = rng.normal(size=n)
    X[:, 1] = rng.normal(size=n)
    X[:, 2] = rng.integers(0, 5000, n).astype(str)
    y = (rng.random(n) < 0.2).astype(int)
    sampler = sc.SMOTENC([2], random_state=0)
    X_res, y_res = sampler.fit_resample(X, y)
    assert np.bincount(y_res)[0] == np.bincount(y_res)[1]
    assert set(X_res[n:, 2]) <= set(X[:, 2])
    assert sampler.report_.peak_memory_bytes < 200 * 1024 * 1024
