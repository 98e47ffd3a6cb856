"""``smote-oncall``: which slice is failing its SLO, what is firing, and are the jobs healthy?"""

from __future__ import annotations

from dashboards import panels, queries
from dashboards.panels import BAD, OK, WARN, Query, models, units
from dashboards.queries import Regex, var
from smote_monitor.config import DatasetConfig, SLOConfig, duration_seconds
from smote_monitor.conventions import (
    DASHBOARD_ONCALL_UID,
    DRIFT_LAST_EVALUATION_TIMESTAMP_SECONDS,
    LABEL_JOB,
    LABEL_OUTCOME,
    LABEL_SLICE,
    LABEL_WINDOW,
    MONITOR_JOB_DURATION_SECONDS,
    MONITOR_JOB_FAILURES,
    MONITOR_JOB_LAST_SUCCESS_TIMESTAMP_SECONDS,
    MONITOR_STORE_UP,
    RUNS,
    SLICE_PRECISION,
    SLICE_RECALL,
    SLICE_RECALL_LOWER,
    SLICE_RECALL_UPPER,
    SLICE_SUPPORT,
    MetricSpec,
)

TITLE = "SMOTE — on-call"

# DESIGN.md's default paging policy: page when the budget burns faster than 2x.
PAGE_BURN_RATE = 2.0
# A job or an evaluation older than this many default evaluation periods is late.
LATE_PERIODS = 3


def per_slice(spec: MetricSpec) -> str:
    """The SLI gauge of the chosen slices and window."""
    matchers: dict[str, queries.MatcherValue] = {
        LABEL_SLICE: Regex(var(queries.VAR_SLICE)),
        LABEL_WINDOW: var(queries.VAR_WINDOW),
    }
    return queries.by_dataset(spec, **matchers)


