"""PromQL of the dashboards, built from the metric catalog.

Every metric name comes from a :class:`~smote_monitor.conventions.MetricSpec`; a matcher on a
label the metric does not carry is refused here, so a renamed or dropped label fails the render
instead of leaving an empty panel. Template variables (``$dataset``…) are spelled once, below.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from smote_monitor.conventions import (
    CONFUSION_OUTCOMES,
    LABEL_DATASET,
    LABEL_OUTCOME,
    LABEL_SLICE,
    SLICE_ALL,
    SLICE_PREDICTIONS,
    MetricSpec,
    MetricType,
)

# Template variables the dashboards declare (dashboards/panels.py) and queries reference.
VAR_DATASOURCE = "datasource"
VAR_DATASET = "dataset"
VAR_SLICE = "slice"
VAR_WINDOW = "window"
VAR_FEATURE = "feature"
VAR_REPORT_BASE_URL = "report_base_url"

# Grafana's built-in intervals: a rate over a scrape-safe window, the panel step, the time range.
RATE_INTERVAL = "$__rate_interval"
INTERVAL = "$__interval"
RANGE = "$__range"

# Prometheus's own series of pending and firing alerts; smote-monitor's alert names share the
# "Smote" prefix (DESIGN.md, "Alerts").
ALERTS_METRIC = "ALERTS"
ALERT_NAME_PATTERN = "Smote.*"
LABEL_ALERTNAME = "alertname"
LABEL_ALERTSTATE = "alertstate"

# Windows of the burn-rate panel: the page window and its confirming short window, the ticket one.
BURN_RATE_WINDOWS = ("5m", "1h", "6h", "1d")

_HISTOGRAM_SUFFIXES = ("_bucket", "_count", "_sum")


def var(name: str) -> str:
    """A template variable as it appears in a query: ``$dataset``."""
    return f"${name}"


@dataclass(frozen=True, slots=True)
class Regex:
    """A label value matched as a regular expression (``=~``): multi-value variables, 'All'."""

    pattern: str


MatcherValue = str | Regex


def _matchers(matchers: Mapping[str, MatcherValue]) -> str:
    parts = []
    for label, value in matchers.items():
        op, text = ("=~", value.pattern) if isinstance(value, Regex) else ("=", value)
        escaped = text.replace("\\", "\\\\").replace('"', '\\"')
        parts.append(f'{label}{op}"{escaped}"')
    return "{" + ",".join(parts) + "}" if parts else ""


def selector(spec: MetricSpec, matchers: Mapping[str, MatcherValue], *, suffix: str = "") -> str:
    """``name{label="value",…}`` for a catalog metric.

    Parameters
    ----------
    spec : MetricSpec
        The metric; its :attr:`~MetricSpec.sample_name` is the series name.
    matchers : mapping of label name to value
        Each label must be one of ``spec.labels``; a :class:`Regex` value matches with ``=~``.
    suffix : str
        ``_bucket``, ``_count`` or ``_sum`` of a histogram.
    """
    unknown = [label for label in matchers if label not in spec.labels]
    if unknown:
        raise ValueError(f"{spec.name} has labels {list(spec.labels)}; got matchers on {unknown}")
    if suffix and (spec.type is not MetricType.HISTOGRAM or suffix not in _HISTOGRAM_SUFFIXES):
        raise ValueError(f"suffix {suffix!r}: expected one of {_HISTOGRAM_SUFFIXES} of a histogram")
    return f"{spec.sample_name}{suffix}{_matchers(matchers)}"


def by_dataset(spec: MetricSpec, **extra: MatcherValue) -> str:
    """The metric of the dashboard's ``$dataset``, with extra matchers (label names as keys)."""
    return selector(spec, {LABEL_DATASET: var(VAR_DATASET), **extra})


def rate(series: str, window: str = RATE_INTERVAL) -> str:
    return f"rate({series}[{window}])"


def increase(series: str, window: str) -> str:
    return f"increase({series}[{window}])"


def sum_by(expr: str, labels: Iterable[str] = ()) -> str:
    grouping = ", ".join(labels)
    return f"sum by ({grouping}) ({expr})" if grouping else f"sum({expr})"


def _outcomes(*outcomes: str) -> Regex:
    for outcome in outcomes:
        if outcome not in CONFUSION_OUTCOMES:
            raise ValueError(f"outcome {outcome!r}: expected one of {CONFUSION_OUTCOMES}")
    return Regex("|".join(outcomes))


def predictions(outcomes: Iterable[str], slice_: MatcherValue = SLICE_ALL) -> str:
    """The labelled-prediction counter of ``$dataset`` for the given confusion outcomes."""
    return by_dataset(
        SLICE_PREDICTIONS, **{LABEL_SLICE: slice_, LABEL_OUTCOME: _outcomes(*outcomes)}
    )


def recall_error_ratio(
    window: str, slice_: MatcherValue = SLICE_ALL, by: Iterable[str] = ()
) -> str:
    """Share of minority events missed (fn / (tp + fn)) over ``window``, from the raw counter.

    Computed from ``smote_slice_predictions_total`` directly rather than a recording rule, so the
    dashboards work against any Prometheus that scrapes the monitor.
    """
    labels = tuple(by)
    missed = sum_by(rate(predictions(("fn",), slice_), window), labels)
    events = sum_by(rate(predictions(("tp", "fn"), slice_), window), labels)
    return f"{missed} / {events}"


def burn_rate(
    window: str, objective: float, slice_: MatcherValue = SLICE_ALL, by: Iterable[str] = ()
) -> str:
    """How fast the recall error budget burns: error ratio / (1 - objective); 1 spends it exactly
    over the SLO period."""
    return f"({recall_error_ratio(window, slice_, by)}) / {_number(1 - objective)}"


def error_budget_left(objective: float, window: str = RANGE) -> str:
    """Share of the recall error budget left over ``window`` (below 0: overspent)."""
    return f"1 - ({recall_error_ratio(window)}) / {_number(1 - objective)}"


def since(spec: MetricSpec, **extra: MatcherValue) -> str:
    """Seconds since a Unix-time gauge of ``$dataset`` (or of a dataset-less metric)."""
    series = by_dataset(spec, **extra) if LABEL_DATASET in spec.labels else selector(spec, extra)
    return f"time() - {series}"


def histogram_quantile(q: float, spec: MetricSpec, by: Iterable[str]) -> str:
    buckets = rate(selector(spec, {}, suffix="_bucket"))
    return f"histogram_quantile({_number(q)}, {sum_by(buckets, (*by, 'le'))})"


def firing_alerts() -> str:
    """Prometheus's ``ALERTS`` series of smote-monitor's rules that are firing now."""
    matchers = _matchers({LABEL_ALERTNAME: Regex(ALERT_NAME_PATTERN), LABEL_ALERTSTATE: "firing"})
    return f"{ALERTS_METRIC}{matchers}"


def label_values(spec: MetricSpec, label: str, **extra: MatcherValue) -> str:
    """A Grafana query-variable query: the values ``label`` takes on the metric."""
    if label not in spec.labels:
        raise ValueError(f"{spec.name} has labels {list(spec.labels)}; got {label!r}")
    series = by_dataset(spec, **extra) if label != LABEL_DATASET else selector(spec, extra)
    return f"label_values({series}, {label})"


def constant(value: float) -> str:
    """A flat line at ``value`` (an SLO target drawn beside its SLI)."""
    return f"vector({_number(value)})"


def _number(value: float) -> str:
    # 1 - 0.8 is 0.19999999999999996: round away float noise so the rendered PromQL reads well.
    return format(round(value, 10), "g")
