"""The metric catalog is the one place metric names are spelled."""

from __future__ import annotations

import ast
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
    # The sidecar issue adds these two: a corrected label is counted under its new outcome plus
    # a correction, and a quarantined production file is "counted in a metric".
    "smote_slice_label_corrections_total": ("counter", ("dataset",)),
    "smote_production_files_quarantined_total": ("counter", ("dataset",)),
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


METRIC_TOKEN = re.compile(
    r"(?<![A-Za-z0-9_])smote_(?:run|runs|feature|dataset|synthetic|slice|production|drift|monitor)"
    r"_[a-z0-9_]*"
)
SAMPLE_SUFFIXES = ("_total", "_bucket", "_count", "_sum", "_created")
GENERATED = re.compile(r"generated\W+do not edit", re.IGNORECASE)
"""The stamp of rendered artifacts (rule YAML, dashboard JSON): built from the catalog."""
CATALOG_NAMES = frozenset({spec.name for spec in CATALOG} | {spec.sample_name for spec in CATALOG})


def _spells_a_metric(token: str) -> bool:
    """A catalog name, one of its samples, or the start of one being assembled
    (``f"smote_run_{x}"``)."""
    if token in CATALOG_NAMES or any(
        token.endswith(suffix) and token.removesuffix(suffix) in CATALOG_NAMES
        for suffix in SAMPLE_SUFFIXES
    ):
        return True
    return token.endswith("_") and any(name.startswith(token) for name in CATALOG_NAMES)


def _python_strings(source: str) -> list[str]:
    """Every string literal of a module, f-string parts included; docstrings are prose (like
    comments) and may name a metric."""
    tree = ast.parse(source)
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]


def metric_names_spelled(text: str, *, python: bool) -> list[str]:
    """Metric names spelled in ``text``: inside any string of Python source, anywhere in other
    text (PromQL, YAML, JSON)."""
    chunks = _python_strings(text) if python else [text]
    return [
        match.group(0)
        for chunk in chunks
        for match in METRIC_TOKEN.finditer(chunk)
        if _spells_a_metric(match.group(0))
    ]


def test_the_scan_finds_metric_names_anywhere_inside_strings() -> None:
    code = (
        '"""Docstrings may explain smote_runs_total."""\n'
        "# and so may comments: smote_runs_total\n"
        "QUERY = 'rate(smote_runs_total[5m])'\n"
        "def gauge(x):\n"
        '    return f"smote_run_{x}"\n'
        "RATIO = 'smote_run_synthetic_ratio'\n"
        "WRITE = 'smote_monitor_write'  # not a metric\n"
    )
    assert sorted(metric_names_spelled(code, python=True)) == [
        "smote_run_",
        "smote_run_synthetic_ratio",
        "smote_runs_total",
    ]
    rules = "expr: histogram_quantile(0.9, rate(smote_monitor_job_duration_seconds_bucket[5m]))"
    assert metric_names_spelled(rules, python=False) == [
        "smote_monitor_job_duration_seconds_bucket"
    ]


def _scanned_files() -> list[Path]:
    catalog_file = Path(conventions.__file__).resolve()
    files = []
    for package in ("smote_core", "smote_monitor", "alerts", "dashboards", "benchmarks"):
        for path in sorted((ROOT / package).rglob("*")):
            relative = path.relative_to(ROOT)
            if (
                not path.is_file()
                or path.resolve() == catalog_file
                or "__pycache__" in relative.parts
                or "tests" in relative.parts  # tests pin names on purpose
                or (
                    path.suffix != ".py"
                    and package not in ("smote_monitor", "alerts", "dashboards")
                )
            ):
                continue
            files.append(path)
    return files


def test_no_module_but_the_catalog_spells_a_metric_name() -> None:
    offenders = []
    scanned = _scanned_files()
    assert ROOT / "smote_monitor" / "example-config.yaml" in scanned
    for path in scanned:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # binary
        if path.suffix != ".py" and GENERATED.search(text):
            continue  # rendered from the catalog; a test compares it with the generators
        for name in metric_names_spelled(text, python=path.suffix == ".py"):
            offenders.append(f"{path.relative_to(ROOT)}: {name}")
    assert offenders == []
