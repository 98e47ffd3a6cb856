"""The rendered rules under the real promtool: they parse, and each alert fires on the series
that should fire it and stays quiet on the series that should not.

The promtool test files are generated here (model in, test out) into tmp dirs: the rules of a
test config are rendered, their annotations dropped for the behaviour cases (promtool compares
annotations verbatim; one case checks them in full), and each case lists its input series.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from alerts.model import build_model
from alerts.render import render_rules
from alerts.rule_groups import MONITOR_FILE, dataset_file
from smote_monitor.config import load_settings
from tests.alerts.conftest import ALERTS, run_tool, write_yaml

PREDICTIONS = "smote_slice_predictions_total"
MIB = 2**20

# fraud: the SLO table's defaults with the seed policy; coin: a low recall objective (0.5);
# churn: the multiwindow policy at recall 0.80 (14.4x and 6x capped to 4.5x).
SETTINGS = {
    "fraud": {},
    "coin": {"slo": {"minority_recall": 0.5}},
    "churn": {"burn_rate_policy": "multiwindow"},
}


def _series(name: str, values: str, **labels: str) -> dict[str, str]:
    inner = ",".join(f'{k}="{v}"' for k, v in labels.items())
    return {"series": f"{name}{{{inner}}}" if inner else name, "values": values}


def _confusion(dataset: str, slice_: str, **values: str) -> list[dict[str, str]]:
    return [
        _series(PREDICTIONS, series, dataset=dataset, slice=slice_, outcome=outcome)
        for outcome, series in values.items()
    ]


def _case(
    alertname: str,
    eval_time: str,
    series: list[dict[str, str]],
    expected: list[dict[str, str]],
) -> dict[str, Any]:
    return {
        "interval": "1m",
        "input_series": series,
        "alert_rule_test": [
            {
                "eval_time": eval_time,
                "alertname": alertname,
                "exp_alerts": [{"exp_labels": labels} for labels in expected],
            }
        ],
    }


def _burn(dataset: str, severity: str, long: str, short: str, slice_: str = "all") -> dict:
    return {
        "severity": severity,
        "cause": "minority_recall",
        "dataset": dataset,
        "slice": slice_,
        "long_window": long,
        "short_window": short,
    }


def _ticket(dataset: str, cause: str, **labels: str) -> dict[str, str]:
    return {"severity": "ticket", "cause": cause, "dataset": dataset, **labels}


SEED_PAGE = ("page", "1h", "5m")
SEED_TICKET = ("ticket", "1d", "2h")

BURN = "SmoteMinorityRecallBudgetBurn"
CASES: dict[str, dict[str, Any]] = {
    # 60 % of 10 minority events a minute missed: over the 0.4 page threshold in 1h and 5m, and
    # over the 0.2 ticket threshold (1d, 2h).
    "burn pages and tickets": _case(
        BURN,
        "70m",
        _confusion("fraud", "all", tp="0+4x90", fn="0+6x90"),
        [_burn("fraud", *SEED_PAGE), _burn("fraud", *SEED_TICKET)],
    ),
    "burn quiet when recall meets the objective": _case(
        BURN, "70m", _confusion("fraud", "all", tp="0+9x90", fn="0+1x90"), []
    ),
    # Every prediction of a tiny slice wrong, but 12 minority events an hour (< 30): no page,
    # and over the 2h of data the day has not gathered 30 either.
    "burn quiet on a tiny slice with every prediction wrong": _case(
        BURN,
        "110m",
        _confusion("fraud", "region=tiny", tp="0x120", fn="0+0.2x120")
        + _confusion("fraud", "all", tp="0+9x120", fn="0+1x120"),
        [],
    ),
    "burn pages on a slice with enough support": _case(
        BURN,
        "70m",
        _confusion("fraud", "region=eu", tp="0x90", fn="0+1x90")
        + _confusion("fraud", "all", tp="0+90x90", fn="0+1x90"),
        [
            _burn("fraud", *SEED_PAGE, slice_="region=eu"),
            _burn("fraud", *SEED_TICKET, slice_="region=eu"),
        ],
    ),
    # Objective 0.5: 2x would need a threshold of 1.0; the page fires at 1.8x (0.9).
    "low objective page fires": _case(
        BURN,
        "70m",
        _confusion("coin", "all", tp="0x90", fn="0+10x90"),
        [_burn("coin", *SEED_PAGE), _burn("coin", *SEED_TICKET)],
    ),
    "low objective page quiet at 60 % missed, ticket fires": _case(
        BURN,
        "70m",
        _confusion("coin", "all", tp="0+4x90", fn="0+6x90"),
        [_burn("coin", *SEED_TICKET)],
    ),
    "low objective quiet at 30 % missed": _case(
        BURN, "70m", _confusion("coin", "all", tp="0+7x90", fn="0+3x90"), []
    ),
    "multiwindow: every tier fires when everything is missed": _case(
        BURN,
        "70m",
        _confusion("churn", "all", tp="0x90", fn="0+10x90"),
        [
            _burn("churn", "page", "1h", "5m"),
            _burn("churn", "page", "6h", "30m"),
            _burn("churn", "ticket", "1d", "2h"),
            _burn("churn", "ticket", "3d", "6h"),
        ],
    ),
    # 70 % missed: under the capped 0.9 pages, over the 0.6 and 0.2 tickets.
    "multiwindow: 70 % missed tickets only": _case(
        BURN,
        "70m",
        _confusion("churn", "all", tp="0+3x90", fn="0+7x90"),
        [_burn("churn", "ticket", "1d", "2h"), _burn("churn", "ticket", "3d", "6h")],
    ),
}


def _gauge_cases(
    alertname: str,
    eval_time: str,
    firing: list[dict[str, str]],
    quiet: list[dict[str, str]],
    expected: list[dict[str, str]],
) -> dict[str, dict[str, Any]]:
    return {
        f"{alertname} fires": _case(alertname, eval_time, firing, expected),
        f"{alertname} quiet": _case(alertname, eval_time, quiet, []),
    }


def _window(name: str, value: str, slice_: str = "region=eu") -> dict[str, str]:
    return _series(name, value, dataset="fraud", slice=slice_, window="24h")


def _run(name: str, values: str, dataset: str = "fraud") -> dict[str, str]:
    return _series(name, values, dataset=dataset, instance="a:9464", job="smote-monitor")


CASES |= _gauge_cases(
    "SmoteSliceRecallBelowSLO",
    "20m",
    [_window("smote_slice_recall_upper", "0.7x30"), _window("smote_slice_support", "50x30")],
    # Below target, but 10 labelled minority rows cannot tell; the other slice is fine.
    [
        _window("smote_slice_recall_upper", "0.7x30"),
        _window("smote_slice_support", "10x30"),
        _window("smote_slice_recall_upper", "0.85x30", "all"),
        _window("smote_slice_support", "500x30", "all"),
    ],
    [_ticket("fraud", "minority_recall", slice="region=eu", window="24h")],
)
CASES |= _gauge_cases(
    "SmoteMinorityPrecisionBelowSLO",
    "20m",
    [_window("smote_slice_precision", "0.5x30"), _window("smote_slice_support", "50x30")],
    [_window("smote_slice_precision", "0.9x30"), _window("smote_slice_support", "50x30")],
    [_ticket("fraud", "minority_precision", slice="region=eu", window="24h")],
)
# 5 hours at 1 % false positives, then 90 minutes at 10 %: the last hour is over twice the day.
CASES |= _gauge_cases(
    "SmoteFalsePositiveRateRising",
    "390m",
    _confusion("fraud", "all", fp="0+1x300 310+10x89", tn="0+99x300 29790+90x89"),
    _confusion("fraud", "all", fp="0+1x390", tn="0+99x390"),
    [_ticket("fraud", "false_positives", slice="all")],
)
CASES |= _gauge_cases(
    "SmoteValidationGapHigh",
    "5m",
    [_run("smote_run_validation_gap", "0.08x10")],
    [_run("smote_run_validation_gap", "0.02x10")],
    [_ticket("fraud", "retrain")],
)
CASES |= _gauge_cases(
    "SmoteSyntheticRatioOutOfRange",
    "5m",
    [_run("smote_run_synthetic_ratio", "0.6x10")],
    [_run("smote_run_synthetic_ratio", "0.3x10")],
    [_ticket("fraud", "synthetic_data")],
)
CASES["SmoteSyntheticRatioOutOfRange fires below the range"] = _case(
    "SmoteSyntheticRatioOutOfRange",
    "5m",
    [_run("smote_run_synthetic_ratio", "0.05x10", "coin")],
    [_ticket("coin", "synthetic_data")],
)
# 0.20 then, after a run, 0.35: a change of 0.15 > 0.1 (a quarter of [0.1, 0.5]).
CASES |= _gauge_cases(
    "SmoteSyntheticRatioShift",
    "60m",
    [_run("smote_run_synthetic_ratio", "0.2x30 0.35x60")],
    [_run("smote_run_synthetic_ratio", "0.2x30 0.25x60")],
    [_ticket("fraud", "synthetic_data")],
)
CASES["SmoteSyntheticRatioShift quiet on the first run"] = _case(
    "SmoteSyntheticRatioShift", "60m", [_run("smote_run_synthetic_ratio", "_x30 0.35x60")], []
)
CASES["SmoteSyntheticRatioShift resolves a day after the run"] = _case(
    "SmoteSyntheticRatioShift",
    "1530m",
    [_run("smote_run_synthetic_ratio", "0.2x30 0.35x1500")],
    [],
)
CASES |= _gauge_cases(
    "SmoteRetrainGateFailing",
    "5m",
    [_run("smote_run_gate_passed", "0x10")],
    [_run("smote_run_gate_passed", "1x10")],
    [_ticket("fraud", "retrain")],
)
# 12 passed and 1 gate_failed in the window: 92 % < 95 %.
CASES |= _gauge_cases(
    "SmoteRetrainSuccessRateLow",
    "120m",
    [
        _series("smote_runs_total", "0+0.1x120", dataset="fraud", outcome="passed"),
        _series("smote_runs_total", "0x60 1x60", dataset="fraud", outcome="gate_failed"),
    ],
    [
        _series("smote_runs_total", "0+0.1x120", dataset="fraud", outcome="passed"),
        _series("smote_runs_total", "0x120", dataset="fraud", outcome="gate_failed"),
    ],
    [_ticket("fraud", "retrain")],
)
CASES["SmoteRetrainSuccessRateLow fires when no run passed at all"] = _case(
    "SmoteRetrainSuccessRateLow",
    "120m",
    [_series("smote_runs_total", "0x30 1x90", dataset="fraud", outcome="error")],
    [_ticket("fraud", "retrain")],
)
CASES |= _gauge_cases(
    "SmoteRunDurationSpike",
    "140m",
    [_run("smote_run_duration_seconds", "100x120 300x30")],
    [_run("smote_run_duration_seconds", "100x120 150x30")],
    [_ticket("fraud", "retrain")],
)
CASES["SmoteRunDurationSpike quiet under the floor"] = _case(
    "SmoteRunDurationSpike", "140m", [_run("smote_run_duration_seconds", "10x120 30x30")], []
)
CASES |= _gauge_cases(
    "SmoteRunMemorySpike",
    "140m",
    [_run("smote_run_peak_memory_bytes", f"{300 * MIB}x120 {900 * MIB}x30")],
    [_run("smote_run_peak_memory_bytes", f"{50 * MIB}x120 {150 * MIB}x30")],
    [_ticket("fraud", "retrain")],
)
CASES |= _gauge_cases(
    "SmoteRetrainInProgress",
    "5m",
    [_run("smote_run_in_progress", "1x10")],
    [_run("smote_run_in_progress", "0x10")],
    [{"severity": "info", "cause": "retrain", "dataset": "fraud"}],
)
_score = {"dataset": "fraud", "feature": "amount"}
CASES |= _gauge_cases(
    "SmoteFeatureDriftDetected",
    "20m",
    [
        _series("smote_feature_drift_score", "0.3x30", **_score, method="psi"),
        _series("smote_feature_drift_detected", "1x30", **_score),
    ],
    [
        _series("smote_feature_drift_score", "0.05x30", **_score, method="psi"),
        _series("smote_feature_drift_detected", "0x30", **_score),
    ],
    [_ticket("fraud", "drift", feature="amount")],
)
CASES |= _gauge_cases(
    "SmoteSyntheticNearDuplicates",
    "5m",
    [_run("smote_run_synthetic_near_duplicate_ratio", "0.08x10")],
    [_run("smote_run_synthetic_near_duplicate_ratio", "0.01x10")],
    [_ticket("fraud", "privacy")],
)
# promtool's clock starts at 0: a timestamp stuck at 0 is 20 minutes old at 20m; one that
# follows the clock is fresh. Rows: a flat counter for over an hour, or a growing one.
CASES |= _gauge_cases(
    "SmoteProductionDataStale",
    "70m",
    [
        _run("smote_drift_last_evaluation_timestamp_seconds", "0x90"),
        _run("smote_production_rows_total", "100x90"),
    ],
    [
        _run("smote_drift_last_evaluation_timestamp_seconds", "0+60x90"),
        _run("smote_production_rows_total", "0+100x90"),
    ],
    [
        _ticket("fraud", "production_data", reason="no_evaluation"),
        _ticket("fraud", "production_data", reason="no_rows"),
    ],
)
_job = {"job": "evaluate"}
CASES |= _gauge_cases(
    "SmoteMonitorJobFailing",
    "20m",
    [
        _series("smote_monitor_job_failures_total", "0+1x30", **_job),
        _series("smote_monitor_job_last_success_timestamp_seconds", "0x30", **_job),
    ],
    # One failure, but the job succeeded since (its last success follows the clock).
    [
        _series("smote_monitor_job_failures_total", "0x10 1x20", **_job),
        _series("smote_monitor_job_last_success_timestamp_seconds", "0+60x30", **_job),
    ],
    [{"severity": "ticket", "cause": "monitor", "job": "evaluate"}],
)
_scraped = {"instance": "a:9464", "job": "smote-monitor"}
CASES |= _gauge_cases(
    "SmoteMonitorDown",
    "10m",
    [_series("smote_monitor_store_up", "0x20", **_scraped)],
    [
        _series("smote_monitor_build_info", "1x20", version="0.1.0", **_scraped),
        _series("smote_monitor_store_up", "1x20", **_scraped),
    ],
    [
        {"severity": "page", "cause": "monitor", "reason": "not_scraped"},
        {"severity": "page", "cause": "monitor", "reason": "store_down", **_scraped},
    ],
)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The test config's rules, as rendered and with the annotations dropped."""
    directory = tmp_path_factory.mktemp("rules")
    files = render_rules(build_model(load_settings(datasets=SETTINGS)))
    paths = {}
    for name, text in files.items():
        full = directory / name
        full.write_text(text, encoding="utf-8")
        data = yaml.safe_load(text)
        for group in data["groups"]:
            for rule in group["rules"]:
                rule.pop("annotations", None)
        paths[f"bare-{name}"] = write_yaml(directory / f"bare-{name}", data)
        paths[f"full-{name}"] = full
    return paths


