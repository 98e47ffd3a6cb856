"""The rule evaluator against the real promtool: the same series, the same rules, the same
answer.

Each scenario scrapes a simulated smote-monitor every minute for four hours (healthy traffic, a
recall collapse, a slow burn, drift, a failed gate, the monitor down, a stale evaluation), runs
:func:`alerts.evaluate.evaluate_rules` over it, then writes the very same samples as a promtool
unit test (``input_series`` at the scrape interval, explicit values) that expects exactly the
alerts the evaluator says are firing — names, labels and templated annotations — and no alert
for every other name. ``promtool test rules`` passing proves both "fires" and "stays quiet"
agree. Recorded-rule values and single PromQL constructs are compared the same way with
``promql_expr_test``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from alerts.evaluate import (
    AlertState,
    PromQLError,
    SeriesHistory,
    UnsupportedExpression,
    compile_groups,
    evaluate_rules,
    humanize,
    humanize1024,
    humanize_duration,
    humanize_percentage,
    load_groups,
    parse_duration,
    query,
)
from alerts.model import build_model
from alerts.render import render_rules
from smote_monitor.config import load_settings
from tests.alerts.conftest import ALERTS, run_tool, write_yaml

STEP = 60.0
MINUTES = 240
END = MINUTES * STEP
COMMITTED = sorted((ALERTS / "rules").glob("*.rules.yml"))
BURN = "SmoteMinorityRecallBudgetBurn"
RATIO_1H = "dataset_slice:smote_slice_recall_errors:ratio_rate1h"
RATIO_5M = "dataset_slice:smote_slice_recall_errors:ratio_rate5m"
SUPPORT_1H = "dataset_slice:smote_slice_support:rate1h"

# Several datasets and both policies (as tests/alerts/test_promtool.py renders them).
SETTINGS = {
    "fraud": {},
    "coin": {"slo": {"minority_recall": 0.5}},
    "churn": {"burn_rate_policy": "multiwindow"},
}


# --- a simulated monitor's /metrics -----

Samples = dict[str, list[tuple[dict[str, str], float]]]
"""metric name -> [(labels, value)] of one scrape."""


def exposition(samples: Samples) -> str:
    lines = []
    for name, series in samples.items():
        for labels, value in series:
            inner = ",".join(f'{k}="{v}"' for k, v in labels.items())
            lines.append(f"{name}{{{inner}}} {value!r}")
    return "\n".join(lines) + "\n"


SLICES = ("all", "region=eu", "region=us")
HEALTHY_RATES = {"tp": 9.0, "fn": 1.0, "fp": 2.0, "tn": 88.0}  # per minute per slice


class Monitor:
    """The metrics one smote-monitor exposes about one dataset, minute by minute: healthy
    unless a scenario changes what a minute exposes (``tweaks``)."""

    def __init__(self, dataset: str = "fraud") -> None:
        self.dataset = dataset
        self.counts = {(s, o): 0.0 for s in SLICES for o in HEALTHY_RATES}
        self.rows = 0.0
        self.rates: Callable[[int, str], Mapping[str, float]] = lambda minute, slice_: HEALTHY_RATES
        self.tweaks: list[Callable[[int, Samples], None]] = []

    def scrape(self, minute: int) -> Samples:
        d = {"dataset": self.dataset}
        for slice_ in SLICES:
            for outcome, rate in self.rates(minute, slice_).items():
                self.counts[(slice_, outcome)] += rate
        self.rows += 100.0
        evaluated = float(minute * 60 // 300 * 300)
        samples: Samples = {
            "smote_monitor_build_info": [({"version": "0.1.0"}, 1.0)],
            "smote_monitor_store_up": [({}, 1.0)],
            # An exposed job label becomes exported_job (no honor_labels), as in production.
            "smote_monitor_job_failures_total": [({"job": "evaluate"}, 0.0)],
            "smote_monitor_job_last_success_timestamp_seconds": [({"job": "evaluate"}, evaluated)],
            "smote_slice_predictions_total": [
                ({**d, "slice": s, "outcome": o}, self.counts[(s, o)])
                for s in SLICES
                for o in HEALTHY_RATES
            ],
            "smote_slice_recall_upper": [],
            "smote_slice_precision": [],
            "smote_slice_support": [],
            "smote_run_synthetic_ratio": [(d, 0.3)],
            "smote_run_validation_gap": [(d, 0.02)],
            "smote_run_gate_passed": [(d, 1.0)],
            "smote_run_duration_seconds": [(d, 100.0)],
            "smote_run_peak_memory_bytes": [(d, float(300 * 2**20))],
            "smote_run_in_progress": [(d, 0.0)],
            "smote_run_synthetic_near_duplicate_ratio": [(d, 0.01)],
            "smote_runs_total": [
                ({**d, "outcome": "passed"}, 3.0),
                ({**d, "outcome": "gate_failed"}, 0.0),
            ],
            "smote_feature_drift_score": [
                ({**d, "feature": f, "method": "wasserstein"}, 0.05) for f in ("amount", "hour")
            ],
            "smote_feature_drift_detected": [
                ({**d, "feature": f}, 0.0) for f in ("amount", "hour")
            ],
            "smote_production_rows_total": [(d, self.rows)],
            "smote_drift_last_evaluation_timestamp_seconds": [(d, evaluated)],
        }
        for slice_ in SLICES:
            for window in ("1h", "24h"):
                labels = {**d, "slice": slice_, "window": window}
                samples["smote_slice_recall_upper"].append((labels, 0.93))
                samples["smote_slice_precision"].append((labels, 0.8))
                samples["smote_slice_support"].append((labels, 300.0))
        for tweak in self.tweaks:
            tweak(minute, samples)
        return samples


def set_value(samples: Samples, name: str, value: float, **match: str) -> None:
    series = samples[name]
    hits = [i for i, (labels, _) in enumerate(series) if match.items() <= labels.items()]
    assert hits, (name, match)
    for i in hits:
        series[i] = (series[i][0], value)


def scrape_all(
    monitors: Iterable[Monitor], *, down: Callable[[int], bool] = lambda minute: False
) -> SeriesHistory:
    history = SeriesHistory()
    monitors = list(monitors)
    for minute in range(MINUTES + 1):
        if down(minute):
            history.add_failed_scrape(minute * STEP)
            continue
        # One process exposes every dataset: its own series (build info, jobs) once.
        merged: dict[str, dict[tuple[tuple[str, str], ...], tuple[dict[str, str], float]]] = {}
        for monitor in monitors:
            for name, series in monitor.scrape(minute).items():
                for labels, value in series:
                    merged.setdefault(name, {})[tuple(sorted(labels.items()))] = (labels, value)
        scrape = {name: list(series.values()) for name, series in merged.items()}
        history.add_scrape(minute * STEP, exposition(scrape))
    return history


# --- the scenarios -----


def healthy() -> SeriesHistory:
    return scrape_all([Monitor()])


def recall_collapse() -> SeriesHistory:
    """From 2.5h on, region=eu misses 80 % of its minority events; its recall gauge follows."""
    monitor = Monitor()

    def rates(minute: int, slice_: str) -> Mapping[str, float]:
        if minute >= 150 and slice_ in ("region=eu", "all"):
            return {"tp": 2.0, "fn": 8.0, "fp": 2.0, "tn": 88.0}
        return HEALTHY_RATES

    def gauges(minute: int, samples: Samples) -> None:
        if minute >= 160:
            set_value(samples, "smote_slice_recall_upper", 0.3, slice="region=eu", window="1h")

    monitor.rates = rates
    monitor.tweaks.append(gauges)
    return scrape_all([monitor])


def slow_burn() -> SeriesHistory:
    """30 % of minority events missed all along: over the ticket's 0.2, under the page's 0.4."""
    monitor = Monitor()
    monitor.rates = lambda minute, slice_: {"tp": 7.0, "fn": 3.0, "fp": 2.0, "tn": 88.0}
    return scrape_all([monitor])


def drift() -> SeriesHistory:
    """amount drifts at 200m (firing at the end), hour at 232m (still pending: for 15m)."""
    monitor = Monitor()

    def tweak(minute: int, samples: Samples) -> None:
        for feature, since in (("amount", 200), ("hour", 232)):
            if minute >= since:
                set_value(samples, "smote_feature_drift_detected", 1.0, feature=feature)
                set_value(samples, "smote_feature_drift_score", 0.4, feature=feature)

    monitor.tweaks.append(tweak)
    return scrape_all([monitor])


def failed_gate() -> SeriesHistory:
    """A retrain runs 100-119m and finishes at 120m overfitted and out of range; the next one,
    at 200m, takes four times as long."""
    monitor = Monitor()

    def tweak(minute: int, samples: Samples) -> None:
        if 100 <= minute < 120:
            set_value(samples, "smote_run_in_progress", 1.0)
        if minute >= 120:
            set_value(samples, "smote_run_gate_passed", 0.0)
            set_value(samples, "smote_runs_total", 1.0, outcome="gate_failed")
            set_value(samples, "smote_run_validation_gap", 0.09)
            set_value(samples, "smote_run_synthetic_ratio", 0.55)
            set_value(samples, "smote_run_synthetic_near_duplicate_ratio", 0.08)
        if minute >= 200:
            set_value(samples, "smote_run_duration_seconds", 400.0)

    monitor.tweaks.append(tweak)
    return scrape_all([monitor])


def monitor_down() -> SeriesHistory:
    """Every scrape fails from 200m on: up=0 and every series goes stale."""
    return scrape_all([Monitor()], down=lambda minute: minute >= 200)


def store_down() -> SeriesHistory:
    """From 220m the daemon answers, but cannot read its store: store_up 0, no SLI series."""
    monitor = Monitor()

    def tweak(minute: int, samples: Samples) -> None:
        if minute >= 220:
            for name in list(samples):
                if name not in ("smote_monitor_build_info", "smote_monitor_store_up"):
                    del samples[name]
            set_value(samples, "smote_monitor_store_up", 0.0)

    monitor.tweaks.append(tweak)
    return scrape_all([monitor])


def stale_evaluation() -> SeriesHistory:
    """The evaluator stopped at 60m (its timestamp freezes) and rows stop arriving at 100m;
    the scheduler's evaluate job keeps failing from 200m."""
    monitor = Monitor()
    frozen_rows: list[float] = []

    def tweak(minute: int, samples: Samples) -> None:
        if minute >= 60:
            set_value(samples, "smote_drift_last_evaluation_timestamp_seconds", 3600.0)
            set_value(samples, "smote_monitor_job_last_success_timestamp_seconds", 3600.0)
        if minute == 100:
            frozen_rows.append(samples["smote_production_rows_total"][0][1])
        if minute >= 100:
            set_value(samples, "smote_production_rows_total", frozen_rows[0])
        if minute >= 200:
            set_value(samples, "smote_monitor_job_failures_total", float(minute - 199))

    monitor.tweaks.append(tweak)
    return scrape_all([monitor])


