"""The metric catalog is the one place metric names are spelled."""

from __future__ import annotations

import re
from pathlib import Path

from smote_monitor import conventions
from smote_monitor.conventions import CATALOG, MetricType

ROOT = Path(__file__).resolve().parents[2]

# DESIGN.md's catalog: the names dashboards, alerts and users' queries depend on.
DESIGN_CATALOG = {
    "smote_run_synthetic_ratio": ("gauge", ("dataset",)),
    "smote_run_samples_generated": ("gauge", ("dataset",)),
    "smote_run_validation_gap": ("gauge", ("dataset",)),
    "smote_run_validation_metric": ("gauge", ("dataset", "split", "metric")),
    "smote_run_gate_passed": ("gauge", ("dataset",)),
    "smote_run_duration_seconds": ("gauge", ("dataset",)),
    "smote_run_peak_memory_bytes": ("gauge", ("dataset",)),
    "smote_run_last_timestamp_seconds": ("gauge", ("dataset",)),
    "smote_run_in_progress": ("gauge", ("dataset",)),
    "smote_run_synthetic_near_duplicate_ratio": ("gauge", ("dataset",)),
    "smote_run_neighbor_distance": ("gauge", ("dataset", "quantile")),
    "smote_run_leakage_suspected": ("gauge", ("dataset",)),
    "smote_run_info": ("gauge", ("dataset", "run_id", "variant")),
    "smote_runs_total": ("counter", ("dataset", "outcome")),
    "smote_feature_drift_score": ("gauge", ("dataset", "feature", "method")),
    "smote_feature_drift_detected": ("gauge", ("dataset", "feature")),
    "smote_dataset_drift_share": ("gauge", ("dataset",)),
    "smote_synthetic_shift_score": ("gauge", ("dataset", "feature", "method")),
    "smote_slice_predictions_total": ("counter", ("dataset", "slice", "outcome")),
    "smote_slice_recall": ("gauge", ("dataset", "slice", "window")),
    "smote_slice_precision": ("gauge", ("dataset", "slice", "window")),
    "smote_slice_f1": ("gauge", ("dataset", "slice", "window")),
    "smote_slice_false_positive_rate": ("gauge", ("dataset", "slice", "window")),
    "smote_slice_recall_lower": ("gauge", ("dataset", "slice", "window")),
    "smote_slice_recall_upper": ("gauge", ("dataset", "slice", "window")),
    "smote_slice_support": ("gauge", ("dataset", "slice", "window")),
    "smote_production_rows_total": ("counter", ("dataset",)),
    "smote_production_labeled_rows_total": ("counter", ("dataset",)),
    "smote_drift_last_evaluation_timestamp_seconds": ("gauge", ("dataset",)),
    "smote_monitor_build_info": ("gauge", ("version",)),
    "smote_monitor_store_up": ("gauge", ()),
    "smote_monitor_job_duration_seconds": ("histogram", ("job",)),
    "smote_monitor_job_failures_total": ("counter", ("job",)),
    "smote_monitor_job_last_success_timestamp_seconds": ("gauge", ("job",)),
    "smote_monitor_series_dropped_total": ("counter", ("reason",)),
}


def test_catalog_matches_the_design() -> None:
    actual = {spec.sample_name: (spec.type.value, spec.labels) for spec in CATALOG}
    assert actual == DESIGN_CATALOG


def test_every_metric_has_help_and_counters_are_named_without_total() -> None:
    for spec in CATALOG:
        assert spec.help.strip(), spec.name
        if spec.type is MetricType.COUNTER:
            assert not spec.name.endswith("_total"), spec.name


METRIC_LITERAL = re.compile(
    r"""["'](smote_(?:run|runs|feature|dataset|synthetic|slice|production|"""
    r"""drift|monitor)_[a-z_]+)["']"""
)


def test_no_module_but_the_catalog_spells_a_metric_name() -> None:
    catalog_file = Path(conventions.__file__).resolve()
    names = {spec.name for spec in CATALOG} | {spec.sample_name for spec in CATALOG}
    offenders = []
    for package in ("smote_core", "smote_monitor", "alerts", "dashboards", "benchmarks"):
        for path in (ROOT / package).rglob("*.py"):
            if path.resolve() == catalog_file:
                continue
            for match in METRIC_LITERAL.finditer(path.read_text(encoding="utf-8")):
                if match.group(1) in names or match.group(1).removesuffix("_total") in names:
                    offenders.append(f"{path.relative_to(ROOT)}: {match.group(1)}")
    assert offenders == []