def test_promtool_accepts_every_committed_rule_file(promtool: str) -> None:
    files = sorted((ALERTS / "rules").glob("*.rules.yml"))
    assert files
    run_tool(promtool, "check", "rules", *map(str, files))


def test_promtool_accepts_the_rules_of_every_policy_and_objective(
    promtool: str, rendered: dict[str, Path]
) -> None:
    run_tool(promtool, "check", "rules", *(str(p) for k, p in rendered.items() if "full-" in k))


def test_every_alert_has_a_firing_and_a_quiet_case() -> None:
    from alerts.rule_groups import alert_names, rule_files

    names = alert_names(rule_files(build_model(load_settings(datasets=SETTINGS))))
    tested = {case["alert_rule_test"][0]["alertname"] for case in CASES.values()}
    assert tested == set(names)
    for name in names:
        outcomes = [
            bool(case["alert_rule_test"][0]["exp_alerts"])
            for case in CASES.values()
            if case["alert_rule_test"][0]["alertname"] == name
        ]
        assert True in outcomes and False in outcomes, name


@pytest.mark.parametrize("case", sorted(CASES))
def test_alert_fires_exactly_when_it_should(
    promtool: str, rendered: dict[str, Path], tmp_path: Path, case: str
) -> None:
    # Only the rule files of the datasets the case feeds (and the monitor's): promtool evaluates
    # every rule at every step, and other datasets' rules select nothing anyway.
    fed = {
        m
        for s in CASES[case]["input_series"]
        for m in re.findall(r'dataset="([^"]+)"', s["series"])
    }
    bare = [
        str(rendered[f"bare-{name}"]) for name in [MONITOR_FILE, *map(dataset_file, sorted(fed))]
    ]
    test_file = write_yaml(
        tmp_path / "test.yml",
        {"rule_files": bare, "evaluation_interval": "1m", "tests": [CASES[case]]},
    )
    run_tool(promtool, "test", "rules", str(test_file))