def datasets_collapse() -> SeriesHistory:
    """Three datasets, both policies: fraud healthy, churn misses everything (every
    multiwindow tier fires), coin (objective 0.5) misses 60 % (its ticket only)."""
    churn, coin = Monitor("churn"), Monitor("coin")
    churn.rates = lambda minute, slice_: {"tp": 0.0, "fn": 10.0, "fp": 2.0, "tn": 88.0}
    coin.rates = lambda minute, slice_: {"tp": 4.0, "fn": 6.0, "fp": 2.0, "tn": 88.0}
    return scrape_all([Monitor("fraud"), churn, coin])


def _burn(severity: str, slice_: str, dataset: str = "fraud") -> tuple[str, dict[str, str]]:
    return BURN, {"severity": severity, "slice": slice_, "dataset": dataset}


# Scenario → (history, the rules, alerts that must be firing at the end (name, labels they
# include)): the last part only checks that each scenario shows what it is named for; the
# comparison with promtool checks every alert, firing or not.
SCENARIOS: dict[str, tuple[Callable[[], SeriesHistory], str, list[tuple[str, dict[str, str]]]]] = {
    "healthy": (healthy, "committed", []),
    "recall collapse pages": (
        recall_collapse,
        "committed",
        [
            _burn("page", "region=eu"),
            _burn("page", "all"),
            ("SmoteSliceRecallBelowSLO", {"slice": "region=eu", "window": "1h"}),
        ],
    ),
    "slow burn tickets": (slow_burn, "committed", [_burn("ticket", s) for s in SLICES]),
    "drift": (drift, "committed", [("SmoteFeatureDriftDetected", {"feature": "amount"})]),
    "failed gate": (
        failed_gate,
        "committed",
        [
            ("SmoteRetrainGateFailing", {}),
            ("SmoteRetrainSuccessRateLow", {}),
            ("SmoteValidationGapHigh", {}),
            ("SmoteSyntheticRatioOutOfRange", {}),
            ("SmoteSyntheticRatioShift", {}),
            ("SmoteRunDurationSpike", {}),
            ("SmoteSyntheticNearDuplicates", {}),
        ],
    ),
    "monitor down": (monitor_down, "committed", [("SmoteMonitorDown", {"reason": "not_scraped"})]),
    "store down": (store_down, "committed", [("SmoteMonitorDown", {"reason": "store_down"})]),
    "stale evaluation": (
        stale_evaluation,
        "committed",
        [
            ("SmoteProductionDataStale", {"reason": "no_evaluation"}),
            ("SmoteProductionDataStale", {"reason": "no_rows"}),
            ("SmoteMonitorJobFailing", {"job": "smote-monitor"}),
        ],
    ),
    "several datasets, both policies": (
        datasets_collapse,
        "rendered",
        [
            *(
                (BURN, {"dataset": "churn", "long_window": w, "slice": "all"})
                for w in ("1h", "6h", "1d", "3d")
            ),
            (BURN, {"dataset": "coin", "severity": "ticket", "slice": "all"}),
        ],
    ),
}


