"""The pure generator: alert model in, Prometheus rule groups (plain dicts) out.

Every metric name comes from :mod:`smote_monitor.conventions`. Two habits hold throughout:

- Series are first collapsed with ``max by (<the family's catalog labels>)``: several replicas
  sharing one store export identical values, and the scrape's own labels (instance, pod) must not
  split an alert into one per replica or double a sum.
- A slice is judged only on enough evidence: every slice alert requires ``min_slice_support``
  minority events (or false positives, for the false-positive rate) in its window.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from alerts.burnrate import SLO_PERIOD, WINDOWS, BurnRateAlert, error_budget
from alerts.model import (
    FALSE_POSITIVE_RISE_FACTOR,
    NEAR_DUPLICATE_RATIO_MAX,
    RESOURCE_HISTORY,
    RESOURCE_SPIKE_FACTOR,
    RETRAIN_SUCCESS_WINDOW,
    RUN_DURATION_FLOOR_SECONDS,
    RUN_MEMORY_FLOOR_BYTES,
    SYNTHETIC_SHIFT_WINDOW,
    AlertModel,
    DatasetAlerts,
)
from smote_monitor import conventions as c
from smote_monitor.conventions import MetricSpec

Rule = dict[str, Any]
Group = dict[str, Any]

MONITOR_FILE = f"{c.RULE_GROUP_PREFIX}.rules.yml"
"""The rule file of the monitor's own health (no dataset)."""

SHIFT_STEP = "5m"
"""Step of the synthetic-ratio shift subquery: a run's new ratio minus the value one step before."""
SLICE_FOR = "15m"
"""How long a gauge-based slice condition must hold (three evaluations at the default 5m)."""

CAUSE_RECALL = "minority_recall"
CAUSE_PRECISION = "minority_precision"
CAUSE_FALSE_POSITIVES = "false_positives"
CAUSE_RETRAIN = "retrain"
CAUSE_SYNTHETIC = "synthetic_data"
CAUSE_DRIFT = "drift"
CAUSE_PRIVACY = "privacy"
CAUSE_DATA = "production_data"
CAUSE_MONITOR = "monitor"

_OUTCOME_POSITIVES = "tp|fn"  # labelled minority rows
_OUTCOME_NEGATIVES = "fp|tn"


def dataset_file(dataset: str) -> str:
    return f"{dataset}.rules.yml"


def rule_files(model: AlertModel) -> dict[str, list[Group]]:
    """Rule groups per file: one file per dataset, one for the monitor itself."""
    files = {MONITOR_FILE: [monitor_group(model)]}
    for dataset in model.datasets:
        files[dataset_file(dataset.name)] = dataset_groups(model, dataset)
    return files


def alert_names(files: dict[str, list[Group]]) -> list[str]:
    """Every alert name the files define, each once, in order of appearance."""
    names = [
        rule["alert"]
        for groups in files.values()
        for group in groups
        for rule in group["rules"]
        if "alert" in rule
    ]
    return list(dict.fromkeys(names))


# --- names of the recording rules ----------------------------------------------------------------


def recorded(metric: str, operation: str, window: str) -> str:
    """``level:metric:operations`` (Prometheus naming practice)."""
    return f"{c.RECORDING_LEVEL_SLICE}:{metric}:{operation}{window}"


def minority_events_rate(window: str) -> str:
    """Labelled minority rows (tp + fn) per second: the support of recall."""
    return recorded(c.SLICE_SUPPORT.name, "rate", window)


def recall_error_ratio(window: str) -> str:
    """fn / (tp + fn): the share of minority events the model missed."""
    return recorded(f"{c.SLICE_RECALL.name}_errors", "ratio_rate", window)


def false_positive_ratio(window: str) -> str:
    """fp / (fp + tn)."""
    return recorded(c.SLICE_FALSE_POSITIVE_RATE.name, "ratio_rate", window)


# --- PromQL helpers ------------------------------------------------------------------------------


def _selector(name: str, dataset: str | None = None, **matchers: str) -> str:
    parts = [f'{c.LABEL_DATASET}="{dataset}"'] if dataset is not None else []
    for label, value in matchers.items():
        op = "=~" if "|" in value else "="
        parts.append(f'{label}{op}"{value}"')
    return f"{name}{{{','.join(parts)}}}" if parts else name


