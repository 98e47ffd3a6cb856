"""Time-scaled rules (``time_scale`` < 1, ``alerts render --time-scale``): what the end-to-end
alerting test runs. Same names and labels as the real rules, shorter ranges, still valid
Prometheus rules, and the burn page fires on a collapse within seconds."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from alerts.model import MIN_SCALED_SECONDS, build_model
from alerts.render import render_rules
from alerts.rule_groups import dataset_file, rule_files
from smote_monitor.config import load_settings
from tests.alerts.conftest import run_tool, write_yaml
from tests.alerts.test_promtool import SETTINGS

SCALE = 1 / 180
"""1h -> 20s, 5m -> 10s (the floor), 1d -> 480s."""


def _settings() -> object:
    return load_settings(datasets=SETTINGS)


def test_scale_one_renders_exactly_the_real_rules() -> None:
    settings = _settings()
    assert render_rules(build_model(settings, time_scale=1.0)) == render_rules(
        build_model(settings)
    )


@pytest.mark.parametrize("scale", [0.0, -1.0, 1.5])
def test_a_scale_outside_0_1_is_refused(scale: float) -> None:
    with pytest.raises(ValueError, match="time_scale"):
        build_model(_settings(), time_scale=scale)


def _strip_ranges(files: dict[str, list[dict]]) -> list[tuple[str, object]]:
    """Every rule's names and labels (what routing, inhibition and dashboards see)."""
    return [
        (rule.get("alert") or rule["record"], rule.get("labels"))
        for groups in files.values()
        for group in groups
        for rule in group["rules"]
    ]


def test_scaled_rules_keep_every_name_and_label_and_shorten_every_range() -> None:
    settings = _settings()
    real, scaled = (
        rule_files(build_model(settings)),
        rule_files(build_model(settings, time_scale=SCALE)),
    )
    assert _strip_ranges(scaled) == _strip_ranges(real)
    text = yaml.safe_dump(scaled)
    ranges = re.findall(r"\[(\d+)s(?::(\d+)s)?\]", text)
    assert ranges and not re.search(r"\[\d+[mhdw]", text)
    assert all(int(r) >= MIN_SCALED_SECONDS for pair in ranges for r in pair if r)
    fraud = {
        rule["record"]: rule["expr"]
        for group in scaled[dataset_file("fraud")]
        for rule in group["rules"]
        if "record" in rule
    }
    assert "[20s]" in fraud["dataset_slice:smote_slice_support:rate1h"]
    assert "[480s]" in fraud["dataset_slice:smote_slice_support:rate1d"]
    assert "[10s]" in fraud["dataset_slice:smote_slice_support:rate5m"]
    fors = [
        rule["for"]
        for groups in scaled.values()
        for group in groups
        for rule in group["rules"]
        if "for" in rule
    ]
    assert fors and all(re.fullmatch(r"\d+s", f) for f in fors)


def _write_scaled(directory: Path) -> list[Path]:
    rendered = render_rules(build_model(_settings(), time_scale=SCALE))
    paths = []
    for name, text in rendered.items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def test_promtool_accepts_the_scaled_rules(promtool: str, tmp_path: Path) -> None:
    run_tool(promtool, "check", "rules", *map(str, _write_scaled(tmp_path)))


def test_the_scaled_burn_page_fires_within_seconds_of_a_collapse(
    promtool: str, tmp_path: Path
) -> None:
    paths = _write_scaled(tmp_path)
    series = "smote_slice_predictions_total"
    labels = 'dataset="fraud",slice="region=us"'
    # 5 minority events a second, every one missed; 30 s in, 20 s of them in the 1h(->20s)
    # window: 100 events >= 30 and an error ratio of 1 > 0.4.
    case = {
        "interval": "1s",
        "input_series": [
            {"series": f'{series}{{{labels},outcome="fn"}}', "values": "0+5x60"},
            {"series": f'{series}{{{labels},outcome="tp"}}', "values": "0x60"},
        ],
        "alert_rule_test": [
            {
                "eval_time": "30s",
                "alertname": "SmoteMinorityRecallBudgetBurn",
                # The ticket tier too: its 1d(->480s) rate is per second, over the data there is.
                "exp_alerts": [
                    {
                        "exp_labels": {
                            "severity": severity,
                            "cause": "minority_recall",
                            "dataset": "fraud",
                            "slice": "region=us",
                            "long_window": long,
                            "short_window": short,
                        }
                    }
                    for severity, long, short in (("page", "1h", "5m"), ("ticket", "1d", "2h"))
                ],
            }
        ],
    }
    bare = []
    for path in paths:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for group in data["groups"]:
            for rule in group["rules"]:
                rule.pop("annotations", None)
        bare.append(str(write_yaml(tmp_path / f"bare-{path.name}", data)))
    test_file = write_yaml(
        tmp_path / "test.yml",
        {"rule_files": bare, "evaluation_interval": "1s", "tests": [case]},
    )
    run_tool(promtool, "test", "rules", str(test_file))
