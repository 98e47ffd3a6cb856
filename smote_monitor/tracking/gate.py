"""The release gate: does a finished run meet its dataset's SLO targets?"""

from __future__ import annotations

from smote_monitor.config import SLOConfig
from smote_monitor.records import GateCheck, GateResult, RunRecord


def evaluate_gate(record: RunRecord, slo: SLOConfig) -> GateResult:
    """Check the validation gap, the synthetic ratio and validation minority recall/precision.

    A metric that was not logged fails its check: a release gate that passes on missing evidence
    would wave through exactly the runs nobody validated.
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
    ]
    return GateResult(passed=all(check.passed for check in checks), checks=checks)


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