# --- promtool -----


@pytest.fixture(scope="module")
def rule_paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    directory = tmp_path_factory.mktemp("rendered")
    files = render_rules(build_model(load_settings(datasets=SETTINGS)))
    rendered = []
    for name, text in sorted(files.items()):
        (directory / name).write_text(text, encoding="utf-8")
        rendered.append(directory / name)
    return {"committed": COMMITTED, "rendered": rendered}


def _value(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Inf" if value > 0 else "-Inf"
    return repr(value)


def input_series(history: SeriesHistory, skip: set[str]) -> list[dict[str, str]]:
    """Every series of ``history`` but ``skip`` (recorded names) as promtool input: one value
    per ``STEP`` from 0, ``_`` for no sample, ``stale`` for a stale marker."""
    out = []
    for series in history.series():
        labels = dict(series.labels)
        name = labels.pop("__name__")
        if name in skip:
            continue
        points: dict[int, str] = {}
        for t, v in series.samples:
            assert t % STEP == 0, (name, t)
            points[int(t // STEP)] = _value(v)
        for t in series.stale_markers:
            assert t % STEP == 0 and int(t // STEP) not in points, (name, t)
            points[int(t // STEP)] = "stale"
        values = " ".join(points.get(i, "_") for i in range(max(points) + 1))
        inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        out.append({"series": f"{name}{{{inner}}}", "values": values})
    return out


def _minutes(seconds: float) -> str:
    assert seconds % 60 == 0
    return f"{int(seconds // 60)}m"


def promtool_test(
    promtool: str,
    tmp_path: Path,
    rule_files: list[Path],
    series: list[dict[str, str]],
    *,
    alerts: list[AlertState] | None = None,
    exprs: list[dict[str, Any]] | None = None,
    at: float = END,
) -> None:
    groups = load_groups(rule_files)
    test: dict[str, Any] = {"interval": "1m", "input_series": series}
    if alerts is not None:
        names = list(dict.fromkeys(r["alert"] for g in groups for r in g["rules"] if "alert" in r))
        test["alert_rule_test"] = [
            {
                "eval_time": _minutes(at),
                "alertname": name,
                "exp_alerts": [
                    {
                        "exp_labels": {k: v for k, v in a.labels.items() if k != "alertname"},
                        "exp_annotations": dict(a.annotations),
                    }
                    for a in alerts
                    if a.name == name and a.state == "firing"
                ],
            }
            for name in names
        ]
    if exprs is not None:
        test["promql_expr_test"] = exprs
    test_file = write_yaml(
        tmp_path / "test.yml",
        {
            "rule_files": [str(p) for p in rule_files],
            "evaluation_interval": "1m",
            "group_eval_order": [g["name"] for g in groups],
            "tests": [test],
        },
    )
    run_tool(promtool, "test", "rules", str(test_file))


def _records(groups: list[dict[str, Any]]) -> set[str]:
    return {r["record"] for g in groups for r in g["rules"] if "record" in r}


def _samples_text(name: str, labels: Mapping[str, str]) -> str:
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "__name__")
    return f"{name}{{{inner}}}"


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_the_alerts_that_fire_are_the_ones_promtool_fires(
    promtool: str, rule_paths: dict[str, list[Path]], tmp_path: Path, scenario: str
) -> None:
    build, rules, expected = SCENARIOS[scenario]
    history = build()
    groups = load_groups(rule_paths[rules])
    series = input_series(history, _records(groups))
    alerts = evaluate_rules(groups, history, start=0.0, end=END, interval=STEP)

    firing = [a for a in alerts if a.state == "firing"]
    for name, labels in expected:
        assert any(a.name == name and labels.items() <= a.labels.items() for a in firing), (
            f"{scenario}: {name} {labels} is not firing; firing: "
            f"{[(a.name, dict(a.labels)) for a in firing]}"
        )
    if not expected:
        assert alerts == []

    exprs = []
    if scenario == "recall collapse pages":
        # The recorded burn-rate ratios and support, value for value.
        for name in (RATIO_1H, RATIO_5M, SUPPORT_1H):
            result = query(history, name, END)
            assert isinstance(result, list) and result
            exprs.append(
                {
                    "expr": name,
                    "eval_time": _minutes(END),
                    "exp_samples": [
                        {"labels": _samples_text(name, dict(labels)), "value": value}
                        for labels, value in result
                    ],
                }
            )
    promtool_test(promtool, tmp_path, rule_paths[rules], series, alerts=alerts, exprs=exprs)


def test_an_alert_whose_for_has_not_elapsed_is_pending() -> None:
    alerts = evaluate_rules(load_groups(COMMITTED), drift(), start=0.0, end=END, interval=STEP)
    by_feature = {
        a.labels.get("feature"): a for a in alerts if a.name == "SmoteFeatureDriftDetected"
    }
    assert by_feature["amount"].state == "firing"
    assert by_feature["amount"].active_since == 200 * STEP
    assert by_feature["hour"].state == "pending"
    assert by_feature["hour"].active_since == 232 * STEP
    assert by_feature["hour"].value == 0.4


def test_the_page_at_the_moment_it_starts_agrees_with_promtool(
    promtool: str, tmp_path: Path
) -> None:
    """Every minute around the collapse: the first minute the page fires is promtool's."""
    history = recall_collapse()
    groups = load_groups(COMMITTED)
    series = input_series(history, _records(groups))
    first = None
    for minute in range(170, 191):  # 1h ratio passes 0.4 about 26m in
        alerts = evaluate_rules(groups, history, start=0.0, end=minute * STEP, interval=STEP)
        if any(a.name == BURN and a.labels["severity"] == "page" for a in alerts):
            first = minute
            break
    assert first is not None and first > 170
    for at in (first - 1, first):
        alerts = evaluate_rules(groups, history, start=0.0, end=at * STEP, interval=STEP)
        (tmp_path / str(at)).mkdir()
        promtool_test(promtool, tmp_path / str(at), COMMITTED, series, alerts=alerts, at=at * STEP)


# --- single constructs against promtool -----

CONSTRUCT_SERIES = [
    # A counter with a reset at 6m, a gap at 9-10m, and a stale marker at 14m.
    {"series": 'c{job="a",k="x"}', "values": "0 3 7 12 18 25 2 6 11 _ _ 20 24 29 stale"},
    {"series": 'c{job="b",k="x"}', "values": "5 5.5 6 6.5 7 7.5 8 8.5 9 9.5 10 10.5 11 11.5 12"},
    {"series": 'g{job="a",k="x"}', "values": "1 4 2 8 5 7 3 9 6 0 -2 3.25 1e-3 7 7"},
    {"series": 'g{job="b",k="y"}', "values": "2x14"},
    {"series": 'g{job="c",k="y"}', "values": "0.1+0.2x14"},
    {"series": 'h{job="a"}', "values": "0x14"},
]
CONSTRUCT_EXPRS = [
    "rate(c[5m])",
    "increase(c[10m])",
    "rate(c[3m] offset 2m)",
    "increase(c[1m])",
    "max_over_time(g[4m])",
    "quantile_over_time(0.5, g[10m])",
    "quantile_over_time(0.9, g[7m])",
    "max_over_time(abs(g - g offset 3m)[10m:2m])",
    "sum by (k) (g)",
    "max without (job) (g)",
    "min by (k) (g)",
    "avg by (k) (g)",
    "count by (k) (g)",
    "sum(rate(c[5m]))",
    "g > 2",
    "g > bool 2",
    "3 < g",
    "2 * g - 1",
    "-g",
    "g / on (job) c",
    "g / ignoring (k) c",
    "g == bool on (job, k) c",
    "g and on (job) c",
    "g unless on (job) c",
    "g unless c",
    "g or h",
    "h or on (job) g",
    "g / h",
    "time() - g",
    'absent(nope{job="a",k=~"x"})',
    "absent(g)",
    'absent(g{job="zzz"})',
    'g{k!="x",job!~"b"}',
    'c{job=~"a|b",k=~"x"}',
]


def _construct_history() -> SeriesHistory:
    """CONSTRUCT_SERIES loaded the way promtool loads them."""
    history = SeriesHistory()
    for item in CONSTRUCT_SERIES:
        selector = item["series"]
        name, inner = selector.rstrip("}").split("{")
        labels = dict(pair.split("=") for pair in inner.split(",") if pair)
        labels = {k: v.strip('"') for k, v in labels.items()}
        for i, value in enumerate(_expand(item["values"])):
            if value == "stale":
                history.add_stale_marker(name, labels, i * STEP)
            elif value != "_":
                history.add_sample(name, labels, i * STEP, float(value))
    return history


def _expand(values: str) -> list[str]:
    """promtool's ``a+bxn`` / ``axn`` notation, just as far as CONSTRUCT_SERIES uses it."""
    out: list[str] = []
    for token in values.split():
        if "x" in token:
            head, count = token.split("x")
            start, _, step = head.partition("+")
            value = float(start)
            for _ in range(int(count) + 1):
                out.append(repr(value))
                value += float(step or 0)  # promtool adds the step up, as here
        else:
            out.append(token)
    return out


@pytest.mark.parametrize("minute", [5, 7, 12, 14])
def test_each_construct_gives_promtools_values(promtool: str, tmp_path: Path, minute: int) -> None:
    history = _construct_history()
    rules = write_yaml(tmp_path / "none.yml", {"groups": []})
    exprs = []
    for expr in CONSTRUCT_EXPRS:
        result = query(history, expr, minute * STEP)
        if isinstance(result, float):
            continue
        samples = [
            {"labels": _samples_text(dict(lb).get("__name__", ""), dict(lb)), "value": v}
            for lb, v in result
            if not math.isnan(v)  # promtool cannot expect NaN (NaN != NaN)
        ]
        if len(samples) != len(result):
            continue
        exprs.append({"expr": expr, "eval_time": f"{minute}m", "exp_samples": samples})
    assert len(exprs) >= len(CONSTRUCT_EXPRS) - 3
    promtool_test(promtool, tmp_path, [rules], CONSTRUCT_SERIES, exprs=exprs, at=minute * STEP)


def test_the_constructs_give_values_that_can_be_checked() -> None:
    """Guards the comparison above against vacuity: the reset, the gap and staleness show."""
    history = _construct_history()
    # rate(c{job=a}) over [2m, 7m]: 7 12 18 25 2 6 with the reset at 6m corrected.
    rate = dict(query(history, 'rate(c{job="a"}[5m])', 7 * STEP))  # type: ignore[arg-type]
    assert rate[(("job", "a"), ("k", "x"))] > 0
    assert query(history, 'c{job="a"}', 14 * STEP) == []  # stale
    assert query(history, 'c{job="a"}', 10 * STEP) != []  # 8m's sample within the lookback
    assert query(history, 'g{job="a"} / ignoring (k) h', 5 * STEP)[0][1] == math.inf  # type: ignore[index]


VALUES = [0, 1e-7, 0.000123, 0.5, 1, 59.9, 61, 3600, 90061, 1234567, 2**30, -5, -0.25, 1e17]


def test_annotations_are_templated_as_prometheus_does(promtool: str, tmp_path: Path) -> None:
    rule = {
        "alert": "Templated",
        "expr": "v",
        "labels": {"severity": "ticket", "copy": "{{ $labels.i }}"},
        "annotations": {
            "plain": "{{ $value }}|{{ $labels.i }}|{{ $labels.missing }}|",
            "humanize": "{{ $value | humanize }}",
            "binary": "{{ $value | humanize1024 }}B",
            "duration": "{{ humanizeDuration $value }}",
            "percentage": "{{ $value | humanizePercentage }}",
        },
    }
    rules = write_yaml(tmp_path / "t.yml", {"groups": [{"name": "t", "rules": [rule]}]})
    history = SeriesHistory()
    series = []
    for i, value in enumerate(VALUES):
        series.append({"series": f'v{{i="{i}"}}', "values": f"{_value(float(value))}x3"})
        for minute in range(4):
            history.add_sample("v", {"i": str(i)}, minute * STEP, float(value))
    alerts = evaluate_rules(load_groups([rules]), history, start=0.0, end=3 * STEP)
    assert len(alerts) == len(VALUES)
    assert {a.annotations["plain"] for a in alerts} >= {"1e+17|13||", "1.234567e+06|9||"}
    promtool_test(promtool, tmp_path, [rules], series, alerts=alerts, at=3 * STEP)


def test_humanize_functions_spell_numbers_like_go() -> None:
    assert humanize(1234567.0) == "1.235M"
    assert humanize(0.000123) == "123u"
    assert humanize1024(1048576.0) == "1Mi"
    assert humanize_duration(899.99) == "14m 59s"
    assert humanize_duration(90061.0) == "1d 1h 1m 1s"
    assert humanize_percentage(0.1234567) == "12.35%"
    assert humanize(math.inf) == "+Inf"


def test_keep_firing_for_holds_an_alert_after_its_condition_ends(
    promtool: str, tmp_path: Path
) -> None:
    rule = {"alert": "Held", "expr": "x > 0", "for": "2m", "keep_firing_for": "3m"}
    rules = write_yaml(tmp_path / "k.yml", {"groups": [{"name": "k", "rules": [rule]}]})
    series = [{"series": "x", "values": "1 1 1 1 0 0 0 0 0 1 1"}]
    history = SeriesHistory()
    for i, v in enumerate([1, 1, 1, 1, 0, 0, 0, 0, 0, 1, 1]):
        history.add_sample("x", {}, i * STEP, float(v))
    states = {}
    for minute in range(11):
        alerts = evaluate_rules(load_groups([rules]), history, start=0.0, end=minute * STEP)
        states[minute] = alerts[0].state if alerts else None
        (tmp_path / str(minute)).mkdir()
        promtool_test(
            promtool, tmp_path / str(minute), [rules], series, alerts=alerts, at=minute * STEP
        )
    assert states == {
        0: "pending",
        1: "pending",
        2: "firing",
        3: "firing",
        4: "firing",
        5: "firing",
        6: "firing",
        7: None,
        8: None,
        9: "pending",
        10: "pending",
    }


# --- what is supported, and what is refused -----


def test_every_committed_and_rendered_expression_is_supported(
    rule_paths: dict[str, list[Path]],
) -> None:
    for files in rule_paths.values():
        groups = load_groups(files)
        compiled = compile_groups(groups)
        assert sum(len(g.rules) for g in compiled) == sum(len(g["rules"]) for g in groups)
    scaled = render_rules(build_model(load_settings(datasets=SETTINGS), time_scale=1 / 180))
    compile_groups([g for text in scaled.values() for g in yaml.safe_load(text)["groups"]])


@pytest.mark.parametrize(
    ("expr", "construct"),
    [
        ("topk(2, x)", "the aggregation topk"),
        ("x @ 100", "the @ modifier"),
        ("a / on (x) group_left (y) b", "group_left/group_right"),
        ("histogram_quantile(0.9, rate(x_bucket[5m]))", "the function histogram_quantile"),
        ("x % 2", "the operator %"),
        ("max_over_time(x[1h:])", "a subquery without a step"),
        ("rate(x[5m:1m])", "rate\\(\\) of a subquery"),
        ("quantile(0.5, x)", "the aggregation quantile"),
    ],
)
def test_unsupported_constructs_are_refused_by_name(expr: str, construct: str) -> None:
    groups = [{"name": "g", "rules": [{"record": "r", "expr": expr}]}]
    with pytest.raises(UnsupportedExpression, match=construct) as raised:
        compile_groups(groups)
    assert repr(expr) in str(raised.value)


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{ .Labels.x }}", "the template action"),
        ('{{ $value | printf "%.2f" }}', "the template action"),
        ("{{ $value | title }}", "the template function 'title'"),
        ("{{- $labels.x }}", "the template action"),
    ],
)
def test_unsupported_templates_are_refused_by_name(template: str, message: str) -> None:
    rule = {"alert": "A", "expr": "x", "annotations": {"summary": template}}
    with pytest.raises(UnsupportedExpression, match=message) as raised:
        compile_groups([{"name": "g", "rules": [rule]}])
    assert "annotations.summary" in str(raised.value)


def test_unknown_rule_and_group_keys_are_refused() -> None:
    with pytest.raises(UnsupportedExpression, match=r"the group keys \['limit'\]"):
        compile_groups([{"name": "g", "limit": 5, "rules": []}])
    with pytest.raises(UnsupportedExpression, match=r"the rule keys \['bogus'\]"):
        compile_groups([{"name": "g", "rules": [{"alert": "A", "expr": "x", "bogus": 1}]}])
    with pytest.raises(ValueError, match=r"groups\[0\] \(g\)\.rules\[0\]\.for: got '5 minutes'"):
        compile_groups([{"name": "g", "rules": [{"alert": "A", "expr": "x", "for": "5 minutes"}]}])


def test_many_to_many_matching_is_an_error_as_in_prometheus() -> None:
    history = SeriesHistory()
    for k in ("x", "y"):
        history.add_sample("a", {"k": k, "j": "1"}, 0.0, 1.0)
    history.add_sample("b", {"j": "1"}, 0.0, 1.0)
    with pytest.raises(PromQLError, match="multiple matches for labels"):
        query(history, "a / on (j) b", 0.0)
    with pytest.raises(PromQLError, match="found duplicate series for the match group"):
        query(history, "b / on (j) a", 0.0)


def test_durations_parse_like_prometheus() -> None:
    assert parse_duration("1h30m") == 5400.0
    assert parse_duration("0s") == 0.0
    assert parse_duration("1d") == 86400.0
    with pytest.raises(ValueError, match=r"for: got '1\.5h'; expected a Prometheus duration"):
        parse_duration("1.5h", field_name="for")


def test_a_scrape_labels_its_series_and_marks_what_disappears_stale() -> None:
    history = SeriesHistory()
    text = 'smote_monitor_job_failures_total{job="evaluate"} 2\nsmote_monitor_store_up 1\n'
    history.add_scrape(0.0, text, job="smote-monitor", instance="h:9464")
    history.add_scrape(60.0, "smote_monitor_store_up 1\n", job="smote-monitor", instance="h:9464")
    (failures,) = history.series("smote_monitor_job_failures_total")
    assert failures.labels == {
        "__name__": "smote_monitor_job_failures_total",
        "exported_job": "evaluate",
        "job": "smote-monitor",
        "instance": "h:9464",
    }
    assert failures.stale_markers == [60.0]
    assert query(history, "up", 60.0) == [
        ((("__name__", "up"), ("instance", "h:9464"), ("job", "smote-monitor")), 1.0)
    ]
    history.add_failed_scrape(120.0, job="smote-monitor", instance="h:9464")
    assert query(history, "smote_monitor_store_up", 120.0) == []
    assert query(history, "up", 120.0)[0][1] == 0.0  # type: ignore[index]
