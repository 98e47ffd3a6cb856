"""Burn-rate factors stay feasible at any objective: no threshold can be >= 1."""

from __future__ import annotations

import pytest

from alerts.burnrate import MAX_THRESHOLD, POLICIES, Policy, burn_rate_alerts, feasible_factor

OBJECTIVES = (0.50, 0.80, 0.90, 0.95, 0.99, 0.999)

# (objective, policy) -> [(severity, long, short, factor, threshold, budget share)]
EXPECTED = {
    (0.50, "seed"): [
        ("page", "1h", "5m", 1.8, 0.9, 0.0025),
        ("ticket", "1d", "2h", 1.0, 0.5, 0.033333),
    ],
    (0.80, "seed"): [
        ("page", "1h", "5m", 2.0, 0.4, 0.002778),
        ("ticket", "1d", "2h", 1.0, 0.2, 0.033333),
    ],
    (0.999, "seed"): [
        ("page", "1h", "5m", 2.0, 0.002, 0.002778),
        ("ticket", "1d", "2h", 1.0, 0.001, 0.033333),
    ],
    (0.50, "multiwindow"): [
        ("page", "1h", "5m", 1.8, 0.9, 0.0025),
        ("page", "6h", "30m", 1.8, 0.9, 0.015),
        ("ticket", "1d", "2h", 1.8, 0.9, 0.06),
        ("ticket", "3d", "6h", 1.0, 0.5, 0.1),
    ],
    (0.80, "multiwindow"): [
        ("page", "1h", "5m", 4.5, 0.9, 0.00625),
        ("page", "6h", "30m", 4.5, 0.9, 0.0375),
        ("ticket", "1d", "2h", 3.0, 0.6, 0.1),
        ("ticket", "3d", "6h", 1.0, 0.2, 0.1),
    ],
    (0.90, "multiwindow"): [
        ("page", "1h", "5m", 9.0, 0.9, 0.0125),
        ("page", "6h", "30m", 6.0, 0.6, 0.05),
        ("ticket", "1d", "2h", 3.0, 0.3, 0.1),
        ("ticket", "3d", "6h", 1.0, 0.1, 0.1),
    ],
    (0.95, "multiwindow"): [
        ("page", "1h", "5m", 14.4, 0.72, 0.02),
        ("page", "6h", "30m", 6.0, 0.3, 0.05),
        ("ticket", "1d", "2h", 3.0, 0.15, 0.1),
        ("ticket", "3d", "6h", 1.0, 0.05, 0.1),
    ],
    (0.99, "multiwindow"): [
        ("page", "1h", "5m", 14.4, 0.144, 0.02),
        ("page", "6h", "30m", 6.0, 0.06, 0.05),
        ("ticket", "1d", "2h", 3.0, 0.03, 0.1),
        ("ticket", "3d", "6h", 1.0, 0.01, 0.1),
    ],
}


@pytest.mark.parametrize("policy", sorted(POLICIES))
@pytest.mark.parametrize("objective", OBJECTIVES)
def test_every_threshold_is_feasible_and_no_factor_exceeds_the_nominal(
    objective: float, policy: Policy
) -> None:
    tiers = burn_rate_alerts(objective, policy)
    assert [t.nominal_factor for t in tiers] == [t.factor for t in POLICIES[policy]]
    for tier in tiers:
        assert 0 < tier.threshold <= MAX_THRESHOLD < 1
        assert tier.factor <= tier.nominal_factor
        assert tier.threshold == pytest.approx(tier.factor * (1 - objective), abs=1e-6)
        # Capped only when the nominal factor would have passed the ceiling, and then to the
        # largest two-decimal factor that stays under it.
        assert tier.capped == (tier.nominal_factor * (1 - objective) > MAX_THRESHOLD + 1e-9)
        if tier.capped:
            assert (tier.factor + 0.01) * (1 - objective) > MAX_THRESHOLD
            assert "capped to the largest feasible factor" in tier.describe()


@pytest.mark.parametrize(("objective", "policy"), sorted(EXPECTED))
def test_the_chosen_factors_thresholds_and_budget_shares(objective: float, policy: Policy) -> None:
    got = [
        (t.severity, t.long_window, t.short_window, t.factor, t.threshold, t.budget_share)
        for t in burn_rate_alerts(objective, policy)
    ]
    assert got == EXPECTED[(objective, policy)]


def test_the_textbook_factors_cannot_fire_at_recall_080_so_they_are_capped() -> None:
    assert 14.4 * 0.2 >= 1 and 6 * 0.2 >= 1
    assert feasible_factor(14.4, 0.80) == feasible_factor(6.0, 0.80) == 4.5
    assert feasible_factor(3.0, 0.80) == 3.0


def test_the_extremes_stay_feasible() -> None:
    assert [t.threshold for t in burn_rate_alerts(1.0, "multiwindow")] == [0, 0, 0, 0]
    assert [t.threshold for t in burn_rate_alerts(0.0, "seed")] == [0.9, 0.9]