def _by(labels: Iterable[str]) -> str:
    return f"by ({', '.join(labels)})"


def _gauge(
    spec: MetricSpec,
    dataset: str | None = None,
    *,
    offset: str | None = None,
    by: tuple[str, ...] | None = None,
) -> str:
    """The family's value per catalog label set (replicas collapsed), or its maximum ``by``
    fewer labels."""
    inner = _selector(spec.sample_name, dataset)
    if offset is not None:
        inner += f" offset {offset}"
    return f"max {_by(spec.labels if by is None else by)} ({inner})"


def _slice_sum(function: str, dataset: str, outcomes: str, window: str) -> str:
    """``function`` (rate or increase) of the slice counters, summed over ``outcomes``."""
    counters = c.SLICE_PREDICTIONS
    inner = _selector(counters.sample_name, dataset, **{c.LABEL_OUTCOME: outcomes})
    return (
        f"sum {_by((c.LABEL_DATASET, c.LABEL_SLICE))} "
        f"(max {_by(counters.labels)} ({function}({inner}[{window}])))"
    )


def _ratio(dataset: str, part: str, rest: str, window: str) -> str:
    """rate(part) / rate(part|rest); 0 (not missing) when the ``part`` series do not exist."""
    numerator = _slice_sum("rate", dataset, part, window)
    fallback = _slice_sum("rate", dataset, rest, window)
    denominator = _slice_sum("rate", dataset, f"{part}|{rest}", window)
    return f"(\n  {numerator}\n  or 0 * {fallback}\n)\n/\n{denominator}"


def _num(value: float) -> str:
    """Shortest exact spelling: 0.4, 14.4, 268435456 (not 2.68435e+08)."""
    return f"{value:.12g}"


