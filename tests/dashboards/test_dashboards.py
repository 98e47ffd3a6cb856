"""The rendered Grafana dashboards: committed as generated, complete, and built from the catalog."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from dashboards import queries, render
from dashboards.panels import STAMP, models
from smote_monitor.config import SLOConfig
from smote_monitor.conventions import (
    DASHBOARD_DEBUG_UID,
    DASHBOARD_EXECUTIVE_UID,
    DASHBOARD_ONCALL_UID,
    DASHBOARD_UIDS,
    LABEL_DATASET,
    RUN_INFO,
    RUN_LAST_TIMESTAMP_SECONDS,
    RUN_SYNTHETIC_RATIO,
    RUN_VALIDATION_GAP,
    SLICE_PRECISION,
    SLICE_PREDICTIONS,
    SLICE_RECALL,
    SLICE_RECALL_LOWER,
    SLICE_RECALL_UPPER,
    SLICE_SUPPORT,
    MetricSpec,
)
from tests.dashboards.conftest import JSON_DIR, PROVISIONING_DIR, ROOT
from tests.dashboards.helpers import (
    ALLOWED_SERIES,
    all_exprs,
    panel_exprs,
    panels,
    series_names,
    thresholds,
    variable_queries,
    variables_referenced,
)
from tests.monitor.cli_helpers import run_cli

SLO = SLOConfig()


def _files(directory: Path) -> dict[str, str]:
    return {
        str(path.relative_to(directory)): path.read_text(encoding="utf-8")
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


# --- Committed == generated -------------------------------------------------------------------


def test_committed_dashboards_and_provisioning_are_what_the_generator_renders(
    tmp_path: Path,
) -> None:
    render.render(tmp_path / "json", tmp_path / "provisioning")
    for rendered, committed in (("json", JSON_DIR), ("provisioning", PROVISIONING_DIR)):
        assert _files(committed) == _files(tmp_path / rendered), (
            f"{committed} differs from the generator: run `smote-monitor dashboards render`"
        )


def test_the_cli_renders_the_committed_files(tmp_path: Path) -> None:
    result = run_cli("dashboards", "render", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    written = json.loads(result.stdout)["written"]
    assert len(written) == len(DASHBOARD_UIDS) + 2
    assert _files(tmp_path / "dashboards" / "json") == _files(JSON_DIR)
    assert _files(tmp_path / "dashboards" / "provisioning") == _files(PROVISIONING_DIR)


def test_check_passes_on_the_committed_files_and_names_a_stale_one_without_writing(
    tmp_path: Path,
) -> None:
    checked = run_cli("dashboards", "render", "--check", cwd=ROOT)
    assert checked.returncode == 0, checked.stderr
    assert "dashboard files are up to date" in checked.stdout
    run_cli("dashboards", "render", cwd=tmp_path)
    stale = tmp_path / "dashboards" / "json" / "smote-oncall.json"
    stale.write_text("{}\n", encoding="utf-8")
    missing = tmp_path / "dashboards" / "provisioning" / "datasources" / "prometheus.yml"
    missing.unlink()
    result = run_cli("dashboards", "render", "--check", cwd=tmp_path)
    assert result.returncode == 1
    assert "2 generated file(s) differ" in result.stderr
    assert "smote-oncall.json" in result.stderr and "prometheus.yml" in result.stderr
    assert stale.read_text(encoding="utf-8") == "{}\n" and not missing.exists()


def test_the_cli_draws_slo_lines_at_a_configured_dataset_targets(tmp_path: Path) -> None:
    config = tmp_path / "smote-monitor.yaml"
    config.write_text("datasets:\n  fraud:\n    slo: {minority_recall: 0.9}\n", encoding="utf-8")
    result = run_cli(
        "--config", str(config), "dashboards", "render", "--slo-dataset", "fraud",
        "--out", "out", "--no-provisioning", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        f"{uid}.json" for uid in DASHBOARD_UIDS
    )
    assert not (tmp_path / "dashboards").exists()
    oncall = json.loads((tmp_path / "out" / f"{DASHBOARD_ONCALL_UID}.json").read_text())
    recall = next(p for p in panels(oncall) if p["title"] == "Minority recall per slice")
    assert thresholds(recall) == [0.9]


def test_rendered_json_carries_the_generated_stamp_the_catalog_scan_honours() -> None:
    for path in JSON_DIR.glob("*.json"):
        text = path.read_text(encoding="utf-8")
        assert STAMP in text, path
        assert re.search(r"generated\W+do not edit", text), path  # tests/monitor/test_conventions


# --- What each dashboard holds ----------------------------------------------------------------


def test_each_dashboard_has_its_fixed_uid(boards: dict[str, dict[str, Any]]) -> None:
    assert set(boards) == set(DASHBOARD_UIDS)
    assert sorted(p.stem for p in JSON_DIR.glob("*.json")) == sorted(DASHBOARD_UIDS)
    assert DASHBOARD_UIDS == ("smote-executive", "smote-oncall", "smote-debug")  # DESIGN.md


def _variable(board: dict[str, Any], name: str) -> dict[str, Any]:
    found = [v for v in board["templating"]["list"] if v["name"] == name]
    assert found, f"{board['uid']}: no ${name} variable"
    return found[0]


def test_each_dashboard_picks_a_dataset_from_a_catalog_metric(
    boards: dict[str, dict[str, Any]],
) -> None:
    for board in boards.values():
        dataset = _variable(board, queries.VAR_DATASET)
        assert dataset["type"] == "query"
        assert dataset["query"] == f"label_values({RUN_INFO.sample_name}, {LABEL_DATASET})"
        assert _variable(board, queries.VAR_DATASOURCE)["type"] == "datasource"


@pytest.mark.parametrize(
    ("uid", "names"),
    [
        (DASHBOARD_EXECUTIVE_UID, {"dataset", "window"}),
        (DASHBOARD_ONCALL_UID, {"dataset", "slice", "window", "report_base_url"}),
        (DASHBOARD_DEBUG_UID, {"dataset", "slice", "feature", "report_base_url"}),
    ],
)
def test_variables_where_they_apply(
    boards: dict[str, dict[str, Any]], uid: str, names: set[str]
) -> None:
    declared = {v["name"] for v in boards[uid]["templating"]["list"]}
    assert declared == names | {queries.VAR_DATASOURCE}


def test_every_variable_a_dashboard_uses_is_declared(boards: dict[str, dict[str, Any]]) -> None:
    for board in boards.values():
        declared = {v["name"] for v in board["templating"]["list"]}
        used = variables_referenced(json.dumps(board))
        assert used <= declared, f"{board['uid']}: undeclared {used - declared}"


def test_multi_value_variables_are_matched_as_regexes(boards: dict[str, dict[str, Any]]) -> None:
    for board in boards.values():
        multi = {v["name"] for v in board["templating"]["list"] if v.get("multi")}
        for where, expr in all_exprs(board):
            for name in multi:
                assert f'="${name}"' not in expr, f"{board['uid']} {where}: use =~ for ${name}"


def test_smote_runs_are_annotations_on_every_dashboard(boards: dict[str, dict[str, Any]]) -> None:
    for board in boards.values():
        runs = [a for a in board["annotations"]["list"] if a["name"] == "SMOTE runs"]
        assert len(runs) == 1, board["uid"]
        assert runs[0]["enable"] is True
        assert series_names(runs[0]["expr"]) == {
            RUN_INFO.sample_name,
            RUN_LAST_TIMESTAMP_SECONDS.sample_name,
        }
        assert "changes(" in runs[0]["expr"]
        assert "run_id" in runs[0]["titleFormat"]


def test_every_panel_has_a_unit_and_a_description(boards: dict[str, dict[str, Any]]) -> None:
    for board in boards.values():
        for panel in panels(board):
            assert panel["fieldConfig"]["defaults"].get("unit"), (board["uid"], panel["title"])
            assert panel.get("description"), (board["uid"], panel["title"])


def test_panel_ids_are_unique_and_stable(boards: dict[str, dict[str, Any]]) -> None:
    for board in boards.values():
        ids = [panel["id"] for panel in board["panels"]]
        assert ids == list(range(1, len(ids) + 1)), board["uid"]


# The SLI each metric shows and the SLO values its panel must draw.
SLO_LINES: dict[str, tuple[float, ...]] = {
    SLICE_RECALL.sample_name: (SLO.minority_recall,),
    SLICE_RECALL_LOWER.sample_name: (SLO.minority_recall,),
    SLICE_RECALL_UPPER.sample_name: (SLO.minority_recall,),
    SLICE_PRECISION.sample_name: (SLO.minority_precision,),
    SLICE_SUPPORT.sample_name: (float(SLO.min_slice_support),),
    RUN_SYNTHETIC_RATIO.sample_name: SLO.synthetic_ratio,
    RUN_VALIDATION_GAP.sample_name: (SLO.validation_gap_max,),
}


def _sli_panels(boards: dict[str, dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for board in boards.values():
        for panel in panels(board):
            if panel["type"] == "table":  # counts and run ids, no objective to draw
                continue
            names = set().union(*(series_names(t["expr"]) for t in panel.get("targets", [])))
            if names & set(SLO_LINES) or SLICE_PREDICTIONS.sample_name in names:
                found.append((board["uid"], panel))
    return found


def test_sli_panels_draw_their_slo_from_the_slo_defaults(
    boards: dict[str, dict[str, Any]],
) -> None:
    sli_panels = _sli_panels(boards)
    assert len(sli_panels) >= 10
    for uid, panel in sli_panels:
        names = set().union(*(series_names(t["expr"]) for t in panel["targets"]))
        expected = {value for name in names & set(SLO_LINES) for value in SLO_LINES[name]}
        steps = thresholds(panel)
        assert expected <= set(steps), (uid, panel["title"], steps)
        assert steps, (uid, panel["title"])
        if panel["type"] == "timeseries":
            style = panel["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]["mode"]
            assert style != "off", (uid, panel["title"])


def test_burn_rate_and_budget_use_the_recall_objective_on_the_raw_counter(
    boards: dict[str, dict[str, Any]],
) -> None:
    budget = 1 - SLO.minority_recall
    burn = [
        (uid, panel)
        for uid, panel in _sli_panels(boards)
        if "burn" in panel["title"].lower() or "budget" in panel["title"].lower()
    ]
    assert {uid for uid, _ in burn} == {DASHBOARD_EXECUTIVE_UID, DASHBOARD_ONCALL_UID}
    for uid, panel in burn:
        for target in panel["targets"]:
            assert series_names(target["expr"]) == {SLICE_PREDICTIONS.sample_name}
            assert target["expr"].endswith(f"/ {budget:.10g}"), (uid, target["expr"])


def test_slo_lines_follow_a_non_default_slo() -> None:
    from dashboards import oncall

    slo = SLOConfig(minority_recall=0.9, minority_precision=0.6)
    board = render.dashboard_json(oncall.build(slo))
    by_title = {panel["title"]: panel for panel in panels(board)}
    assert thresholds(by_title["Minority recall per slice"]) == [0.9]
    assert thresholds(by_title["Minority precision per slice"]) == [0.6]
    for target in by_title["Burn rate, whole dataset"]["targets"]:
        assert target["expr"].endswith("/ 0.1")


def test_firing_alerts_panel_reads_prometheus_alerts_of_smote_rules(
    boards: dict[str, dict[str, Any]],
) -> None:
    exprs = [expr for _, expr in panel_exprs(boards[DASHBOARD_ONCALL_UID])]
    assert 'ALERTS{alertname=~"Smote.*",alertstate="firing"}' in exprs


def test_run_reports_are_linked_through_the_base_url_variable(
    boards: dict[str, dict[str, Any]],
) -> None:
    for uid in (DASHBOARD_ONCALL_UID, DASHBOARD_DEBUG_UID):
        links = [
            link
            for panel in panels(boards[uid])
            for link in panel["fieldConfig"]["defaults"].get("links", [])
        ]
        assert [link["url"] for link in links] == [
            "${report_base_url}/api/v1/runs/${__data.fields.run_id}/report"
        ], uid
        base = _variable(boards[uid], queries.VAR_REPORT_BASE_URL)
        assert base["type"] == "textbox"
        assert base["query"] == "http://127.0.0.1:9464"


@pytest.mark.parametrize(
    ("uid", "must_show"),
    [
        (DASHBOARD_EXECUTIVE_UID, {"smote_slice_recall", "smote_run_synthetic_ratio",
                                   "smote_dataset_drift_share", "smote_slice_predictions_total"}),
        (DASHBOARD_ONCALL_UID, {"smote_slice_recall", "smote_slice_precision", "ALERTS",
                                "smote_run_info", "smote_runs_total",
                                "smote_monitor_job_failures_total",
                                "smote_monitor_job_last_success_timestamp_seconds",
                                "smote_slice_predictions_total"}),
        (DASHBOARD_DEBUG_UID, {"smote_feature_drift_score", "smote_synthetic_shift_score",
                               "smote_run_neighbor_distance",
                               "smote_run_synthetic_near_duplicate_ratio",
                               "smote_slice_predictions_total", "smote_run_duration_seconds",
                               "smote_run_peak_memory_bytes", "smote_run_info"}),
    ],
)  # fmt: skip
def test_each_dashboard_shows_what_the_design_lists(
    boards: dict[str, dict[str, Any]], uid: str, must_show: set[str]
) -> None:
    shown = set().union(*(series_names(expr) for _, expr in panel_exprs(boards[uid])))
    assert must_show <= shown


# --- Queries: catalog names only, valid PromQL ------------------------------------------------


def test_every_query_selects_only_catalog_series(boards: dict[str, dict[str, Any]]) -> None:
    for board in boards.values():
        for where, expr in all_exprs(board):
            names = series_names(expr)
            assert names, f"{board['uid']} {where}: no series in {expr!r}"
            assert names <= ALLOWED_SERIES, f"{board['uid']} {where}: {names - ALLOWED_SERIES}"


def test_variables_take_labels_their_metric_carries(boards: dict[str, dict[str, Any]]) -> None:
    from smote_monitor.conventions import CATALOG

    by_sample = {spec.sample_name: spec for spec in CATALOG}
    for board in boards.values():
        for name, series, label in variable_queries(board):
            (metric,) = series_names(series)
            assert label in by_sample[metric].labels, (board["uid"], name)


def test_the_series_scan_sees_through_promql_syntax() -> None:
    expr = (
        'histogram_quantile(0.9, sum by (job, le) (rate(a_bucket{x="b c"}[$__rate_interval]))) '
        "/ on (dataset) group_left (run_id) b and c or vector(1) > bool 0"
    )
    assert series_names(expr) == {"a_bucket", "b", "c"}


SAMPLE_VALUES = {
    "__rate_interval": "5m",
    "__interval": "5m",
    "__range": "30d",
    queries.VAR_DATASET: "fraud",
    queries.VAR_SLICE: "all",
    queries.VAR_WINDOW: "1h",
    queries.VAR_FEATURE: "amount",
}


def _substituted(expr: str) -> str:
    def value(match: re.Match[str]) -> str:
        return SAMPLE_VALUES[match.group(1)]

    return re.sub(r"\$\{?(\w+)\}?", value, expr)


def test_every_query_parses_with_promtool(
    boards: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian: apt-get install prometheus); CI has it")
    rules = [
        {"record": f"dashboard:check_{i}", "expr": _substituted(expr)}
        for i, (_, expr) in enumerate(
            item for board in boards.values() for item in all_exprs(board)
        )
    ]
    assert len(rules) > 40
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(
        yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}), encoding="utf-8"
    )
    result = subprocess.run(
        [promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules)} rules found" in result.stdout


def test_promtool_would_catch_a_broken_query(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian: apt-get install prometheus); CI has it")
    path = tmp_path / "broken.yml"
    broken = {"record": "dashboard:broken", "expr": "sum by (slice (rate(x[5m]))"}
    path.write_text(yaml.safe_dump({"groups": [{"name": "g", "rules": [broken]}]}))
    result = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True)
    assert result.returncode != 0


# --- The SDK round trip -----------------------------------------------------------------------


def test_rendered_json_loads_back_through_the_sdk_unchanged() -> None:
    for path in sorted(JSON_DIR.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        again = render.dashboard_json(models.Dashboard.from_json(data))
        assert again == data, path.name


# --- Provisioning -----------------------------------------------------------------------------


def test_provisioning_points_grafana_at_the_json_folder_and_prometheus() -> None:
    provider = yaml.safe_load((PROVISIONING_DIR / "dashboards" / "smote-monitor.yml").read_text())
    (entry,) = provider["providers"]
    assert provider["apiVersion"] == 1
    assert entry["type"] == "file"
    assert entry["options"]["path"] == render.GRAFANA_DASHBOARDS_PATH
    datasources = yaml.safe_load((PROVISIONING_DIR / "datasources" / "prometheus.yml").read_text())
    (source,) = datasources["datasources"]
    assert source["type"] == "prometheus"
    assert source["uid"] == render.DATASOURCE_UID


# --- The query builders -----------------------------------------------------------------------


def test_a_matcher_on_a_label_the_metric_lacks_is_refused() -> None:
    with pytest.raises(ValueError, match=r"smote_run_synthetic_ratio has labels \['dataset'\]"):
        queries.selector(RUN_SYNTHETIC_RATIO, {"slice": "all"})
    with pytest.raises(ValueError, match="outcome 'maybe'"):
        queries.predictions(("maybe",))
    with pytest.raises(ValueError, match="suffix '_bucket'"):
        queries.selector(SLICE_RECALL, {}, suffix="_bucket")


def test_matcher_values_are_escaped() -> None:
    spec: MetricSpec = RUN_SYNTHETIC_RATIO
    assert queries.selector(spec, {"dataset": 'a"b\\c'}) == (
        'smote_run_synthetic_ratio{dataset="a\\"b\\\\c"}'
    )
    assert queries.selector(spec, {"dataset": queries.Regex("f.*")}) == (
        'smote_run_synthetic_ratio{dataset=~"f.*"}'
    )


def test_burn_rate_divides_by_the_budget_without_float_noise() -> None:
    assert queries.burn_rate("1h", 0.8).endswith(") / 0.2")
    assert queries.error_budget_left(0.95).endswith(") / 0.05")