def test_the_burn_page_carries_its_value_objective_and_runbook(
    promtool: str, rendered: dict[str, Path], tmp_path: Path
) -> None:
    case = _case(
        BURN,
        "70m",
        _confusion("fraud", "all", tp="0+4x90", fn="0+6x90"),
        [_burn("fraud", *SEED_PAGE)],
    )
    rule = case["alert_rule_test"][0]
    rule["exp_alerts"][0]["exp_annotations"] = {
        "summary": "Minority recall of fraud (slice all) is burning its error budget at more "
        "than 2x over 1h",
        "description": "60% of minority events were missed over 1h (and over 5m); the threshold "
        "is 0.4, 2x the error budget 0.2 of the recall objective 0.8. At this rate 0.28% of the "
        "30d budget goes every 1h. The slice had at least 30 minority events in 1h.",
        "burn_rate": "page at 2x over 1h (confirmed over 5m): error ratio > 0.4, 0.28% of the "
        "30d budget",
        "runbook_url": "alerts/runbooks/SmoteMinorityRecallBudgetBurn.md",
    }
    # Only the page: a second file holds the seed policy's page alone.
    data = yaml.safe_load(rendered["full-fraud.rules.yml"].read_text(encoding="utf-8"))
    for group in data["groups"]:
        group["rules"] = [
            r for r in group["rules"] if "record" in r or r["labels"]["severity"] == "page"
        ]
    rules = write_yaml(tmp_path / "page.yml", data)
    test_file = write_yaml(
        tmp_path / "test.yml",
        {"rule_files": [str(rules)], "evaluation_interval": "1m", "tests": [case]},
    )
    run_tool(promtool, "test", "rules", str(test_file))
