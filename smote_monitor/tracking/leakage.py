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
    return shares_of(class_counts(y))


def shares_of(counts: dict[str, int]) -> dict[str, float]:
    """Each class's share of ``counts`` (as :func:`class_counts` gives them)."""
    total = sum(counts.values())
    return {label: count / total for label, count in counts.items()} if total else {}


def _total_variation(a: dict[str, float], b: dict[str, float]) -> float:
    return 0.5 * sum(abs(a.get(k, 0.0) - b.get(k, 0.0)) for k in set(a) | set(b))


def columns_differ(n_train: int, n_val: int) -> str | None:
    """Why validation rows cannot be compared with training rows, or None when they can."""
    if n_train == n_val:
        return None
    return f"validation has {n_val} columns, training has {n_train}"


def check_leakage(
    X_real: Any, y_real: Any, X_augmented: Any, y_augmented: Any, X_val: Any, y_val: Any
) -> LeakageResult:
    """Flag a run whose validation set contains synthetic rows, or whose validation class
    balance matches the augmented balance rather than the real one."""
    val_hashes = row_hashes(X_val)
    skipped = columns_differ(np.shape(X_real)[1], np.shape(X_val)[1])
    if skipped is not None:
        equal_rows = np.zeros(len(val_hashes), dtype=bool)
    else:
        synthetic = np.setdiff1d(row_hashes(X_augmented), row_hashes(X_real))
        equal_rows = np.isin(val_hashes, synthetic)
    return leakage_finding(
        equal_rows, skipped, class_counts(y_real), class_counts(y_augmented), y_val
    )


def leakage_finding(
    equal_rows: np.ndarray,
    skipped: str | None,
    counts_real: dict[str, int],
    counts_augmented: dict[str, int],
    y_val: Any,
) -> LeakageResult:
    """The leakage result from which validation rows equal a synthetic row (``equal_rows``, one
    flag per validation row; all False when the row check was ``skipped``, and why) and the
    class counts of the real and augmented training sets, wherever those were computed."""
    evidence: dict[str, Any] = {}
    if skipped is not None:
        evidence["row_check_skipped"] = skipped
    n_equal = int(equal_rows.sum())
    evidence["validation_rows_equal_to_synthetic"] = n_equal
    evidence["example_validation_rows"] = np.flatnonzero(equal_rows)[:MAX_EXAMPLES].tolist()

    real, augmented, validation = (
        shares_of(counts_real),
        shares_of(counts_augmented),
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
