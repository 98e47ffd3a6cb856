"""Fixtures for the drift tests: Evidently is imported once per session (it takes seconds)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest


@pytest.fixture(scope="session")
def evidently() -> SimpleNamespace:
    """Evidently 0.7's stattest objects, its automatic choice and its column-type enum."""
    from evidently.legacy.calculations import stattests
    from evidently.legacy.calculations.stattests.registry import get_stattest
    from evidently.legacy.core import ColumnType

    tests = {
        "ks": stattests.ks_stat_test,
        "wasserstein": stattests.wasserstein_stat_test,
        "psi": stattests.psi_stat_test,
        "jensenshannon": stattests.jensenshannon_stat_test,
        "chisquare": stattests.chi_stat_test,
        "z": stattests.z_stat_test,
        "kl_div": stattests.kl_div_stat_test,
        "hellinger": stattests.hellinger_stat_test,
    }
    return SimpleNamespace(tests=tests, get_stattest=get_stattest, ColumnType=ColumnType)
