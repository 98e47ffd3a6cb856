"""The rendered files: committed output equals the generator's, stamped, every alert with a
runbook that exists."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from alerts.model import AlertModel, build_model
from alerts.render import STAMP, render_rules, render_runbooks, write
from alerts.rule_groups import alert_names, rule_files
from alerts.runbooks import RUNBOOKS
from smote_monitor import conventions
from smote_monitor.config import load_settings
from tests.alerts.conftest import ALERTS, ROOT
from tests.monitor.cli_helpers import run_cli

EXAMPLE_CONFIG = ROOT / "smote_monitor" / "example-config.yaml"
RENDER = (
    "smote-monitor -c smote_monitor/example-config.yaml alerts render --runbooks alerts/runbooks"
)


def _example_model() -> AlertModel:
    return build_model(load_settings(EXAMPLE_CONFIG))


def _committed(directory: Path, pattern: str) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(directory.glob(pattern))}


def test_the_committed_rules_are_what_the_generator_renders_for_the_example_config() -> None:
    assert _committed(ALERTS / "rules", "*") == render_rules(_example_model()), (
        f"alerts/rules/ is stale: run `{RENDER}` and commit"
    )


def test_the_committed_runbooks_are_what_the_generator_renders() -> None:
    assert _committed(ALERTS / "runbooks", "*") == render_runbooks(_example_model()), (
        f"alerts/runbooks/ is stale: run `{RENDER}` and commit"
    )


def test_every_rendered_file_carries_the_stamp() -> None:
    model = _example_model()
    for text in [*render_rules(model).values(), *render_runbooks(model).values()]:
        assert STAMP in text.splitlines()[0]


def test_every_alert_name_is_in_the_catalog_and_has_a_runbook_that_exists() -> None:
    catalog = {
        value
        for name, value in vars(conventions).items()
        if name.startswith("ALERT_") and not name.startswith("ALERT_LABEL_")
    }
    files = rule_files(_example_model())
    names = alert_names(files)
    assert set(names) == catalog == set(RUNBOOKS)
    for groups in files.values():
        for group in groups:
            for rule in group["rules"]:
                if "alert" not in rule:
                    continue
                url = rule["annotations"]["runbook_url"]
                assert url == f"alerts/runbooks/{rule['alert']}.md"
                assert (ROOT / url).is_file(), url


def test_every_alert_has_severity_summary_and_a_description_with_its_value() -> None:
    for groups in rule_files(_example_model()).values():
        for group in groups:
            for rule in group["rules"]:
                if "alert" not in rule:
                    continue
                assert rule["labels"]["severity"] in ("page", "ticket", "info"), rule["alert"]
                assert rule["annotations"]["summary"]
                if not rule["expr"].startswith("absent("):  # absent() is 1, nothing to say
                    assert "$value" in rule["annotations"]["description"], rule["alert"]
                if "dataset=" in rule["expr"]:
                    assert "$labels.dataset" in rule["annotations"]["summary"], rule["alert"]


def test_rule_names_follow_level_metric_operations_and_cover_every_window() -> None:
    groups = rule_files(_example_model())["fraud.rules.yml"]
    records = [r["record"] for r in groups[0]["rules"]]
    pattern = re.compile(
        r"^dataset_slice:smote_slice_[a-z_]+:(ratio_)?rate(5m|30m|1h|2h|6h|1d|3d)$"
    )
    assert all(pattern.match(name) for name in records), records
    assert "dataset_slice:smote_slice_recall_errors:ratio_rate1h" in records
    assert "dataset_slice:smote_slice_support:rate3d" in records
    assert len(records) == 3 * 7


def test_the_rule_file_header_says_which_factors_and_budget_shares() -> None:
    settings = load_settings(
        datasets={"low": {"slo": {"minority_recall": 0.5}, "burn_rate_policy": "multiwindow"}},
    )
    text = render_rules(build_model(settings))["low.rules.yml"]
    assert "page at 1.8x over 1h (confirmed over 5m): error ratio > 0.9, 0.25% of the 30d" in text
    assert "14.4x would need a threshold >= 0.9, capped to the largest feasible factor" in text
    assert yaml.safe_load(text)["groups"][1]["rules"][0]["annotations"]["burn_rate"].startswith(
        "page at 1.8x"
    )


def test_write_replaces_changed_files_and_removes_stale_generated_ones(tmp_path: Path) -> None:
    (tmp_path / "gone.rules.yml").write_text(f"# {STAMP}\n")
    (tmp_path / "mine.rules.yml").write_text("# hand-written, kept\n")
    write({"a.rules.yml": "x\n"}, tmp_path, suffix=".rules.yml")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.rules.yml", "mine.rules.yml"]


def test_the_command_renders_checks_and_reports_the_factors(tmp_path: Path) -> None:
    config = tmp_path / "smote-monitor.yaml"
    config.write_text(
        "datasets:\n  coin: {slo: {minority_recall: 0.5}}\n  fraud: {}\n", encoding="utf-8"
    )
    done = run_cli(
        "-c", str(config), "alerts", "render", "--runbook-base-url", "https://x/rb", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert "coin: recall objective 0.5, burn_rate_policy seed" in done.stdout
    assert "page at 1.8x over 1h" in done.stdout and "capped" in done.stdout
    written = sorted(p.name for p in (tmp_path / "alerts" / "rules").iterdir())
    assert written == ["coin.rules.yml", "fraud.rules.yml", "smote-monitor.rules.yml"]
    assert "runbook_url: https://x/rb/SmoteMonitorDown.md" in (
        tmp_path / "alerts" / "rules" / "smote-monitor.rules.yml"
    ).read_text(encoding="utf-8")

    checked = run_cli(
        "-c",
        str(config),
        "alerts",
        "render",
        "--runbook-base-url",
        "https://x/rb",
        "--check",
        cwd=tmp_path,
    )
    assert checked.returncode == 0, checked.stderr
    stale = run_cli("-c", str(config), "alerts", "render", "--check", cwd=tmp_path)
    assert stale.returncode == 1 and "differ from the config" in stale.stderr
