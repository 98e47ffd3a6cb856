"""Small data sets shared by the smote_core tests."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def blobs(
    sizes: tuple[int, ...] = (120, 40, 25), n_features: int = 3, seed: int = 0
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Overlapping Gaussian classes (so borderline and ADASYN have work to do)."""
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(0.7 * i, 1.0, (n, n_features)) for i, n in enumerate(sizes)])
    y = np.concatenate([np.full(n, i, dtype=np.int64) for i, n in enumerate(sizes)])
    order = rng.permutation(len(y))
    return X[order], y[order]
