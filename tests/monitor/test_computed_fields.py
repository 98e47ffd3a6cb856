"""The gate and the leakage verdict are computed by smote-monitor, never taken from a client."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from smote_monitor import InvalidInputError, Monitor
from smote_monitor.store.runs import list_runs
from tests.store_access import read

from .cli_helpers import run_cli
from .test_records import VALID

FORGED = {
    "gate": {"passed": True, "checks": []},
    "leakage": {"suspected": False, "evidence": {}},
}


@pytest.mark.parametrize("field", ["gate", "leakage"])
def test_monitor_record_refuses_a_client_gate_or_leakage_verdict(
    sqlite_url: str, tmp_path: Path, field: str
) -> None:
    monitor = Monitor.from_url(sqlite_url, spool_dir=tmp_path / "spool")
    forged = {**VALID, "metrics": {"validation": {"recall": 0.1}}, field: FORGED[field]}
    with pytest.raises(InvalidInputError, match=rf"^{field}: got .*computed by smote-monitor"):
        monitor.record(forged)
    assert read(monitor.store, list_runs) == []


def test_cli_record_refuses_a_forged_gate_and_stores_nothing(
    sqlite_url: str, tmp_path: Path
) -> None:
    url = ["--database-url", sqlite_url]
    forged = {**VALID, "metrics": {"validation": {"recall": 0.1}}, **FORGED}
    done = run_cli(*url, "record", "-", cwd=tmp_path, stdin=json.dumps(forged))
    assert done.returncode == 2, done.stderr
    assert "gate: got" in done.stderr and "computed by smote-monitor" in done.stderr
    # Refused before the store was touched: there is not even a store to list.
    listed = run_cli(*url, "runs", "list", "--json", cwd=tmp_path)
    assert listed.returncode == 2 and "no store at" in listed.stderr


def test_runs_show_json_keeps_computed_fields_apart_and_is_accepted_back(
    store_url: str, tmp_path: Path
) -> None:
    url = ["--database-url", store_url]
    assert run_cli(*url, "record", "-", cwd=tmp_path, stdin=json.dumps(VALID)).returncode == 0
    shown = run_cli(*url, "runs", "show", "1", "--json", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    detail = json.loads(shown.stdout)
    assert "gate" not in detail and "leakage" not in detail and "id" not in detail
    computed = detail["computed"]
    assert computed["id"] == 1 and computed["outcome"] == "passed"
    assert computed["gate"]["passed"] is True and computed["leakage"] is None
    assert computed["validation_gap"] == pytest.approx(0.03)

    again = run_cli(*url, "record", "-", "--json", cwd=tmp_path, stdin=shown.stdout)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == {
        "dataset": "fraud",
        "run_key": "2026-11-28",
        "run_id": 1,
        "action": "duplicate",
    }


def test_record_refuses_a_computed_key_that_is_not_an_object(sqlite_url: str) -> None:
    monitor = Monitor.from_url(sqlite_url)
    with pytest.raises(InvalidInputError, match=r"^computed: got 5; expected an object"):
        monitor.record({**VALID, "computed": 5})
