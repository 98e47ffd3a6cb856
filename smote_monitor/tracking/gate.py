"""The release gate: does a finished run meet its dataset's SLO targets?"""

from __future__ import annotations

from smote_monitor.config import SLOConfig
from smote_monitor.records import GateCheck, GateResult, LeakageResult, RunRecord


def evaluate_gate(record: RunRecord, slo: SLOConfig) -> GateResult:
    """Check the validation gap, the synthetic ratio, validation minority recall/precision, and
    that the leakage check did not flag the run.

    A metric that was not logged fails its check: a release gate that passes on missing evidence
    would wave through exactly the runs nobody validated. Leakage is the exception: it can only
    be checked where the validation rows are (``X_val, y_val``), and a run without them is not
    failed for it; its check says it was not checked.
    """
    validation = record.metrics.get("validation", {})
    low, high = slo.synthetic_ratio
    checks = [
        _at_most(
            "validation_gap",
            record.validation_gap,
            slo.validation_gap_max,
            "train F1 − validation F1 (minority)",
        ),
        _within("synthetic_ratio", record.synthetic_ratio, low, high),
        _at_least(
            "validation_recall",
            validation.get("recall"),
            slo.minority_recall,
            "validation minority recall",
        ),
        _at_least(
            "validation_precision",
            validation.get("precision"),
            slo.minority_precision,
            "validation minority precision",
        ),
        _no_leakage(record.leakage),
    ]
    return GateResult(passed=all(check.passed for check in checks), checks=checks)


LEAKAGE_TARGET = "no synthetic rows or augmented class balance in validation"


def _no_leakage(leakage: LeakageResult | None) -> GateCheck:
    """The seed's first pre-production check: the data was split before augmentation."""
    if leakage is None:
        return GateCheck(
            check="leakage",
            passed=True,
            value=None,
            target=LEAKAGE_TARGET,
            message="leakage not checked: no validation data (X_val, y_val) was given to "
            "track_run or observe_run",
        )
    rows = int(leakage.evidence.get("validation_rows_equal_to_synthetic", 0))
    balance = bool(leakage.evidence.get("validation_balance_matches_augmented"))
    found = f"{rows} validation rows equal synthetic rows" + (
        "; the validation class balance matches the augmented set" if balance else ""
    )
    if leakage.suspected:
        message = f"leakage suspected: {found} (split the data before augmenting it)"
    else:
        message = "no leakage found: no validation row equals a synthetic row"
    return GateCheck(
        check="leakage",
        passed=not leakage.suspected,
        value=float(rows),
        target=LEAKAGE_TARGET,
        message=message,
    )


def _missing(check: str, target: str, what: str) -> GateCheck:
    return GateCheck(
        check=check,
        passed=False,
        value=None,
        target=target,
        message=f"{what} was not logged (target {target})",
    )


def _at_least(check: str, value: float | None, target: float, what: str) -> GateCheck:
    wanted = f">= {target:g}"
    if value is None:
        return _missing(check, wanted, what)
    passed = value >= target
    message = (
        f"{what} {value:.4g} meets {wanted}"
        if passed
        else f"{what} {value:.4g} is below {target:g} by {target - value:.4g}"
    )
    return GateCheck(check=check, passed=passed, value=value, target=wanted, message=message)


def _at_most(check: str, value: float | None, limit: float, what: str) -> GateCheck:
    wanted = f"< {limit:g}"
    if value is None:
        return _missing(check, wanted, what)
    passed = value < limit
    message = (
        f"{what} {value:.4g} is under {limit:g}"
        if passed
        else f"{what} {value:.4g} exceeds {limit:g} by {value - limit:.4g}"
    )
    return GateCheck(check=check, passed=passed, value=value, target=wanted, message=message)


def _within(check: str, value: float | None, low: float, high: float) -> GateCheck:
    wanted = f"in [{low:g}, {high:g}]"
    if value is None:
        return _missing(check, wanted, "synthetic ratio")
    if value < low:
        message, passed = (
            f"synthetic ratio {value:.4g} is below {low:g} by {low - value:.4g}",
            False,
        )
    elif value > high:
        message, passed = (
            f"synthetic ratio {value:.4g} is above {high:g} by {value - high:.4g}",
            False,
        )
    else:
        message, passed = f"synthetic ratio {value:.4g} is {wanted}", True
    return GateCheck(check=check, passed=passed, value=value, target=wanted, message=message)
