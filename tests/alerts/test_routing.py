"""The routing-tree walk against the real amtool: the same receivers for the same labels."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from alerts.routing import route
from tests.alerts.conftest import ALERTS, run_tool, write_yaml

EXAMPLE = ALERTS / "alertmanager.yml"

LABEL_SETS = [
    {"severity": "page", "alertname": "SmoteMinorityRecallBudgetBurn", "dataset": "fraud"},
    {"severity": "ticket", "alertname": "SmoteSliceRecallBelowSLO", "dataset": "fraud"},
    {"severity": "info", "alertname": "SmoteRetrainInProgress", "dataset": "fraud"},
    {"severity": "page", "cause": "monitor", "alertname": "SmoteMonitorDown"},
    {"severity": "ticket", "cause": "drift", "dataset": "churn"},
    {"severity": "ticket", "cause": "retrain", "dataset": "fraud"},
    {"severity": "critical", "cause": "minority_recall", "dataset": "fraud"},
    {"alertname": "NoSeverity"},
]

# Nested routes, continue, match / match_re, an inherited receiver, negative matchers.
TREE = {
    "route": {
        "receiver": "default",
        "routes": [
            {"matchers": ['severity="page"'], "receiver": "pager", "continue": True},
            {
                "match_re": {"cause": "minority_.*|drift"},
                "receiver": "ml-team",
                "routes": [
                    {"match": {"dataset": "fraud"}, "receiver": "fraud-team"},
                    {"matchers": ['{dataset=~"ch.*", severity!="info"}']},
                ],
            },
            {"matchers": ["severity=~ticket|info", 'cause!~"monitor"'], "receiver": "ticket"},
        ],
    },
    "receivers": [{"name": n} for n in ("default", "pager", "ml-team", "fraud-team", "ticket")],
}
TREE_LABEL_SETS = [
    {"severity": "page", "cause": "minority_recall", "dataset": "fraud"},
    {"severity": "page", "cause": "minority_recall", "dataset": "churn"},
    {"severity": "page", "cause": "monitor"},
    {"severity": "ticket", "cause": "drift", "dataset": "churn"},
    {"severity": "info", "cause": "drift", "dataset": "churn"},
    {"severity": "ticket", "cause": "retrain", "dataset": "coin"},
    {"severity": "ticket", "cause": "monitor"},
    {"cause": "minority_precision"},
]


def amtool_receivers(amtool: str, config: Path, labels: dict[str, str]) -> list[str]:
    done = run_tool(
        amtool,
        "config",
        "routes",
        "test",
        f"--config.file={config}",
        *(f"{k}={v}" for k, v in labels.items()),
    )
    return done.stdout.strip().split(",")


@pytest.mark.parametrize("labels", LABEL_SETS, ids=lambda lb: ",".join(lb.values()))
def test_the_example_routes_as_amtool_says(amtool: str, labels: dict[str, str]) -> None:
    config = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    assert route(config, labels) == amtool_receivers(amtool, EXAMPLE, labels)


def test_a_tree_with_continue_and_inheritance_routes_as_amtool_says(
    amtool: str, tmp_path: Path
) -> None:
    config = write_yaml(tmp_path / "am.yml", TREE)
    run_tool(amtool, "check-config", str(config))
    answers = {}
    for labels in TREE_LABEL_SETS:
        answers[tuple(labels.values())] = route(TREE, labels)
        assert answers[tuple(labels.values())] == amtool_receivers(amtool, config, labels), labels
    # The cases show what they are for: continue, inheritance, the fallback.
    assert answers[("page", "minority_recall", "fraud")] == ["pager", "fraud-team"]
    assert answers[("ticket", "drift", "churn")] == ["ml-team"]
    assert answers[("ticket", "monitor")] == ["default"]


def test_a_config_without_a_root_receiver_is_refused() -> None:
    with pytest.raises(ValueError, match=r"route\.receiver: the root route has no receiver"):
        route({"route": {"routes": []}}, {"severity": "page"})
    with pytest.raises(ValueError, match=r"route.routes\[0\].matchers\[0\]: got 'severity'"):
        route({"route": {"receiver": "x", "routes": [{"matchers": ["severity"]}]}}, {})
