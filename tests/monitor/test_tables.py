"""Defect 7: tables keep the names that identify rows whole, at 80 columns and through a pipe.

The identifying column (run key, dataset, feature, slice) is never cut or wrapped; the other
columns shrink or go first. Output that is not a terminal (a pipe, a file) is not cut to a
terminal width at all.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from smote_core import SMOTE
from smote_monitor import Monitor

from .cli_helpers import run_cli
from .test_records import VALID

WIDTHS = [pytest.param(80, id="COLUMNS=80"), pytest.param(None, id="pipe")]

RUN_KEY = "nightly-2026-11-28T02:00:00Z-retrain-with-new-features"
STATES = [f"state_{name}" for name in ("california", "new_york", "texas", "washington_dc")]
FEATURES = ["annual_income_verified_usd", "debt_to_income_ratio_percent", "hour"]

CONFIG = """
database_url: sqlite:///{db}
datasets:
  lending_club:
    target: bad_loan
    prediction: predicted
    positive_class: 1
    slices: [addr_state_of_the_borrower]
    categorical: [addr_state_of_the_borrower]
    slo: {{min_slice_support: 5}}
"""


def _lines_with(text: str, *parts: str) -> list[str]:
    return [line for line in text.splitlines() if all(part in line for part in parts)]


def _check_width(text: str, columns: int | None) -> None:
    if columns is not None:
        assert max(len(line) for line in text.splitlines()) <= columns, text


@pytest.mark.parametrize("columns", WIDTHS)
def test_runs_list_keeps_dataset_and_run_key_whole(
    sqlite_url: str, tmp_path: Path, columns: int | None
) -> None:
    url = ["--database-url", sqlite_url]
    record = {**VALID, "dataset": "lending_club", "run_key": RUN_KEY}
    assert run_cli(*url, "record", "-", cwd=tmp_path, stdin=json.dumps(record)).returncode == 0
    shown = run_cli(*url, "runs", "list", cwd=tmp_path, columns=columns)
    assert shown.returncode == 0, shown.stderr
    assert _lines_with(shown.stdout, "lending_club", RUN_KEY), shown.stdout
    _check_width(shown.stdout, columns)
    if columns is None:
        # nothing dropped or cut when nothing limits the width
        header = _lines_with(shown.stdout, "outcome", "variant", "ratio", "gap", "started")
        assert header and "…" not in shown.stdout, shown.stdout


@pytest.fixture
def evaluated_config(tmp_path: Path) -> Path:
    config = tmp_path / "smote-monitor.yaml"
    config.write_text(CONFIG.format(db=tmp_path / "store.db"))
    rng = np.random.default_rng(0)
    n = 1500
    y = (rng.random(n) < 0.1).astype(int)
    X = pd.DataFrame(
        {
            FEATURES[0]: rng.lognormal(10, 1, n) + 5000 * y,
            FEATURES[1]: rng.normal(20, 5, n),
            FEATURES[2]: rng.integers(0, 24, n).astype(float),
        }
    )
    mon = Monitor.from_config(config)
    with mon.track_run(dataset="lending_club", run_key=RUN_KEY) as run:
        run.resample(SMOTE(random_state=0), X, y)
        run.log_validation(
            train={"f1": 0.9}, validation={"f1": 0.88, "recall": 0.85, "precision": 0.75}
        )
    mon.store.dispose()
    window = X.copy()
    window["addr_state_of_the_borrower"] = rng.choice(STATES, n)
    window["bad_loan"] = y
    window["predicted"] = np.where(rng.random(n) < 0.8, y, 1 - y)
    window.to_csv(tmp_path / "window.csv", index=False)
    return config


@pytest.mark.parametrize("columns", WIDTHS)
def test_evaluate_keeps_feature_and_slice_names_whole(
    evaluated_config: Path, tmp_path: Path, columns: int | None
) -> None:
    done = run_cli(
        "--config",
        str(evaluated_config),
        "evaluate",
        "-d",
        "lending_club",
        "-p",
        "window.csv",
        cwd=tmp_path,
        columns=columns,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for feature in FEATURES:
        assert re.search(rf"^\s*{feature}\s", out, re.MULTILINE), out
    for state in STATES:
        name = f"addr_state_of_the_borrower={state}"
        rows = _lines_with(out, name)
        assert rows, out
        # the row still says something about the slice: its support at least
        assert re.search(rf"{re.escape(name)}\s+\d", rows[0]), out
    assert "addr_sta…" not in out
    _check_width(out, columns)
    if columns is None:
        assert "…" not in out, out
        assert _lines_with(out, "feature", "method", "threshold", "n ref", "n cur"), out
        assert _lines_with(out, "slice", "support", "recall", "precision", "f1", "fpr"), out
