"""``smote-monitor report``: marginals rebuilt from profiles, and the real command end to end."""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from smote_monitor.drift import ColumnKind, ProfileSettings, build_profiles, profile_values
from smote_monitor.drift.reference import AUGMENTED, REAL
from smote_monitor.records import parse_run_record
from smote_monitor.reports import profiles_to_frame
from smote_monitor.store import Store
from smote_monitor.store.models import Run
from smote_monitor.store.profiles import replace_profiles
from smote_monitor.tracking.persist import persist_run

from .cli_helpers import run_cli
from .test_records import VALID


def test_exact_profiles_rebuild_the_same_value_counts_and_missing() -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 50, 3000).astype(float) / 4
    x[rng.choice(3000, 37, replace=False)] = np.nan
    cat = rng.choice(["a", "b", "c"], 2000).astype(object)
    cat[:11] = None
    profiles = {
        "x": profile_values("x", x, ColumnKind.NUMERIC),
        "cat": profile_values("cat", cat, ColumnKind.CATEGORICAL),
    }
    frame = profiles_to_frame(profiles)

    assert len(frame) == 3000  # the longest column; "cat" is padded with missing values
    pd.testing.assert_series_equal(
        frame["x"].value_counts().sort_index(),
        pd.Series(x).value_counts().sort_index(),
        check_names=False,
    )
    assert frame["x"].isna().sum() == 37
    assert frame["cat"].iloc[:2000].value_counts().to_dict() == (
        pd.Series(cat).value_counts().to_dict()
    )
    assert frame["cat"].isna().sum() == 11 + 1000


def test_sketch_profiles_stay_within_half_a_bin_of_every_order_statistic() -> None:
    rng = np.random.default_rng(1)
    x = rng.lognormal(size=20_000)
    x[:5] = np.nan
    profile = profile_values("x", x, ColumnKind.NUMERIC, ProfileSettings(exact_cap=1000))
    assert profile.mode == "sketch" and profile.sketch is not None
    width = profile.sketch.width

    rebuilt = profiles_to_frame({"x": profile})["x"]

    assert rebuilt.isna().sum() == 5
    error = np.abs(np.sort(rebuilt.dropna().to_numpy()) - np.sort(x[5:]))
    assert error.max() <= width / 2
    assert error.max() > 0  # it is an approximation, not a copy


def test_large_profiles_are_scaled_down_proportionally() -> None:
    values = np.repeat([1.0, 2.0, 3.0, np.nan], [6000, 3000, 999, 1])
    frame = profiles_to_frame({"x": profile_values("x", values, ColumnKind.NUMERIC)}, max_rows=100)

    assert len(frame) == 100
    assert frame["x"].value_counts().to_dict() == {1.0: 60, 2.0: 30, 3.0: 10}
    assert frame["x"].isna().sum() == 0  # 0.01 missing rows round away


def test_loading_the_cli_does_not_import_evidently() -> None:
    code = "import sys, smote_monitor.cli.app; print('evidently' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_max_rows_must_be_positive() -> None:
    with pytest.raises(ValueError, match=r"max_rows: got 0; expected an int >= 1"):
        profiles_to_frame({}, max_rows=0)


# --- the real command -----------------------------------------------------------------------


def _training(seed: int, n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "amount": rng.lognormal(3, 1, n),
            "hour": rng.integers(0, 24, n),
            "merchant_category": rng.choice(["food", "travel", "tech"], n),
        }
    )


def _store_run(url: str, run_key: str, splits: dict[str, pd.DataFrame]) -> int:
    store = Store(url)
    run_id = persist_run(store, parse_run_record({**VALID, "run_key": run_key})).run_id
    profiles = {
        split: build_profiles(frame, categorical=["merchant_category"])
        for split, frame in splits.items()
    }
    with store.write() as session:
        run = session.get(Run, run_id)
        assert run is not None
        replace_profiles(session, run.id, profiles)
    store.engine.dispose()
    return run_id


@pytest.mark.slow
def test_report_of_a_run_and_of_a_production_file(sqlite_url: str, tmp_path: Path) -> None:
    real = _training(0)
    augmented = pd.concat([real, _training(1, 300).assign(amount=lambda f: f.amount * 3)])
    run_id = _store_run(sqlite_url, "r1", {REAL: real, AUGMENTED: augmented})
    url = ["--database-url", sqlite_url]

    done = run_cli(*url, "report", "--run", str(run_id), cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    html = tmp_path / f"smote-report-run-{run_id}.html"
    assert f"wrote {html}" in done.stdout
    # SMOTE-like rows tripled "amount" for 300 of 700 rows; the other features kept their law.
    assert "drift share 0.333 (1 of 3 features drifted" in done.stdout
    text = html.read_text(encoding="utf-8")
    assert len(text) > 100_000
    for feature in ("amount", "hour", "merchant_category"):
        assert feature in text

    production = _training(2, 500).assign(amount=lambda f: f.amount + 50, unprofiled_column_q=1)
    production.loc[:4, "amount"] = np.nan
    source = tmp_path / "window.csv"
    production.to_csv(source, index=False)
    out = tmp_path / "prod.html"

    args = ["report", "--dataset", "fraud", "--production", str(source), "-o", str(out)]
    done = run_cli(*url, *args, cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert f"wrote {out}" in done.stdout
    # amount moved by +50 (far beyond its spread); hour and the categories did not.
    share = float(done.stdout.split("drift share ")[1].split()[0])
    assert math.isclose(share, 1 / 3, abs_tol=1e-3)
    text = out.read_text(encoding="utf-8")
    assert len(text) > 100_000
    assert "amount" in text and "merchant_category" in text
    assert "unprofiled_column_q" not in text


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--run", "99"], r"--run: got 99; no run has that id"),
        (
            ["--run", "{bare}"],
            r"--run: got \d+; it has no real profiles.*recorded before profiles existed, or "
            r"by observe_run without data",
        ),
        (
            ["--dataset", "churn", "--production", "{csv}"],
            r"dataset: got 'churn'; expected a dataset with a succeeded run to compare with "
            r"\(it has no runs yet",
        ),
        (
            ["--dataset", "fraud", "--production", "{short}"],
            r"production.merchant_category: got \"columns \['amount', 'hour'\]\"; expected a "
            r"column 'merchant_category'",
        ),
        (["--run", "{full}", "--dataset", "fraud"], r"--run/--dataset: got both; expected"),
        ([], r"--run/--dataset: got neither; expected exactly one"),
        (["--dataset", "fraud"], r"--production: got nothing; expected a CSV/Parquet file"),
    ],
)
def test_bad_requests_name_the_field_and_exit_2(
    sqlite_url: str, tmp_path: Path, args: list[str], message: str
) -> None:
    # The run without profiles first: the newest succeeded run is the reference.
    bare = persist_run(Store(sqlite_url), parse_run_record({**VALID, "run_key": "bare"})).run_id
    full = _store_run(sqlite_url, "full", {REAL: _training(0), AUGMENTED: _training(1)})
    csv = tmp_path / "window.csv"
    _training(3, 50).to_csv(csv, index=False)
    short = tmp_path / "short.csv"
    _training(3, 50).drop(columns="merchant_category").to_csv(short, index=False)
    names = {"full": full, "bare": bare, "csv": csv, "short": short}
    argv = [a.format(**names) for a in args]

    done = run_cli("--database-url", sqlite_url, "report", *argv, cwd=tmp_path)

    assert done.returncode == 2, (done.stdout, done.stderr)
    assert not list(tmp_path.glob("*.html"))
    assert re.search(message, " ".join(done.stderr.split())), done.stderr
