"""The "SMOTE before the split" check: did synthetic rows, or their balance, reach validation?"""

from __future__ import annotations

from typing import Any

import numpy as np

from smote_monitor.records import LeakageResult
from smote_monitor.tracking.resampling import class_counts, row_hashes

MAX_EXAMPLES = 5
MIN_BALANCE_DIFFERENCE = 0.05
"""Real and augmented class balance must differ by at least this much (total variation) before a
validation balance can be said to look like one rather than the other."""


def class_shares(y: Any) -> dict[str, float]:
    counts = class_counts(y)
    total = sum(counts.values())
    return {label: count / total for label, count in counts.items()} if total else {}


def _total_variation(a: dict[str, float], b: dict[str, float]) -> float:
    return 0.5 * sum(abs(a.get(k, 0.0) - b.get(k, 0.0)) for k in set(a) | set(b))


def check_leakage(
    X_real: Any, y_real: Any, X_augmented: Any, y_augmented: Any, X_val: Any, y_val: Any
) -> LeakageResult:
    """Flag a run whose validation set contains synthetic rows, or whose validation class
    balance matches the augmented balance rather than the real one."""
    evidence: dict[str, Any] = {}
    real_hashes = row_hashes(X_real)
    augmented_hashes = row_hashes(X_augmented)
    val_hashes = row_hashes(X_val)
    n_cols = (np.shape(X_real)[1], np.shape(X_val)[1])
    if n_cols[0] != n_cols[1]:
        evidence["row_check_skipped"] = (
            f"validation has {n_cols[1]} columns, training has {n_cols[0]}"
        )
        equal_rows = np.zeros(len(val_hashes), dtype=bool)
    else:
        synthetic = np.setdiff1d(augmented_hashes, real_hashes)
        equal_rows = np.isin(val_hashes, synthetic)
    n_equal = int(equal_rows.sum())
    evidence["validation_rows_equal_to_synthetic"] = n_equal
    evidence["example_validation_rows"] = np.flatnonzero(equal_rows)[:MAX_EXAMPLES].tolist()

    real, augmented, validation = (
        class_shares(y_real),
        class_shares(y_augmented),
        class_shares(y_val),
    )
    to_real, to_augmented = (
        _total_variation(validation, real),
        _total_variation(validation, augmented),
    )
    balance_suspect = (
        _total_variation(real, augmented) >= MIN_BALANCE_DIFFERENCE and to_augmented < to_real
    )
    evidence.update(
        class_share_real=real,
        class_share_augmented=augmented,
        class_share_validation=validation,
        validation_balance_matches_augmented=balance_suspect,
    )
    return LeakageResult(suspected=bool(n_equal) or balance_suspect, evidence=evidence)
