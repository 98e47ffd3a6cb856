"""``smote-monitor demo`` runs the loop on the bundled real dataset, on the SQLite default."""

from __future__ import annotations

import json
from pathlib import Path

from .cli_helpers import run_cli


def test_demo_records_one_real_run_on_the_default_store_and_is_idempotent(tmp_path: Path) -> None:
    # through a pipe with no $COLUMNS first, then on an 80-column terminal: the runs table keeps
    # the dataset and the run key whole on one line either way
    first = run_cli("demo", cwd=tmp_path, columns=None)
    assert first.returncode == 0, first.stderr
    assert "modeldata::lending_club" in first.stdout
    assert "class counts 0: 7,005 → 7,005, 1: 388 → 7,005" in first.stdout
    assert (tmp_path / "smote-monitor.db").exists()
    # the rate rise is caught as drift of int_rate, the window as served is not drifted
    assert "window served: 2,464 loans; drifted features: none" in first.stdout
    assert "window rates+4pp: 2,464 loans; drifted features: int_rate" in first.stdout

    again = run_cli("demo", cwd=tmp_path, columns=80)
    assert again.returncode == 0, again.stderr
    for shown in (first, again):
        assert [line for line in shown.stdout.splitlines() if "lending_club   demo-seed-0" in line]
    assert "…" not in first.stdout
    runs = json.loads(run_cli("runs", "list", "--json", cwd=tmp_path).stdout)
    assert len(runs) == 1
    run = runs[0]
    assert (run["dataset"], run["run_key"], run["variant"]) == (
        "lending_club",
        "demo-seed-0",
        "SMOTE",
    )
    # 7,393 training loans, 388 bad: SMOTE grows the bad loans to the 7,005 good ones.
    assert run["class_counts_after"] == {"0": 7005, "1": 7005}
    assert run["n_synthetic"] == 7005 - 388
    assert run["computed"]["gate"] is not None and len(run["computed"]["gate"]["checks"]) == 5
    assert run["computed"]["leakage"]["suspected"] is False
    assert len(run["audit_sample"]) > 0
