"""``smote-monitor demo`` runs the loop on the bundled real dataset, on the SQLite default."""

from __future__ import annotations

import json
from pathlib import Path

from .cli_helpers import run_cli


def test_demo_records_one_real_run_on_the_default_store_and_is_idempotent(tmp_path: Path) -> None:
    # through a pipe with no $COLUMNS first, then on an 80-column terminal: the tables keep the
    # dataset, the run key and the slice whole on one line either way
    first = run_cli("demo", cwd=tmp_path, columns=None)
    assert first.returncode == 0, first.stderr
    out = first.stdout
    assert "modeldata::lending_club" in out
    assert "4,928 train / 1,971 validation / 2,958 production" in out
    assert "class counts 0: 4,670 → 4,670, 1: 258 → 4,670" in out
    assert "SLOs set to what this model reaches on validation" in out
    assert "gate passed" in out
    assert (tmp_path / "smote-monitor.db").exists()
    # the production split as served is not drifted; the injected features, and only they, are
    assert "window served: 2,958 loans; drifted features: none" in out
    assert "window drifted+degraded: 2,958 loans; drifted features: int_rate, annual_inc" in out
    served, broken = out.split("window served:")[1].split("window drifted+degraded:")
    # healthy: no slice below the recall SLO; degraded: 60-month loans below it, 36-month not
    assert "below 0.65" not in served
    degraded_rows = {line.split()[0]: line for line in broken.splitlines() if "term=" in line}
    assert "below 0.65" in degraded_rows["term=term_60"]
    assert "below 0.65" not in degraded_rows["term=term_36"]

    again = run_cli("demo", cwd=tmp_path, columns=80)
    assert again.returncode == 0, again.stderr
    for shown in (first, again):
        assert [line for line in shown.stdout.splitlines() if "lending_club   demo-seed-0" in line]
        assert [line for line in shown.stdout.splitlines() if line.startswith(" term=term_60 ")]
    runs = json.loads(run_cli("runs", "list", "--json", cwd=tmp_path).stdout)
    assert len(runs) == 1
    run = runs[0]
    assert (run["dataset"], run["run_key"], run["variant"]) == (
        "lending_club",
        "demo-seed-0",
        "SMOTE",
    )
    # 4,928 training loans, 258 bad: SMOTE grows the bad loans to the 4,670 good ones.
    assert run["class_counts_after"] == {"0": 4670, "1": 4670}
    assert run["n_synthetic"] == 4670 - 258
    assert run["computed"]["gate"]["passed"] is True
    assert len(run["computed"]["gate"]["checks"]) == 5
    assert run["computed"]["leakage"]["suspected"] is False
    assert len(run["audit_sample"]) > 0
