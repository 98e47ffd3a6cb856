"""The Alertmanager example under the real amtool: valid, and routing page / ticket / info."""

from __future__ import annotations

import pytest
import yaml

from smote_monitor import conventions
from tests.alerts.conftest import ALERTS, run_tool

CONFIG = ALERTS / "alertmanager.yml"


def test_amtool_accepts_the_example(amtool: str) -> None:
    run_tool(amtool, "check-config", str(CONFIG))


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (("severity=page", "alertname=SmoteMinorityRecallBudgetBurn", "dataset=fraud"), "pager"),
        (("severity=ticket", "alertname=SmoteSliceRecallBelowSLO", "dataset=fraud"), "ticket"),
        (("severity=info", "alertname=SmoteRetrainInProgress", "dataset=fraud"), "null"),
    ],
)
def test_amtool_routes_each_severity_to_its_receiver(
    amtool: str, labels: tuple[str, ...], receiver: str
) -> None:
    done = run_tool(
        amtool,
        "config",
        "routes",
        "test",
        f"--config.file={CONFIG}",
        "--verify.receivers",
        receiver,
        *labels,
    )
    assert done.stdout.strip() == receiver


def test_inhibitions_use_the_rules_labels_and_alert_names() -> None:
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    assert config["route"]["group_by"] == ["alertname", conventions.LABEL_DATASET]
    page, retrain = config["inhibit_rules"]
    severity = conventions.ALERT_LABEL_SEVERITY
    assert page["source_matchers"] == [f'{severity}="{conventions.SEVERITY_PAGE}"']
    assert page["target_matchers"] == [f'{severity}="{conventions.SEVERITY_TICKET}"']
    assert page["equal"] == [conventions.LABEL_DATASET, conventions.ALERT_LABEL_CAUSE]
    assert retrain["source_matchers"] == [f'alertname="{conventions.ALERT_RETRAIN_IN_PROGRESS}"']
    assert retrain["equal"] == [conventions.LABEL_DATASET]
    ticket_route = next(
        r for r in config["route"]["routes"] if r["matchers"] == [f'{severity}="ticket"']
    )
    names = {interval["name"] for interval in config["time_intervals"]}
    assert set(ticket_route["mute_time_intervals"]) <= names
