"""Burn-rate tiers of the minority-recall SLO, with factors that can actually fire.

The error ratio of minority recall is ``fn / (tp + fn)``; its budget is ``1 - objective``. A tier
alerts when the error ratio over its long window (confirmed by its short window) exceeds
``factor x budget``. The ratio can never exceed 1, so a threshold at or above 1 is an alert that
cannot fire: at a recall objective of 0.80 the textbook 14.4x and 6x tiers would ask for 288 % and
120 % of minority events missed. Such a tier gets the largest feasible factor instead: the one
whose threshold is :data:`MAX_THRESHOLD` (the alert fires once at least 90 % of the minority class
is missed), rounded down to two decimals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from smote_monitor.config import duration_seconds
from smote_monitor.conventions import SEVERITY_PAGE, SEVERITY_TICKET

Policy = Literal["seed", "multiwindow"]

SLO_PERIOD = "30d"
"""The period the error budget is spent over (budget shares are quoted against it)."""

MAX_THRESHOLD = 0.9
"""The highest error-ratio threshold emitted: a tier whose nominal threshold is higher is capped
to it, so every tier can fire while the model still catches up to a tenth of the minority class."""


@dataclass(frozen=True, slots=True)
class Tier:
    """A nominal tier of a policy: burn ``factor`` over ``long_window``, confirmed by
    ``short_window``."""

    severity: str
    factor: float
    long_window: str
    short_window: str


POLICIES: dict[str, tuple[Tier, ...]] = {
    # The seed's policy: "if SLO burn rate > 2x baseline over 1 hour escalate; otherwise ticket
    # for 24-hour review".
    "seed": (
        Tier(SEVERITY_PAGE, 2.0, "1h", "5m"),
        Tier(SEVERITY_TICKET, 1.0, "1d", "2h"),
    ),
    # The multiwindow, multi-burn-rate set of the Google SRE workbook (chapter 5).
    "multiwindow": (
        Tier(SEVERITY_PAGE, 14.4, "1h", "5m"),
        Tier(SEVERITY_PAGE, 6.0, "6h", "30m"),
        Tier(SEVERITY_TICKET, 3.0, "1d", "2h"),
        Tier(SEVERITY_TICKET, 1.0, "3d", "6h"),
    ),
}

WINDOWS: tuple[str, ...] = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
"""Windows the recording rules cover: every policy's windows (and the dashboards' burn rates)."""


@dataclass(frozen=True, slots=True)
class BurnRateAlert:
    """One tier as emitted: the factor actually used, its threshold and what it means."""

    severity: str
    long_window: str
    short_window: str
    nominal_factor: float
    factor: float
    threshold: float
    """Error ratio (share of minority events missed) above which the tier fires; always < 1."""
    budget_share: float
    """Share of the :data:`SLO_PERIOD` budget spent when the tier fires after one long window."""

    @property
    def capped(self) -> bool:
        return self.factor != self.nominal_factor

    def describe(self) -> str:
        """One line, as the command prints it and the rule files quote it."""
        text = (
            f"{self.severity} at {_num(self.factor)}x over {self.long_window} (confirmed over "
            f"{self.short_window}): error ratio > {_num(self.threshold)}, "
            f"{self.budget_share:.2%} of the {SLO_PERIOD} budget"
        )
        if self.capped:
            text += (
                f"; {_num(self.nominal_factor)}x would need a threshold >= "
                f"{_num(MAX_THRESHOLD)}, capped to the largest feasible factor"
            )
        return text


def error_budget(objective: float) -> float:
    """``1 - objective``, without the float noise (1 - 0.8 is 0.19999999999999996)."""
    return round(1.0 - objective, 9)


def feasible_factor(nominal: float, objective: float) -> float:
    """``nominal`` when its threshold is at most :data:`MAX_THRESHOLD`, else the largest factor
    (two decimals, rounded down) whose threshold is."""
    budget = error_budget(objective)
    if budget == 0.0 or nominal * budget <= MAX_THRESHOLD:
        return nominal
    return math.floor(round(MAX_THRESHOLD / budget * 100, 6)) / 100


def burn_rate_alerts(objective: float, policy: Policy) -> tuple[BurnRateAlert, ...]:
    """The policy's tiers for a recall objective, every threshold feasible (< 1)."""
    budget = error_budget(objective)
    period = duration_seconds(SLO_PERIOD)
    alerts = []
    for tier in POLICIES[policy]:
        factor = feasible_factor(tier.factor, objective)
        threshold = round(factor * budget, 6)
        assert threshold < 1.0, (objective, tier)
        alerts.append(
            BurnRateAlert(
                severity=tier.severity,
                long_window=tier.long_window,
                short_window=tier.short_window,
                nominal_factor=tier.factor,
                factor=factor,
                threshold=threshold,
                budget_share=round(factor * duration_seconds(tier.long_window) / period, 6),
            )
        )
    return tuple(alerts)


def _num(value: float) -> str:
    """Shortest exact spelling: 0.4, 14.4, 268435456 (not 2.68435e+08)."""
    return f"{value:.12g}"
