"""Run records: which metrics are ratios, what is derived, one outcome vocabulary, known
datasets, and a discoverable input format (defect 9)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from smote_monitor import InvalidInputError, Monitor
from smote_monitor.conventions import OUTCOME_RUNNING, RUN_OUTCOMES
from smote_monitor.records import RATIO_METRICS, RunInput, parse_run_record

from .cli_helpers import run_cli
from .test_records import VALID


def test_only_ratio_metrics_are_bounded_to_0_1() -> None:
    record = parse_run_record(
        {**VALID, "metrics": {"validation": {"log_loss": 2.7, "mse": 14.5, "recall": 0.9}}}
    )
    assert record.metrics["validation"] == {"log_loss": 2.7, "mse": 14.5, "recall": 0.9}
    assert {"f1", "recall", "precision", "roc_auc", "pr_auc", "balanced_accuracy"} <= set(
        RATIO_METRICS
    )
    with pytest.raises(
        InvalidInputError,
        match=r"^metrics\.validation\.roc_auc: got 1\.2; expected less than or equal to 1 "
        r"\(roc_auc is a ratio",
    ):
        parse_run_record({**VALID, "metrics": {"validation": {"roc_auc": 1.2}}})
    with pytest.raises(InvalidInputError, match=r"^metrics\.train\.mse: got inf; expected a fin"):
        parse_run_record({**VALID, "metrics": {"train": {"mse": float("inf")}}})
    with pytest.raises(InvalidInputError, match=r"^metrics\.train\.recall: got -0\.1; expected gr"):
        parse_run_record({**VALID, "metrics": {"train": {"recall": -0.1}}})


def test_n_synthetic_and_the_ratio_are_derived_from_the_class_counts() -> None:
    data = {k: v for k, v in VALID.items() if k != "n_synthetic"}
    record = parse_run_record(data)
    assert record.n_synthetic == 800
    assert record.synthetic_ratio == pytest.approx(800 / 1800)


def test_nothing_is_derived_when_a_class_shrank() -> None:
    # SMOTETomek / SMOTEENN also remove rows: after − before is not the synthetic count.
    data = {k: v for k, v in VALID.items() if k != "n_synthetic"}
    record = parse_run_record({**data, "class_counts_after": {"0": 850, "1": 880}})
    assert record.n_synthetic is None and record.synthetic_ratio is None


def _record(url: str, tmp_path: Path, payload: object, *extra: str) -> None:
    done = run_cli(
        "--database-url", url, "record", "-", *extra, cwd=tmp_path, stdin=json.dumps(payload)
    )
    assert done.returncode == 0, done.stderr


def test_one_outcome_vocabulary_is_shown_and_filtered(store_url: str, tmp_path: Path) -> None:
    url = ["--database-url", store_url]
    _record(store_url, tmp_path, {**VALID, "run_key": "ok"})
    _record(
        store_url,
        tmp_path,
        {
            **VALID,
            "run_key": "weak",
            "metrics": {"train": {"f1": 0.5}, "validation": {"f1": 0.5, "recall": 0.5}},
        },
    )
    _record(
        store_url,
        tmp_path,
        {**VALID, "run_key": "broke", "status": "failed", "error": "MemoryError"},
    )
    Monitor.from_url(store_url).track_run(dataset="fraud", run_key="open").__enter__()

    expected = {"passed": "ok", "gate_failed": "weak", "error": "broke", "running": "open"}
    assert set(expected) == {*RUN_OUTCOMES, OUTCOME_RUNNING}
    for outcome, key in expected.items():
        listed = run_cli(*url, "runs", "list", "--status", outcome, "--json", cwd=tmp_path)
        assert listed.returncode == 0, listed.stderr
        runs = json.loads(listed.stdout)
        assert [(r["run_key"], r["computed"]["outcome"]) for r in runs] == [(key, outcome)]
    weak = json.loads(
        run_cli(*url, "runs", "list", "--status", "gate_failed", "--json", cwd=tmp_path).stdout
    )[0]
    shown = run_cli(*url, "runs", "show", str(weak["computed"]["id"]), cwd=tmp_path)
    first_line = shown.stdout.splitlines()[0]
    assert "gate_failed" in first_line and "succeeded" not in shown.stdout
    refused = run_cli(*url, "runs", "list", "--status", "succeeded", cwd=tmp_path)
    assert refused.returncode == 2
    assert "passed" in refused.stderr and "gate_failed" in refused.stderr


CONFIG = "datasets:\n  fraud: {}\n  churn: {}\n"


def test_a_dataset_the_config_does_not_list_is_refused(sqlite_url: str, tmp_path: Path) -> None:
    config = tmp_path / "smote-monitor.yaml"
    config.write_text(f"database_url: {sqlite_url}\n{CONFIG}")
    monitor = Monitor.from_config(config)
    message = r"^dataset: got 'fruad'; expected a dataset the config lists \(churn, fraud\)"
    with pytest.raises(InvalidInputError, match=message):
        monitor.record({**VALID, "dataset": "fruad"})
    with pytest.raises(InvalidInputError, match=message):
        monitor.track_run(dataset="fruad")
    assert monitor.record(VALID) is not None
    done = run_cli(
        "--config",
        str(config),
        "record",
        "-",
        cwd=tmp_path,
        stdin=json.dumps({**VALID, "dataset": "fruad"}),
    )
    assert done.returncode == 2 and "expected a dataset the config lists" in done.stderr
    # a config that lists no datasets takes any
    assert Monitor.from_url(sqlite_url).record({**VALID, "dataset": "other"}) is not None


def test_record_schema_is_the_input_models_json_schema(tmp_path: Path) -> None:
    done = run_cli("record", "--schema", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    schema = json.loads(done.stdout)
    assert set(RunInput.model_json_schema()["properties"]) <= set(schema["properties"])
    assert "gate" not in schema["properties"] and "leakage" not in schema["properties"]
    assert schema["required"] == ["dataset"]
    assert "computed" in schema["properties"]  # what runs show --json adds; record discards it
    missing = run_cli("record", cwd=tmp_path)
    assert missing.returncode == 2 and "FILE" in missing.stderr


def test_the_readme_documents_every_record_field() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme.split("### Recording runs as JSON")[1].split("\n## ")[0]
    first_cells = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    for name in RunInput.model_fields:
        assert any(f"`{name}`" in cell for cell in first_cells), name
