"""``smote-executive``: is the model still catching the minority class, and is SMOTE behaving?"""

from __future__ import annotations

from dashboards import panels, queries
from dashboards.panels import BAD, OK, WARN, Query, models, units
from smote_monitor.config import SLOConfig
from smote_monitor.conventions import (
    DASHBOARD_EXECUTIVE_UID,
    DATASET_DRIFT_SHARE,
    LABEL_OUTCOME,
    LABEL_SLICE,
    LABEL_WINDOW,
    RUN_SYNTHETIC_RATIO,
    RUNS,
    SLICE_ALL,
    SLICE_RECALL,
)
from smote_monitor.drift.engine import DEFAULT_DRIFT_SHARE

TITLE = "SMOTE — executive summary"

# Budget left below a quarter: worth a conversation before it is gone.
BUDGET_LOW = 0.25


def recall_all() -> str:
    """Minority recall of the whole dataset in the chosen window."""
    return queries.by_dataset(
        SLICE_RECALL, **{LABEL_SLICE: SLICE_ALL, LABEL_WINDOW: queries.var(queries.VAR_WINDOW)}
    )


def retrain_success_ratio() -> str:
    runs = queries.by_dataset(RUNS)
    passed = queries.by_dataset(RUNS, **{LABEL_OUTCOME: "passed"})
    return (
        f"{queries.sum_by(queries.increase(passed, queries.RANGE))} / "
        f"{queries.sum_by(queries.increase(runs, queries.RANGE))}"
    )


def build(slo: SLOConfig | None = None) -> models.Dashboard:
    slo = slo or SLOConfig()
    low, high = slo.synthetic_ratio
    board = panels.dashboard(
        DASHBOARD_EXECUTIVE_UID,
        TITLE,
        "Minority recall against its SLO, the recall error budget left, production drift and "
        "SMOTE's synthetic ratio, per dataset",
        [panels.dataset_variable(), panels.window_variable()],
    ).time("now-30d", "now")
    board = panels.add(
        board,
        panels.stat_panel(
            "Minority recall",
            f"Recall of the minority class over all slices in the $window window; SLO "
            f"{slo.minority_recall:g}.",
            Query(recall_all()),
            unit=units.PercentUnit,
            thresholds=panels.at_least(slo.minority_recall),
        ),
        panels.stat_panel(
            "Error budget left",
            f"Share of the recall error budget (1 - {slo.minority_recall:g} of minority events "
            "may be missed) left over the dashboard's time range, from the labelled "
            "prediction counters. Below 0: the SLO is breached over the range.",
            Query(queries.error_budget_left(slo.minority_recall), instant=True),
            unit=units.PercentUnit,
            thresholds=panels.steps(BAD, (0, WARN), (BUDGET_LOW, OK)),
        ),
        panels.stat_panel(
            "Drift indicator",
            "Share of features whose latest production window drifted from the training "
            f"reference; the dataset counts as drifted from {DEFAULT_DRIFT_SHARE:g}.",
            Query(queries.by_dataset(DATASET_DRIFT_SHARE)),
            unit=units.PercentUnit,
            thresholds=panels.steps(
                OK, (DEFAULT_DRIFT_SHARE / 2, WARN), (DEFAULT_DRIFT_SHARE, BAD)
            ),
        ),
        panels.stat_panel(
            "Retrain success",
            f"Share of SMOTE runs over the time range that passed their release gate; SLO "
            f"{slo.retrain_success:g}.",
            Query(retrain_success_ratio(), instant=True),
            unit=units.PercentUnit,
            thresholds=panels.at_least(slo.retrain_success),
        ),
        panels.ratio_timeseries(
            "Minority recall trend",
            f"Recall over all slices in the $window window; the dashed line is the SLO "
            f"({slo.minority_recall:g}).",
            [Query(recall_all(), legend="recall ($window)")],
            thresholds=panels.at_least(slo.minority_recall),
        ),
        panels.ratio_timeseries(
            "Synthetic ratio over time",
            "Synthetic rows / rows of the augmented training set, latest finished run; the "
            f"shaded band {low:g}-{high:g} is the SLO.",
            [Query(queries.by_dataset(RUN_SYNTHETIC_RATIO), legend="synthetic ratio")],
            thresholds=panels.within(low, high),
        ),
        panels.ratio_timeseries(
            "Features drifted",
            "Share of features drifted in each production window against the training reference.",
            [Query(queries.by_dataset(DATASET_DRIFT_SHARE), legend="drift share")],
            thresholds=panels.steps(OK, (DEFAULT_DRIFT_SHARE, BAD)),
        ),
        panels.timeseries_panel(
            "Recall error budget burn rate (1d)",
            "How fast missed minority events spend the budget: 1 spends it exactly over the SLO "
            "period, above 1 it runs out early.",
            [Query(queries.burn_rate("1d", slo.minority_recall), legend="burn rate 1d")],
            unit=panels.BURN_RATE_UNIT,
            thresholds=panels.at_most(1),
            minimum=0,
        ),
    )
    return panels.finish(board)