def _alert(
    name: str,
    expr: str,
    *,
    model: AlertModel,
    severity: str,
    cause: str,
    summary: str,
    description: str,
    for_: str | None = None,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> Rule:
    rule: Rule = {"alert": name, "expr": expr}
    if for_ is not None:
        rule["for"] = for_
    rule["labels"] = {
        c.ALERT_LABEL_SEVERITY: severity,
        c.ALERT_LABEL_CAUSE: cause,
        **(labels or {}),
    }
    rule["annotations"] = {
        "summary": summary,
        "description": description,
        **(annotations or {}),
        "runbook_url": model.runbook_url(name),
    }
    return rule


# --- the dataset's groups ------------------------------------------------------------------------


def dataset_groups(model: AlertModel, dataset: DatasetAlerts) -> list[Group]:
    prefix = f"{c.RULE_GROUP_PREFIX}-{dataset.name}"
    return [
        {"name": f"{prefix}-slice-sli", "rules": list(sli_recordings(model, dataset))},
        {"name": f"{prefix}-slo", "rules": list(slo_alerts(model, dataset))},
        {"name": f"{prefix}-runs", "rules": list(run_alerts(model, dataset))},
        {"name": f"{prefix}-data", "rules": list(data_alerts(model, dataset))},
    ]


def sli_recordings(model: AlertModel, dataset: DatasetAlerts) -> Iterable[Rule]:
    """Rates per nominal window (the names), over the model's span of it (the ranges)."""
    name = dataset.name
    for window in WINDOWS:
        span = model.span(window)
        yield {
            "record": minority_events_rate(window),
            "expr": _slice_sum("rate", name, _OUTCOME_POSITIVES, span),
        }
        yield {"record": recall_error_ratio(window), "expr": _ratio(name, "fn", "tp", span)}
        yield {"record": false_positive_ratio(window), "expr": _ratio(name, "fp", "tn", span)}


def burn_rate_rule(model: AlertModel, dataset: DatasetAlerts, tier: BurnRateAlert) -> Rule:
    name = dataset.name
    threshold = _num(tier.threshold)
    long_ratio = _selector(recall_error_ratio(tier.long_window), name)
    short_ratio = _selector(recall_error_ratio(tier.short_window), name)
    events = _selector(minority_events_rate(tier.long_window), name)
    seconds = model.seconds(tier.long_window)
    expr = (
        f"(\n  {long_ratio} > {threshold}\nand\n  {short_ratio} > {threshold}\n)\n"
        f"and\n  {events} * {seconds} >= {dataset.min_slice_support}"
    )
    budget = error_budget(dataset.minority_recall)
    return _alert(
        c.ALERT_MINORITY_RECALL_BUDGET_BURN,
        expr,
        model=model,
        severity=tier.severity,
        cause=CAUSE_RECALL,
        labels={"long_window": tier.long_window, "short_window": tier.short_window},
        summary=(
            "Minority recall of {{ $labels.dataset }} (slice {{ $labels.slice }}) is burning its "
            f"error budget at more than {_num(tier.factor)}x over {tier.long_window}"
        ),
        description=(
            "{{ $value | humanizePercentage }} of minority events were missed over "
            f"{tier.long_window} (and over {tier.short_window}); the threshold is "
            f"{_num(tier.threshold)}, {_num(tier.factor)}x the error budget {_num(budget)} of "
            f"the recall objective {_num(dataset.minority_recall)}. At this rate "
            f"{tier.budget_share:.2%} of the {SLO_PERIOD} budget goes every {tier.long_window}. "
            f"The slice had at least {dataset.min_slice_support} minority events in "
            f"{tier.long_window}."
        ),
        annotations={"burn_rate": tier.describe()},
    )


def slo_alerts(model: AlertModel, dataset: DatasetAlerts) -> Iterable[Rule]:
    name = dataset.name
    for tier in dataset.burn_rates:
        yield burn_rate_rule(model, dataset, tier)

    slice_labels = c.SLICE_SUPPORT.labels
    supported = f"{_gauge(c.SLICE_SUPPORT, name)} >= {dataset.min_slice_support}"
    objective = _num(dataset.minority_recall)
    yield _alert(
        c.ALERT_SLICE_RECALL_BELOW_SLO,
        f"{_gauge(c.SLICE_RECALL_UPPER, name)} < {objective}\n"
        f"and on ({', '.join(slice_labels)})\n{supported}",
        model=model,
        for_=model.span(SLICE_FOR),
        severity=c.SEVERITY_TICKET,
        cause=CAUSE_RECALL,
        summary=(
            "Minority recall of {{ $labels.dataset }} slice {{ $labels.slice }} is below its "
            "objective over {{ $labels.window }}"
        ),
        description=(
            "Even the upper bound of the 95% Wilson interval of recall is "
            "{{ $value | humanize }}, below the objective "
            f"{objective}, over the {{{{ $labels.window }}}} window with at least "
            f"{dataset.min_slice_support} labelled minority rows."
        ),
    )

    precision = _num(dataset.minority_precision)
    yield _alert(
        c.ALERT_MINORITY_PRECISION_BELOW_SLO,
        f"{_gauge(c.SLICE_PRECISION, name)} < {precision}\n"
        f"and on ({', '.join(slice_labels)})\n{supported}",
        model=model,
        for_=model.span(SLICE_FOR),
        severity=c.SEVERITY_TICKET,
        cause=CAUSE_PRECISION,
        summary=(
            "Minority precision of {{ $labels.dataset }} slice {{ $labels.slice }} is below its "
            "objective over {{ $labels.window }}"
        ),
        description=(
            "Precision is {{ $value | humanize }}, below the objective "
            f"{precision}, over the {{{{ $labels.window }}}} window with at least "
            f"{dataset.min_slice_support} labelled minority rows."
        ),
    )

    factor = _num(FALSE_POSITIVE_RISE_FACTOR)
    false_positives = _slice_sum("increase", name, "fp", model.span("1h"))
    yield _alert(
        c.ALERT_FALSE_POSITIVE_RATE_RISING,
        f"{_selector(false_positive_ratio('1h'), name)}\n"
        f"  > {factor} * {_selector(false_positive_ratio('1d'), name)}\n"
        f"and\n{false_positives} >= {dataset.min_slice_support}",
        model=model,
        for_=model.span(SLICE_FOR),
        severity=c.SEVERITY_TICKET,
        cause=CAUSE_FALSE_POSITIVES,
        summary=(
            "False positive rate of {{ $labels.dataset }} slice {{ $labels.slice }} rose over "
            "the last hour"
        ),
        description=(
            "The false positive rate over 1h is {{ $value | humanizePercentage }}, more than "
            f"{factor}x its rate over 1d, with at least {dataset.min_slice_support} false "
            "positives in the hour."
        ),
    )


def run_alerts(model: AlertModel, dataset: DatasetAlerts) -> Iterable[Rule]:
    name = dataset.name
    gap = _num(dataset.validation_gap_max)
    yield _alert(
        c.ALERT_VALIDATION_GAP_HIGH,
        f"{_gauge(c.RUN_VALIDATION_GAP, name)} > {gap}",
        model=model,
        severity=c.SEVERITY_TICKET,
        cause=CAUSE_RETRAIN,
        summary="The latest SMOTE run of {{ $labels.dataset }} overfits: validation gap too high",
        description=(
            "Train minority F1 minus validation minority F1 is {{ $value | humanize }}, above "
            f"the maximum {gap} (synthetic rows may be teaching the model what validation "
            "data does not show)."
        ),
    )

    low, high = (_num(bound) for bound in dataset.synthetic_ratio)
    ratio = _gauge(c.RUN_SYNTHETIC_RATIO, name)
    yield _alert(
        c.ALERT_SYNTHETIC_RATIO_OUT_OF_RANGE,
        f"{ratio} < {low}\nor\n{ratio} > {high}",
        model=model,
        severity=c.SEVERITY_TICKET,
        cause=CAUSE_SYNTHETIC,
        summary="The latest SMOTE run of {{ $labels.dataset }} has a synthetic ratio out of range",
        description=(
            "Synthetic rows make up {{ $value | humanizePercentage }} of the augmented training "
            f"set; the allowed range is [{low}, {high}]."
        ),
    )

    shift = _num(dataset.synthetic_shift_max)
    step = model.span(SHIFT_STEP)
    change = f"{ratio}\n  - {_gauge(c.RUN_SYNTHETIC_RATIO, name, offset=step)}"
    yield _alert(
        c.ALERT_SYNTHETIC_RATIO_SHIFT,
        # A finished run replaces the gauge's value: at the step after it lands, value minus the
        # value one step earlier is the change between consecutive runs (0 between runs). The
        # subquery keeps the largest such change of the last day in view, so the alert stays
        # up for a day after the run and resolves by itself.
        f"max_over_time(\n  abs(\n  {change}\n  )[{model.span(SYNTHETIC_SHIFT_WINDOW)}:{step}]\n)"
        f" > {shift}",
        model=model,
        severity=c.SEVERITY_TICKET,
        cause=CAUSE_SYNTHETIC,
        summary="The synthetic ratio of {{ $labels.dataset }} jumped between consecutive runs",
        description=(
            "The synthetic ratio changed by {{ $value | humanize }} from one run to the next "
            f"within the last {SYNTHETIC_SHIFT_WINDOW}; more than {shift} (a quarter of the "
            f"allowed range [{low}, {high}]) means the sampling strategy or the class balance "
            "changed."
        ),
    )

    yield _alert(
        c.ALERT_RETRAIN_GATE_FAILING,
        f"{_gauge(c.RUN_GATE_PASSED, name)} == 0",
        model=model,
        severity=c.SEVERITY_TICKET,
        cause=CAUSE_RETRAIN,
        summary="The latest SMOTE run of {{ $labels.dataset }} failed its release gate",
        description=(
            "The gate value is {{ $value }} (1 = passed): the run's validation metrics missed "
            f"the objectives (recall {_num(dataset.minority_recall)}, precision "
            f"{_num(dataset.minority_precision)}, gap <= {gap}) or leakage was suspected."
        ),
    )

    runs = c.RUNS
    window = RETRAIN_SUCCESS_WINDOW
    span = model.span(window)

    def runs_increase(outcome: str | None = None) -> str:
        matchers = {c.LABEL_OUTCOME: outcome} if outcome is not None else {}
        inner = _selector(runs.sample_name, name, **matchers)
        return f"sum {_by((c.LABEL_DATASET,))} (max {_by(runs.labels)} (increase({inner}[{span}])))"

    success = _num(dataset.retrain_success)
    yield _alert(
        c.ALERT_RETRAIN_SUCCESS_RATE_LOW,
        f"(\n  {runs_increase('passed')}\n  or 0 * {runs_increase()}\n)\n/\n{runs_increase()}"
        f"\n< {success}",
        model=model,
        severity=c.SEVERITY_TICKET,
        cause=CAUSE_RETRAIN,
        summary=f"Too few SMOTE runs of {{{{ $labels.dataset }}}} passed in the last {window}",
        description=(
            f"{{{{ $value | humanizePercentage }}}} of the runs finished in the last {window} "
            f"passed their gate; the objective is {success}."
        ),
    )

    factor = _num(RESOURCE_SPIKE_FACTOR)
    for alert, spec, floor, floor_text, what, unit in (
        (
            c.ALERT_RUN_DURATION_SPIKE,
            c.RUN_DURATION_SECONDS,
            RUN_DURATION_FLOOR_SECONDS,
            f"{RUN_DURATION_FLOOR_SECONDS:g}s",
            "resampling time",
            "{{ $value | humanizeDuration }}",
        ),
        (
            c.ALERT_RUN_MEMORY_SPIKE,
            c.RUN_PEAK_MEMORY_BYTES,
            float(RUN_MEMORY_FLOOR_BYTES),
            f"{RUN_MEMORY_FLOOR_BYTES // 2**20} MiB",
            "peak memory",
            "{{ $value | humanize1024 }}B",
        ),
    ):
        latest = _gauge(spec, name)
        history = (
            f"max {_by(spec.labels)} (quantile_over_time(0.5, "
            f"{_selector(spec.sample_name, name)}[{model.span(RESOURCE_HISTORY)}]))"
        )
        yield _alert(
            alert,
            f"{latest} > {factor} * {history}\nand\n{latest} > {_num(floor)}",
            model=model,
            severity=c.SEVERITY_TICKET,
            cause=CAUSE_RETRAIN,
            summary=f"The latest SMOTE run of {{{{ $labels.dataset }}}} spiked in {what}",
            description=(
                f"The latest run's {what} is {unit}, more than {factor}x the median of the "
                f"last {RESOURCE_HISTORY} (runs under {floor_text} never count)."
            ),
        )

    yield _alert(
        c.ALERT_RETRAIN_IN_PROGRESS,
        f"{_gauge(c.RUN_IN_PROGRESS, name)} == 1",
        model=model,
        severity=c.SEVERITY_INFO,
        cause=CAUSE_RETRAIN,
        summary="A SMOTE run of {{ $labels.dataset }} is in progress",
        description=(
            "A run is open (value {{ $value }}); the dataset's tickets are held back until it "
            "finishes."
        ),
    )


def data_alerts(model: AlertModel, dataset: DatasetAlerts) -> Iterable[Rule]:
    name = dataset.name
    detected = c.FEATURE_DRIFT_DETECTED
    yield _alert(
        c.ALERT_FEATURE_DRIFT_DETECTED,
        f"{_gauge(c.FEATURE_DRIFT_SCORE, name, by=detected.labels)}\n"
        f"and on ({', '.join(detected.labels)})\n{_gauge(detected, name)} == 1",
        model=model,
        for_=model.span(SLICE_FOR),
        severity=c.SEVERITY_TICKET,
        cause=CAUSE_DRIFT,
        summary="Feature {{ $labels.feature }} of {{ $labels.dataset }} drifted in production",
        description=(
            "The latest production window drifted from the training reference on "
            "{{ $labels.feature }} (drift score {{ $value | humanize }}, over the method's "
            "threshold)."
        ),
    )

    ratio_max = _num(NEAR_DUPLICATE_RATIO_MAX)
    yield _alert(
        c.ALERT_SYNTHETIC_NEAR_DUPLICATES,
        f"{_gauge(c.RUN_SYNTHETIC_NEAR_DUPLICATE_RATIO, name)} > {ratio_max}",
        model=model,
        severity=c.SEVERITY_TICKET,
        cause=CAUSE_PRIVACY,
        summary="Synthetic rows of {{ $labels.dataset }} copy real rows",
        description=(
            "{{ $value | humanizePercentage }} of the latest run's synthetic rows lie closer to "
            f"a real row than the near-duplicate threshold; the maximum is {ratio_max} "
            "(a privacy risk: the synthetic set leaks real records)."
        ),
    )

    stale = dataset.stale_after_seconds
    yield _alert(
        c.ALERT_PRODUCTION_DATA_STALE,
        f"time() - {_gauge(c.DRIFT_LAST_EVALUATION_TIMESTAMP_SECONDS, name)} > "
        f"{model.seconds(stale)}",
        model=model,
        labels={c.LABEL_REASON: "no_evaluation"},
        severity=c.SEVERITY_TICKET,
        cause=CAUSE_DATA,
        summary="Production data of {{ $labels.dataset }} has not been evaluated recently",
        description=(
            "The last successful evaluation was {{ $value | humanizeDuration }} ago; expected "
            f"one every {dataset.evaluate_every} (alert after {stale}s)."
        ),
    )
    window = dataset.shortest_window
    rows = c.PRODUCTION_ROWS
    yield _alert(
        c.ALERT_PRODUCTION_DATA_STALE,
        f"max {_by(rows.labels)} (increase({_selector(rows.sample_name, name)}"
        f"[{model.span(window)}])) == 0",
        model=model,
        labels={c.LABEL_REASON: "no_rows"},
        severity=c.SEVERITY_TICKET,
        cause=CAUSE_DATA,
        summary="No production rows of {{ $labels.dataset }} arrived recently",
        description=(
            f"{{{{ $value }}}} production rows arrived in the last {window} (the shortest "
            "window); the drift and slice SLIs are going stale."
        ),
    )


# --- the monitor's own health --------------------------------------------------------------------


def monitor_group(model: AlertModel) -> Group:
    failures = c.MONITOR_JOB_FAILURES
    last_success = c.MONITOR_JOB_LAST_SUCCESS_TIMESTAMP_SECONDS
    job = c.LABEL_JOB
    rules = [
        _alert(
            c.ALERT_MONITOR_DOWN,
            f"absent({c.MONITOR_BUILD_INFO.sample_name})",
            model=model,
            labels={c.LABEL_REASON: "not_scraped"},
            for_=model.span("5m"),
            severity=c.SEVERITY_PAGE,
            cause=CAUSE_MONITOR,
            summary="No smote-monitor is exporting metrics",
            description=(
                "Prometheus has scraped no smote-monitor build info for 5 minutes: the daemon "
                "is down or unreachable, and every SMOTE alert is blind."
            ),
        ),
        _alert(
            c.ALERT_MONITOR_DOWN,
            f"{c.MONITOR_STORE_UP.sample_name} == 0",
            model=model,
            labels={c.LABEL_REASON: "store_down"},
            for_=model.span("5m"),
            severity=c.SEVERITY_PAGE,
            cause=CAUSE_MONITOR,
            summary="smote-monitor on {{ $labels.instance }} cannot read its store",
            description=(
                "The store has been unreadable for 5 minutes (value {{ $value }}); the exported "
                "SLIs are missing and every SMOTE alert is blind."
            ),
        ),
        _alert(
            c.ALERT_MONITOR_JOB_FAILING,
            # The catalog's job label survives scraping only with honor_labels: true (else it
            # becomes exported_job); the alert still fires without it, just less specific.
            f"max by ({job}) (increase({failures.sample_name}[{model.span('15m')}])) > 0\n"
            f"unless on ({job})\n"
            f"(time() - max by ({job}) ({last_success.sample_name})) < {model.seconds('15m')}",
            model=model,
            severity=c.SEVERITY_TICKET,
            cause=CAUSE_MONITOR,
            summary="The smote-monitor job {{ $labels.job }} keeps failing",
            description=(
                "The job failed {{ $value | humanize }} times in the last 15 minutes and has not "
                "succeeded since (objective: no failure without a success within 15 minutes)."
            ),
        ),
    ]
    return {"name": f"{c.RULE_GROUP_PREFIX}-health", "rules": rules}
