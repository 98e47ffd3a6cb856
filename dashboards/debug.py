"""``smote-debug``: why — which features drifted, what SMOTE did to the training data, where the
errors are, and the run reports."""

from __future__ import annotations

from dashboards import panels, queries
from dashboards.panels import OK, WARN, Query, models, units
from dashboards.queries import Regex, var
from smote_monitor.config import SLOConfig
from smote_monitor.conventions import (
    CONFUSION_OUTCOMES,
    DASHBOARD_DEBUG_UID,
    FEATURE_DRIFT_DETECTED,
    FEATURE_DRIFT_SCORE,
    LABEL_FEATURE,
    LABEL_OUTCOME,
    LABEL_SLICE,
    RUN_DURATION_SECONDS,
    RUN_LEAKAGE_SUSPECTED,
    RUN_NEIGHBOR_DISTANCE,
    RUN_PEAK_MEMORY_BYTES,
    RUN_SAMPLES_GENERATED,
    RUN_SYNTHETIC_NEAR_DUPLICATE_RATIO,
    RUN_VALIDATION_GAP,
    SYNTHETIC_SHIFT_SCORE,
    MetricSpec,
)

TITLE = "SMOTE — debugging"

# One synthetic row in a hundred sitting on a real one is worth a look (privacy); the paging
# threshold belongs to the alert rules.
NEAR_DUPLICATE_WARN = 0.01
# Drift and shift scores mix p-values and distances (per the feature's method): one neutral colour.
NEUTRAL = "blue"
FEATURE_LEGEND = "{{feature}} ({{method}})"


def per_feature(spec: MetricSpec) -> str:
    return queries.by_dataset(spec, **{LABEL_FEATURE: Regex(var(queries.VAR_FEATURE))})


def confusion_counts() -> str:
    """Labelled predictions per slice and outcome over the dashboard's time range."""
    counter = queries.predictions(CONFUSION_OUTCOMES, Regex(var(queries.VAR_SLICE)))
    return queries.sum_by(queries.increase(counter, queries.RANGE), (LABEL_SLICE, LABEL_OUTCOME))


def build(slo: SLOConfig | None = None) -> models.Dashboard:
    slo = slo or SLOConfig()
    board = panels.dashboard(
        DASHBOARD_DEBUG_UID,
        TITLE,
        "Drift per feature, how far SMOTE moved each feature, interpolation distances and "
        "near-duplicates, per-slice confusion counts, run resources and links to run reports",
        [
            panels.dataset_variable(),
            panels.slice_variable(),
            panels.feature_variable(FEATURE_DRIFT_SCORE),
            panels.report_base_url_variable(),
        ],
    )
    board = board.with_row(panels.row("Production drift"))
    board = panels.add(
        board,
        panels.timeseries_panel(
            "Drift score per feature",
            "Latest production window against the training reference; the method (Evidently's "
            "default for the feature) says whether it is a p-value or a distance.",
            [Query(per_feature(FEATURE_DRIFT_SCORE), legend=FEATURE_LEGEND)],
            unit=units.NoUnit,
            thresholds=panels.steps(NEUTRAL),
            minimum=0,
        ),
        panels.timeseries_panel(
            "Features flagged as drifted",
            "1 while the feature's latest window drifted.",
            [Query(per_feature(FEATURE_DRIFT_DETECTED), legend="{{feature}}")],
            unit=units.NoUnit,
            thresholds=panels.steps(OK, (1, WARN)),
            minimum=0,
            maximum=1,
            bars=True,
        ),
    )

    board = board.with_row(panels.row("What SMOTE did (latest run)"))
    board = panels.add(
        board,
        panels.bar_gauge_panel(
            "Synthetic shift pre/post SMOTE",
            "How far SMOTE moved each feature: augmented vs real training data.",
            Query(per_feature(SYNTHETIC_SHIFT_SCORE), legend=FEATURE_LEGEND, instant=True),
            unit=units.NoUnit,
            thresholds=panels.steps(NEUTRAL),
        ),
        panels.timeseries_panel(
            "Neighbour distances",
            "Quantiles of the distance between the interpolation pairs of each run.",
            [Query(queries.by_dataset(RUN_NEIGHBOR_DISTANCE), legend="q{{quantile}}")],
            unit=units.NoUnit,
            minimum=0,
        ),
        panels.ratio_timeseries(
            "Synthetic near-duplicates",
            "Share of synthetic rows closer than the threshold to a real row (privacy signal).",
            [
                Query(
                    queries.by_dataset(RUN_SYNTHETIC_NEAR_DUPLICATE_RATIO),
                    legend="near-duplicate ratio",
                )
            ],
            thresholds=panels.steps(OK, (NEAR_DUPLICATE_WARN, WARN)),
        ),
        panels.timeseries_panel(
            "Validation gap and leakage",
            f"Train minority F1 - validation minority F1; the dashed line is the SLO "
            f"({slo.validation_gap_max:g}). Leakage is 1 when synthetic rows reached validation.",
            [
                Query(queries.by_dataset(RUN_VALIDATION_GAP), legend="validation gap"),
                Query(queries.by_dataset(RUN_LEAKAGE_SUSPECTED), legend="leakage suspected"),
            ],
            unit=units.NoUnit,
            thresholds=panels.at_most(slo.validation_gap_max),
        ),
    )

    board = board.with_row(panels.row("Where the errors are"))
    board = board.with_panel(
        panels.table_panel(
            "Confusion counts per slice",
            "Labelled production predictions over the time range, by slice and outcome.",
            [Query(confusion_counts(), instant=True, table=True)],
            transformations=[
                panels.transformation(
                    "groupingToMatrix",
                    {"columnField": LABEL_OUTCOME, "rowField": LABEL_SLICE, "valueField": "Value"},
                )
            ],
            width=24,
        )
    )

    board = board.with_row(panels.row("Run resources and reports"))
    board = panels.add(
        board,
        panels.timeseries_panel(
            "Resampling duration",
            "Wall time of resampling in each finished run.",
            [Query(queries.by_dataset(RUN_DURATION_SECONDS), legend="duration")],
            unit=units.Seconds,
            minimum=0,
            width=8,
        ),
        panels.timeseries_panel(
            "Peak memory",
            "Peak memory of resampling in each finished run.",
            [Query(queries.by_dataset(RUN_PEAK_MEMORY_BYTES), legend="peak memory")],
            unit=units.BytesIEC,
            minimum=0,
            width=8,
        ),
        panels.timeseries_panel(
            "Synthetic rows generated",
            "Rows SMOTE added in each finished run.",
            [Query(queries.by_dataset(RUN_SAMPLES_GENERATED), legend="synthetic rows")],
            unit=units.Short,
            minimum=0,
            width=8,
        ),
        panels.recent_runs_table(width=24),
    )
    return panels.finish(board)