def build(slo: SLOConfig | None = None) -> models.Dashboard:
    slo = slo or SLOConfig()
    late = LATE_PERIODS * duration_seconds(DatasetConfig().evaluate_every)
    board = panels.dashboard(
        DASHBOARD_ONCALL_UID,
        TITLE,
        "Per-slice recall and precision against their SLOs, recall budget burn, firing "
        "smote-monitor alerts, recent SMOTE runs and the monitor's job health",
        [
            panels.dataset_variable(),
            panels.slice_variable(),
            panels.window_variable(),
            panels.report_base_url_variable(),
        ],
    )
    board = board.with_row(panels.row("SLIs per slice ($window)"))
    board = panels.add(
        board,
        panels.ratio_timeseries(
            "Minority recall per slice",
            f"Recall per slice; the dashed line is the SLO ({slo.minority_recall:g}).",
            [Query(per_slice(SLICE_RECALL), legend="{{slice}}")],
            thresholds=panels.at_least(slo.minority_recall),
        ),
        panels.ratio_timeseries(
            "Minority precision per slice",
            f"Precision per slice; the dashed line is the SLO ({slo.minority_precision:g}).",
            [Query(per_slice(SLICE_PRECISION), legend="{{slice}}")],
            thresholds=panels.at_least(slo.minority_precision),
        ),
        panels.ratio_timeseries(
            "Recall 95 % Wilson interval per slice",
            "A slice is below its SLO for sure when the upper bound is under the line; a wide "
            "interval means too few labelled minority rows to tell.",
            [
                Query(per_slice(SLICE_RECALL_LOWER), legend="{{slice}} lower"),
                Query(per_slice(SLICE_RECALL_UPPER), legend="{{slice}} upper"),
            ],
            thresholds=panels.at_least(slo.minority_recall),
        ),
        panels.timeseries_panel(
            "Labelled minority rows per slice",
            f"Support behind each slice's SLIs; slice alerts need {slo.min_slice_support}.",
            [Query(per_slice(SLICE_SUPPORT), legend="{{slice}}")],
            unit=units.Short,
            thresholds=panels.at_least(slo.min_slice_support),
            minimum=0,
        ),
    )

    board = board.with_row(panels.row("Recall error budget"))
    board = board.with_panel(
        panels.timeseries_panel(
            "Burn rate, whole dataset",
            f"Missed minority events / (1 - {slo.minority_recall:g}) over each window, from the "
            f"labelled prediction counters: 1 spends the budget exactly, {PAGE_BURN_RATE:g} "
            "pages.",
            [
                Query(queries.burn_rate(window, slo.minority_recall), legend=f"{window}")
                for window in queries.BURN_RATE_WINDOWS
            ],
            unit=panels.BURN_RATE_UNIT,
            thresholds=panels.steps(OK, (1, WARN), (PAGE_BURN_RATE, BAD)),
            minimum=0,
        )
    ).with_panel(
        panels.timeseries_panel(
            "Burn rate per slice (1h)",
            "The same burn rate per chosen slice over the last hour.",
            [
                Query(
                    queries.burn_rate(
                        "1h", slo.minority_recall, Regex(var(queries.VAR_SLICE)), (LABEL_SLICE,)
                    ),
                    legend="{{slice}}",
                )
            ],
            unit=panels.BURN_RATE_UNIT,
            thresholds=panels.steps(OK, (1, WARN), (PAGE_BURN_RATE, BAD)),
            minimum=0,
        )
    )

    board = board.with_row(panels.row("Alerts and runs"))
    board = (
        board.with_panel(
            panels.table_panel(
                "Firing alerts",
                "smote-monitor's alerts firing now (Prometheus's ALERTS series).",
                [Query(queries.firing_alerts(), instant=True, table=True)],
                transformations=[
                    panels.transformation(
                        "organize",
                        {"excludeByName": {"Time": True, "Value": True, "__name__": True}},
                    )
                ],
                width=24,
            )
        )
        .with_panel(panels.recent_runs_table())
        .with_panel(
            panels.timeseries_panel(
                "SMOTE runs by outcome",
                "Runs finished per interval: passed, gate_failed (gate not met or leakage "
                "suspected), error.",
                [
                    Query(
                        queries.sum_by(
                            queries.increase(queries.by_dataset(RUNS), queries.INTERVAL),
                            (LABEL_OUTCOME,),
                        ),
                        legend="{{outcome}}",
                    )
                ],
                unit=units.Short,
                minimum=0,
                bars=True,
                height=5,
            )
        )
    )

    board = board.with_row(panels.row("Monitor job health"))
    board = panels.add(
        board,
        panels.stat_panel(
            "Store reachable",
            "1 when the last scrape could read the store.",
            Query(queries.selector(MONITOR_STORE_UP, {})),
            unit=units.NoUnit,
            thresholds=panels.steps(BAD, (1, OK)),
        ),
        panels.stat_panel(
            "Last evaluation",
            f"Time since the dataset's latest successful evaluation; late after {late} s.",
            Query(queries.since(DRIFT_LAST_EVALUATION_TIMESTAMP_SECONDS)),
            unit=units.Seconds,
            thresholds=panels.at_most(late),
        ),
        panels.timeseries_panel(
            "Job failures (1h)",
            "Failed runs of each scheduled job over the last hour.",
            [
                Query(
                    queries.sum_by(
                        queries.increase(queries.selector(MONITOR_JOB_FAILURES, {}), "1h"),
                        (LABEL_JOB,),
                    ),
                    legend="{{job}}",
                )
            ],
            unit=units.Short,
            thresholds=panels.at_most(1),
            minimum=0,
            width=12,
        ),
        panels.timeseries_panel(
            "Time since each job's last success",
            f"Seconds since each scheduled job last succeeded; late after {late} s.",
            [
                Query(
                    queries.since(MONITOR_JOB_LAST_SUCCESS_TIMESTAMP_SECONDS),
                    legend="{{job}}",
                )
            ],
            unit=units.Seconds,
            thresholds=panels.at_most(late),
            minimum=0,
        ),
        panels.timeseries_panel(
            "Job duration p90",
            "90th percentile of each scheduled job's duration.",
            [
                Query(
                    queries.histogram_quantile(0.9, MONITOR_JOB_DURATION_SECONDS, (LABEL_JOB,)),
                    legend="{{job}}",
                )
            ],
            unit=units.Seconds,
            minimum=0,
        ),
    )
    return panels.finish(board)
